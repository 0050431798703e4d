import type { Registry } from '@medssl/experiment';
import type { Command } from './command.js';
import { backbonesCommand } from './commands/backbones.js';
import { datasetsCommand } from './commands/datasets.js';
import { demoCommand } from './commands/demo.js';
import { dvmeCommand } from './commands/dvme.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { featuresCommand } from './commands/features.js';
import { rankCommand } from './commands/rank.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { weightsCommand } from './commands/weights.js';
import { cliRegistry } from './registry.js';

/** The sub-commands over a registry of plugins, each a plain object (no registration by import side effect). */
export function createCommands(registry: Registry): Command[] {
  return [
    demoCommand(registry),
    datasetsCommand(registry),
    backbonesCommand(registry),
    embedCommand(registry),
    featuresCommand,
    rankCommand,
    evalCommand(registry),
    dvmeCommand,
    runCommand(registry),
    reportCommand(registry),
    weightsCommand(registry),
  ];
}

/** The sub-commands over the CLI's own plugins (`defaultProviders`). */
export const commands: readonly Command[] = createCommands(cliRegistry());
