import type { Command } from './command.js';

/**
 * The registered sub-commands. Empty until the issues that add `datasets`, `embed`, `eval`, `dvme`,
 * `features`, `run` and `report` land; each is a plain object, not a side-effect registration.
 */
export const commands: readonly Command[] = [];
