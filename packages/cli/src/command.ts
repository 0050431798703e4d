/** One `medssl` sub-command. Later packages add commands by adding entries to `commands.ts`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full help text shown by `medssl <name> --help`. */
  readonly usage: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Where a command writes; tests pass their own to capture output. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** A mistake in how the command was called: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
