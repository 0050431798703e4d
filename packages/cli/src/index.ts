export { main, helpText } from './main.js';
export { UsageError } from './command.js';
export type { Command, CommandIo } from './command.js';
export { commands } from './commands.js';
export { version } from './version.js';
export { embedSplit } from './commands/embed.js';
