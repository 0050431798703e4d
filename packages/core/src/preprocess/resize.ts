import type { Interpolation, RawImage } from '@medssl/spec';

import { axisCoefficients } from './coefficients.js';
import { bitDepthOf, checkPositiveInteger, checkRawImage, describeValue, type FloatImage, type ImageSize } from './image.js';
import { resampleFloat, resampleUint8 } from './resample.js';

/**
 * Resizes an 8-bit image to `height` x `width` exactly as Pillow 9.4's `Image.resize` does (with
 * `reducing_gap=None`): the same weights, the same 8-bit fixed-point arithmetic, the same bytes.
 * Shrinking is antialiased. RGBA images are resampled with premultiplied alpha and converted back, as
 * Pillow does, so transparent pixels do not bleed their colour into their neighbours.
 *
 * 16-bit images throw: use `resizeFloat`, whose output keeps fractional values.
 */
export function resize(image: RawImage, height: number, width: number, interpolation: Interpolation): RawImage {
  checkRawImage(image);
  checkOutputSize(height, width);
  checkInterpolation(interpolation);
  if (bitDepthOf(image) !== 8) {
    throw new TypeError(
      'resize takes 8-bit images (Uint8Array data) and this one is 16-bit; use resizeFloat, which ' +
        'returns float32 values instead of rounding them back to 16 bits',
    );
  }
  const data = image.data as Uint8Array;
  if (height === image.height && width === image.width) {
    return { data: data.slice(), width, height, channels: image.channels };
  }
  const premultiplied = image.channels === 4;
  const resized = resampleUint8(
    {
      data: premultiplied ? premultiplyAlpha(data) : data,
      width: image.width,
      height: image.height,
      channels: image.channels,
    },
    width === image.width ? undefined : axisCoefficients(image.width, width, interpolation),
    height === image.height ? undefined : axisCoefficients(image.height, height, interpolation),
    { top: 0, left: 0, height, width },
  );
  if (premultiplied) unpremultiplyAlpha(resized);
  return { data: resized, width, height, channels: image.channels };
}

/**
 * Resizes an 8- or 16-bit image to `height` x `width` with the weights of `resize`, in floating point:
 * values are not rounded between or after the passes, nor clipped (bicubic overshoots slightly past
 * edges). Equals Pillow's 'F' (float32) mode applied to each channel, up to float rounding, so tests
 * compare it with a tolerance.
 *
 * A separate function rather than a `resize` overload: a 16-bit `RawImage` cannot hold the fractional
 * results, and rounding them to 16 bits would add a quantisation step that preprocessing, which divides
 * by 65535 anyway, does not need. Channels are independent here, alpha included (no premultiplication).
 */
export function resizeFloat(image: RawImage, height: number, width: number, interpolation: Interpolation): FloatImage {
  checkRawImage(image);
  checkOutputSize(height, width);
  checkInterpolation(interpolation);
  const data = resampleFloat(
    image,
    width === image.width ? undefined : axisCoefficients(image.width, width, interpolation),
    height === image.height ? undefined : axisCoefficients(image.height, height, interpolation),
    { top: 0, left: 0, height, width },
  );
  return { data, width, height, channels: image.channels };
}

/**
 * The size torchvision's `Resize(size)` (an int) gives: the shorter side becomes `shorterSide`, the
 * longer one keeps the aspect ratio, truncated to an integer (`int(size * long / short)`).
 */
export function shorterSideSize(image: ImageSize, shorterSide: number): ImageSize {
  checkPositiveInteger(shorterSide, 'shorter side size');
  const { height, width } = image;
  if (width <= height) {
    return { height: Math.trunc((shorterSide * height) / width), width: shorterSide };
  }
  return { height: shorterSide, width: Math.trunc((shorterSide * width) / height) };
}

/**
 * torchvision's `Resize(size)` on an 8-bit image: the shorter side becomes `shorterSide` (see
 * `shorterSideSize`); an image already that size comes back unchanged (as a copy).
 */
export function resizeShorterSide(image: RawImage, shorterSide: number, interpolation: Interpolation): RawImage {
  checkRawImage(image);
  const size = shorterSideSize(image, shorterSide);
  return resize(image, size.height, size.width, interpolation);
}

export function checkInterpolation(interpolation: unknown, what = 'interpolation'): asserts interpolation is Interpolation {
  if (interpolation !== 'bilinear' && interpolation !== 'bicubic') {
    throw new RangeError(`${what} must be "bilinear" or "bicubic", got ${describeValue(interpolation)}`);
  }
}

function checkOutputSize(height: number, width: number): void {
  checkPositiveInteger(height, 'resize height');
  checkPositiveInteger(width, 'resize width');
}

/** Pillow's RGBA to RGBa conversion: colour times alpha / 255, rounded, with integer arithmetic only. */
function premultiplyAlpha(data: Uint8Array): Uint8Array {
  const premultiplied = new Uint8Array(data.length);
  for (let index = 0; index < data.length; index += 4) {
    const alpha = data[index + 3]!;
    for (let channel = 0; channel < 3; channel++) {
      const product = data[index + channel]! * alpha + 128;
      premultiplied[index + channel] = ((product >> 8) + product) >> 8;
    }
    premultiplied[index + 3] = alpha;
  }
  return premultiplied;
}

/**
 * Pillow's RGBa to RGBA conversion: colour * 255 / alpha, truncated and saturated; pixels with alpha 0
 * or 255 keep their colour.
 */
function unpremultiplyAlpha(data: Uint8Array): void {
  for (let index = 0; index < data.length; index += 4) {
    const alpha = data[index + 3]!;
    if (alpha === 0 || alpha === 255) continue;
    for (let channel = 0; channel < 3; channel++) {
      data[index + channel] = Math.min(255, Math.trunc((255 * data[index + channel]!) / alpha));
    }
  }
}
