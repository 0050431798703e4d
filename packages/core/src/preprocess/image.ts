import { cutText, quoteForMessage } from '../messages.js';
import type { RawImage } from '@medssl/spec';

/** A height and a width in pixels. */
export interface ImageSize {
  readonly height: number;
  readonly width: number;
}

/**
 * Interleaved (HWC) pixels with fractional values, as the 16-bit resize path returns them: the same
 * layout as `RawImage`, on the scale of the input (0 to 65535 for 16-bit images), not clipped.
 */
export interface FloatImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/** 8 for `Uint8Array` data, 16 for `Uint16Array` data. */
export type BitDepth = 8 | 16;

/**
 * Checks that `image` is a well-formed `RawImage`: positive integer sizes, 1, 3 or 4 channels, 8- or
 * 16-bit data holding exactly width * height * channels values. `name` says which image in errors.
 */
export function checkRawImage(image: RawImage, name = 'image'): void {
  checkPositiveInteger(image.width, `${name} width`);
  checkPositiveInteger(image.height, `${name} height`);
  const channels: number = image.channels;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`${name} has ${String(channels)} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)`);
  }
  bitDepthOf(image, name);
  const expectedLength = image.width * image.height * channels;
  if (image.data.length !== expectedLength) {
    throw new RangeError(
      `${name} data has ${image.data.length} values; expected width * height * channels = ` +
        `${image.width} * ${image.height} * ${channels} = ${expectedLength}`,
    );
  }
}

/**
 * The bit depth of an image's data. Reads the typed array's own tag rather than using `instanceof`, so
 * arrays made in another realm (a worker, an iframe) and Node's `Buffer` are recognised too.
 */
export function bitDepthOf(image: RawImage, name = 'image'): BitDepth {
  const kind = typedArrayKind(image.data);
  if (kind === 'Uint8Array') return 8;
  if (kind === 'Uint16Array') return 16;
  throw new TypeError(`${name} data is ${kind === undefined ? 'not a typed array' : `a ${kind}`}; expected a Uint8Array (8-bit) or a Uint16Array (16-bit)`);
}

function typedArrayKind(data: unknown): string | undefined {
  if (!ArrayBuffer.isView(data) || data instanceof DataView) return undefined;
  // %TypedArray%.prototype[Symbol.toStringTag] is the element kind, also for subclasses such as Buffer.
  return (data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
}

/** Throws unless `value` is a positive integer; `what` names the value in the error. */
export function checkPositiveInteger(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${describeValue(value)}`);
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return quoteForMessage(value);
  if (Array.isArray(value)) return cutText(`[${value.map(describeValue).join(', ')}]`);
  return cutText(String(value));
}

export function formatSize(size: ImageSize): string {
  return `${size.height}x${size.width} (height x width)`;
}
