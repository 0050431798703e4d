/** The default pixel limit of decoding (width x height), as sharp's default `limitInputPixels`: 2^28, e.g. 16384 x 16384. */
export const DEFAULT_MAX_PIXELS = 2 ** 28;

/**
 * What is wrong with an image that cannot be decoded. `truncated` and `damaged` are faults of the file (a
 * corrupt sample); `too-large` is a file above the pixel limit (`maxPixels` raises it); `unsupported` is not
 * an image format the decoders read; `out-of-memory` is this process, not the file: the image fits the limit
 * but its pixels could not be allocated.
 */
export type ImageDecodeProblem = 'truncated' | 'damaged' | 'too-large' | 'unsupported' | 'out-of-memory';

const PROBLEM_WORDS: Readonly<Record<ImageDecodeProblem, string>> = {
  truncated: 'truncated',
  damaged: 'damaged',
  'too-large': 'too large',
  unsupported: 'unsupported',
  'out-of-memory': 'out of memory for',
};

/**
 * An image file that cannot be decoded: names the file, its format (from its first bytes) and what is wrong,
 * as `<file>: cannot decode image (truncated TIFF: <what libvips or the PNG decoder found>)`.
 */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(
    /** The file (or sample source) decoded. */
    readonly file: string,
    /** `png`, `jpeg`, `tiff`, ... as its signature says, or `unknown`. */
    readonly format: string,
    readonly problem: ImageDecodeProblem,
    /** What was found, without the file name. */
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: cannot decode image (${PROBLEM_WORDS[problem]} ${format === 'unknown' ? 'file' : format.toUpperCase()}: ${detail})`, options);
  }

  /** Whether the file itself is at fault (a damaged, truncated, oversized or unreadable file), so that a dataset may skip it. */
  get isFileFault(): boolean {
    return this.problem !== 'out-of-memory';
  }
}

/** Checks a `maxPixels` option: a positive safe integer (default `DEFAULT_MAX_PIXELS`). */
export function resolveMaxPixels(maxPixels: number | undefined, where: string): number {
  if (maxPixels === undefined) return DEFAULT_MAX_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1)
    throw new RangeError(`${where}: maxPixels must be a positive integer, got ${String(maxPixels).slice(0, 80)}`);
  return maxPixels;
}

/** The error for an image above the pixel limit, naming the option that raises it. */
export function tooManyPixels(file: string, format: string, width: number, height: number, maxPixels: number): ImageDecodeError {
  return new ImageDecodeError(
    file,
    format,
    'too-large',
    `${width}x${height} is ${width * height} pixels, above the limit of ${maxPixels}; raise the maxPixels option (decode option or dataset option maxPixels) to read larger images`,
  );
}

/** The format an image file's first bytes announce. */
export function sniffImageFormat(bytes: Uint8Array): string {
  const starts = (...signature: number[]) => bytes.length >= signature.length && signature.every((byte, index) => bytes[index] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a) || starts(0x49, 0x49, 0x2b, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2b)) return 'tiff';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'gif';
  if (starts(0x42, 0x4d)) return 'bmp';
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes.length >= 12 && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP') return 'webp';
  return 'unknown';
}
