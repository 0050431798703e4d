import { readFile } from 'node:fs/promises';
import type { RawImage } from '@medssl/spec';
import { ImageDecodeError, resolveMaxPixels, sniffImageFormat, tooManyPixels, type ImageDecodeProblem } from './image-errors.js';
import { decodePng, isPng } from './png.js';

type Sharp = typeof import('sharp')['default'];

let sharpModule: Promise<Sharp> | undefined;

/** sharp is loaded on first use, so the rest of `@medssl/core/node` works where it is not installed. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (module) => module.default,
    (error: Error) => {
      sharpModule = undefined;
      throw new Error(`decoding images needs the "sharp" package (npm install sharp): ${error.message}`);
    },
  );
  return sharpModule;
}

export interface DecodeImageOptions {
  /**
   * Largest width x height decoded; default 2^28 (`DEFAULT_MAX_PIXELS`, sharp's default limit). Checked on
   * the file's header before any pixel is decoded; raise it for very large slides.
   */
  readonly maxPixels?: number;
}

/**
 * Decodes PNG, JPEG, TIFF (and the other formats libvips reads) to interleaved pixels, keeping 16-bit
 * depth (common in X-rays). Grey+alpha becomes grey; palette images become RGB(A); CMYK becomes sRGB.
 * The common PNGs are decoded by `decodePng` on the calling thread (the same values, half the CPU time); the
 * rest go through sharp.
 *
 * A file that cannot be decoded is an `ImageDecodeError` naming it, its format and what is wrong: truncated,
 * damaged (a CRC, a compressed stream or a structure libvips reports as an error), above `maxPixels` (read
 * from the header first), not an image format read here, or out of memory. libvips' warnings are not errors:
 * a JPEG or an uncompressed TIFF has no checksum, so a byte changed inside its pixel data decodes, differently.
 */
export async function decodeImage(bytes: Uint8Array, name: string, options: DecodeImageOptions = {}): Promise<RawImage> {
  const maxPixels = resolveMaxPixels(options.maxPixels, name);
  if (isPng(bytes)) {
    const image = decodePng(bytes, { file: name, maxPixels });
    if (image !== undefined) return image;
  }
  return decodeWithSharp(bytes, name, { maxPixels });
}

/** `decodeImage` through libvips only, for every format it reads. */
export async function decodeWithSharp(bytes: Uint8Array, name: string, options: DecodeImageOptions = {}): Promise<RawImage> {
  const maxPixels = resolveMaxPixels(options.maxPixels, name);
  const sharp = await loadSharp();
  const format = sniffImageFormat(bytes);
  if (bytes.length === 0) throw new ImageDecodeError(name, format, 'unsupported', 'the file is empty');
  // 'error', not 'truncated': under 'truncated' libvips fills what a cut TIFF strip lacks with black. JPEG on
  // 'warning': libjpeg reports corrupt data (a damaged size, scan data that ends early) as warnings and goes on.
  const failOn = format === 'jpeg' ? 'warning' : 'error';
  let input: ReturnType<Sharp>;
  let metadata: Awaited<ReturnType<ReturnType<Sharp>['metadata']>>;
  try {
    // The header is read without sharp's limit, so that an image above it is named with its size; decoding has it.
    metadata = await sharp(bytes, { failOn, limitInputPixels: false }).metadata();
    input = sharp(bytes, { failOn, limitInputPixels: maxPixels });
  } catch (error) {
    throw sharpFailure(name, format, error);
  }
  const { width = 0, height = 0 } = metadata;
  if (width * height > maxPixels) throw tooManyPixels(name, metadata.format === undefined ? format : String(metadata.format), width, height, maxPixels);
  try {
    const sixteenBit = ['ushort', 'short', 'uint', 'int'].includes(metadata.depth ?? '');
    const grey = metadata.channels === 1 || metadata.channels === 2;
    let pipeline = input;
    if (metadata.channels === 2) pipeline = pipeline.removeAlpha();
    // libvips otherwise converts to its default 8-bit sRGB interpretation on raw output.
    if (sixteenBit) pipeline = pipeline.toColourspace(grey ? 'grey16' : 'rgb16');
    else if (grey) pipeline = pipeline.toColourspace('b-w');
    else if (metadata.space === 'cmyk') pipeline = pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: sixteenBit ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const channels = info.channels;
    if (channels !== 1 && channels !== 3 && channels !== 4) {
      throw new ImageDecodeError(name, format, 'unsupported', `decoded to ${channels} channels, expected 1, 3 or 4`);
    }
    const pixels = sixteenBit
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = info.width * info.height * channels;
    if (pixels.length !== expected) throw new ImageDecodeError(name, format, 'damaged', `decoded ${pixels.length} values, expected ${expected}`);
    return { data: pixels, width: info.width, height: info.height, channels };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw sharpFailure(name, format, error, `${width}x${height}`);
  }
}

/** libvips' error as an `ImageDecodeError`: what it says, first line only and bounded, sorted into a problem. */
function sharpFailure(name: string, format: string, error: unknown, size?: string): ImageDecodeError {
  const message = ((error as Error).message ?? String(error)).trim();
  const firstLine = message.split('\n').find((line) => line.trim() !== '' && !/failOn setting/.test(line)) ?? message;
  const said = firstLine.length > 120 ? `${firstLine.slice(0, 117)}...` : firstLine;
  let problem: ImageDecodeProblem = 'damaged';
  if (/memory|bad_alloc|allocat/i.test(message)) {
    return new ImageDecodeError(name, format, 'out-of-memory', `not enough memory to decode ${size ?? 'it'} (libvips: ${said})`, { cause: error });
  }
  if (/premature end|truncat|not enough data|short \d+ bytes|got \d+ bytes, expected|end of (file|stream|data)|unexpected end/i.test(message))
    problem = 'truncated';
  else if (format === 'unknown' && /unsupported image format/i.test(message)) problem = 'unsupported';
  const hint = format !== 'unknown' && /unsupported image format/i.test(message) ? ' (its header cannot be read: truncated or damaged)' : '';
  return new ImageDecodeError(name, format, problem, `${said}${hint}`, { cause: error });
}

/** Reads an image file's bytes (a sample's `encoded()`); errors name the path. */
export async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read image file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Reads and decodes an image file; errors name the path. */
export async function decodeImageFile(path: string, options: DecodeImageOptions = {}): Promise<RawImage> {
  return decodeImage(await readImageFile(path), path, options);
}
