// @medssl/cli: the `medssl` command. It parses arguments and holds the registry, the list of providers
// (`defaultProviders`) that every id the command accepts comes from. The experiment runner, presets,
// results documents and the report are @medssl/experiment's.
export { main, helpText } from './main.js';
export { UsageError } from './command.js';
export type { Command, CommandIo } from './command.js';
export { commands, createCommands } from './commands.js';
export { cliRegistry, defaultProviders } from './registry.js';
export { version } from './version.js';
export { demoExperiment, runDemo } from './commands/demo.js';
export { backboneListings } from './commands/backbones.js';
export type { BackboneListing } from './commands/backbones.js';
