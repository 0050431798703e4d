/**
 * Raised when the bytes of an NPY file or NPZ (ZIP) archive do not follow the format, or use a part
 * of it that is not supported. The message names the file, the field, and the expected and actual
 * values; the same facts are kept as properties for programs that handle the error.
 */
export class ArrayFormatError extends Error {
  override readonly name = 'ArrayFormatError';
  /** The file, archive member or caller-supplied name of the bytes being read. */
  readonly file: string;
  /** The header field or record that is wrong, e.g. `descr` or `end of central directory`. */
  readonly field: string;

  constructor(file: string, field: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${field}: ${message}`, options);
    this.file = file;
    this.field = field;
  }
}
