import type { Io as CommandIo } from '@medssl/experiment';

/** One `medssl` sub-command, listed in `commands.ts`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full help text shown by `medssl <name> --help`. */
  readonly usage: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Where a command writes; tests pass their own to capture output. The experiment runner's `Io`. */
export type { Io as CommandIo } from '@medssl/experiment';

/** A mistake in how the command was called: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
