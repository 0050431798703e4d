import type { Command } from './command.js';
import { datasetsCommand } from './commands/datasets.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { weightsCommand } from './commands/weights.js';

/**
 * The registered sub-commands, each a plain object (no registration by import side effect). More arrive
 * with the packages they drive: `dvme`, `features`, `run`, `report`.
 */
export const commands: readonly Command[] = [datasetsCommand(), embedCommand, evalCommand, weightsCommand];
