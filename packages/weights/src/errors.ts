/**
 * Raised when a checkpoint's bytes do not follow its format, are truncated, or use a part of the format
 * this package does not read. The message starts with the file name; the name is also kept as a property.
 */
export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
  /** The file name or caller-supplied label of the checkpoint. */
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }

  /**
   * The same failure as a container format's own error (a ZIP archive's `ArrayFormatError`, whose message
   * already starts with `file[member]`), so that every failure to read a checkpoint has this one type. The
   * message is kept as it is; the original error is the cause.
   */
  static wrapping(file: string, error: Error): CheckpointFormatError {
    const wrapped = new CheckpointFormatError(file, '', { cause: error });
    wrapped.message = error.message;
    return wrapped;
  }
}

/**
 * Raised when a pickle asks for a Python global outside the allow-list. Nothing from the checkpoint has run
 * when this is thrown: the unpickler never calls into Python code, it only refuses to go on.
 */
export class UnsafeCheckpointError extends Error {
  override readonly name = 'UnsafeCheckpointError';
  readonly file: string;
  /** The global as the pickle names it, `module.name` (e.g. `posix.system`). */
  readonly global: string;

  constructor(file: string, global: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
    this.global = global;
  }
}
