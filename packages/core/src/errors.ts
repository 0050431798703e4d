import { describeValue } from './messages.js';

/**
 * Raised when a feature-set folder (`manifest.json`, `ids.json`, `features.npy`, `targets.npy`) does not hold
 * what the format says. The message is `file: key: expected …, found …`; the same facts are kept as
 * properties for programs that handle the error.
 */
export class FeatureSetError extends Error {
  override readonly name = 'FeatureSetError';
  /** The file that is wrong, e.g. `…/pcam/train/dino_vits16/manifest.json`. */
  readonly file: string;
  /** Where in it: a JSON path (`$.task.type`), an `.npy` header field (`shape`), a row, a line and column; empty for the whole file. */
  readonly key: string;

  constructor(file: string, key: string, message: string, options?: { cause?: unknown }) {
    super(key === '' ? `${file}: ${message}` : `${file}: ${key}: ${message}`, options);
    this.file = file;
    this.key = key;
  }

  /** `file: key: expected <expected>, found <what the value is>` (the value's echo cut short). */
  static expected(file: string, key: string, expected: string, found: unknown): FeatureSetError {
    return new FeatureSetError(file, key, `expected ${expected}, found ${describeValue(found)}`);
  }
}

/**
 * Raised when a dataset's files are not in the layout its plugin reads: a missing split folder, a CSV without
 * a column it needs, a row that cannot be read. The message is `file: where: expected …, found …`.
 */
export class DatasetLayoutError extends Error {
  override readonly name = 'DatasetLayoutError';
  /** The file or folder that is wrong (the dataset's root for a missing folder). */
  readonly file: string;
  /** Where in it: a column, `line 12`, a folder name; empty for the whole file or folder. */
  readonly key: string;

  constructor(file: string, key: string, message: string, options?: { cause?: unknown }) {
    super(key === '' ? `${file}: ${message}` : `${file}: ${key}: ${message}`, options);
    this.file = file;
    this.key = key;
  }

  /** The error with `message` as it is (it already names the file), for issues a dataset logged. */
  static withMessage(file: string, key: string, message: string, options?: { cause?: unknown }): DatasetLayoutError {
    const error = new DatasetLayoutError(file, key, '', options);
    error.message = message;
    return error;
  }

  /** `file: key: expected <expected>, found <what the value is>` (the value's echo cut short). */
  static expected(file: string, key: string, expected: string, found: unknown): DatasetLayoutError {
    return new DatasetLayoutError(file, key, `expected ${expected}, found ${describeValue(found)}`);
  }
}
