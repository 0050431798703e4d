import type { Command } from './command.js';
import { datasetsCommand } from './commands/datasets.js';
import { demoCommand } from './commands/demo.js';
import { dvmeCommand } from './commands/dvme.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { featuresCommand } from './commands/features.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { weightsCommand } from './commands/weights.js';

/** The registered sub-commands, each a plain object (no registration by import side effect). */
export const commands: readonly Command[] = [
  demoCommand,
  datasetsCommand(),
  embedCommand,
  featuresCommand,
  evalCommand,
  dvmeCommand,
  runCommand,
  reportCommand,
  weightsCommand,
];
