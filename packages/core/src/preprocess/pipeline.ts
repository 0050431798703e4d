import type { Preprocessing, RawImage, Tensor } from '@medssl/spec';

import { dropAlpha } from './channels.js';
import { axisCoefficients } from './coefficients.js';
import { centerCropOffsets } from './crop.js';
import { bitDepthOf, checkPositiveInteger, checkRawImage, formatSize, type ImageSize } from './image.js';
import { resampleFloat, resampleUint8, type PixelWindow } from './resample.js';
import { shorterSideSize } from './resize.js';
import { validatePreprocessing } from './validate.js';

/** The `[channels, height, width]` shape of one preprocessed image. */
export type PreprocessedShape = readonly [channels: 3, height: number, width: number];

const UINT16_MAX = 65535;

/**
 * The shape `preprocess` gives an image of this size, without touching pixels: to allocate batch
 * buffers, or to check that a dataset's images all end up the same size.
 */
export function preprocessedShape(image: ImageSize, preprocessing: Preprocessing): PreprocessedShape {
  validatePreprocessing(preprocessing);
  checkPositiveInteger(image.height, 'image height');
  checkPositiveInteger(image.width, 'image width');
  const { window } = planGeometry(image, preprocessing);
  return [3, window.height, window.width];
}

/**
 * `[channels, height, width]` of the network input a preprocessing produces whatever the image: its centre
 * crop, else an exact `[height, width]` resize. A shorter-side resize alone keeps each image's aspect and has
 * no fixed size, an error naming `owner` (the backbone).
 */
export function inputShapeFromPreprocessing(preprocessing: Preprocessing, owner: string): [number, number, number] {
  const size = preprocessing.centerCrop ?? (typeof preprocessing.resize?.size === 'object' ? preprocessing.resize.size : undefined);
  if (size === undefined) throw new Error(`${owner}: its preprocessing gives no fixed input size (it needs a centerCrop or a [height, width] resize)`);
  const [height, width] = typeof size === 'number' ? [size, size] : size;
  return [preprocessing.channels, height, width];
}

/**
 * Turns raw pixels into a backbone's `[3, H, W]` float32 input, with torchvision's arithmetic:
 * drop alpha, resize (Pillow's filters, byte-exact for 8-bit images), centre crop, scale to [0, 1]
 * (x / 255 or x / 65535 in float32, like `ToTensor`), then `(x - mean) / std` in float32 per channel
 * (like `Normalize`). Grey images are replicated to 3 channels before normalising, as
 * `convert('RGB')` would, so each channel gets its own mean and std.
 *
 * 16-bit images are resized in floating point (see `resizeFloat`) and clipped to [0, 65535] before
 * scaling, as 8-bit resizing saturates at [0, 255].
 */
export function preprocess(image: RawImage, preprocessing: Preprocessing): Tensor {
  const shape = preprocessedShape(image, preprocessing);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  writePreprocessed(image, preprocessing, data, 0);
  return { data, shape };
}

/**
 * `preprocess`, writing the `[3, H, W]` values into `target` from `offset` on instead of allocating:
 * to fill a batch buffer in place. Returns the shape written.
 */
export function preprocessInto(image: RawImage, preprocessing: Preprocessing, target: Float32Array, offset = 0): PreprocessedShape {
  validatePreprocessing(preprocessing);
  return writePreprocessed(image, preprocessing, target, offset);
}

/**
 * Preprocesses images into one `[n, 3, H, W]` tensor. Every image must end up the same size (use a
 * centre crop or an exact resize); the error names the first image that does not.
 */
export function preprocessBatch(images: readonly RawImage[], preprocessing: Preprocessing): Tensor {
  validatePreprocessing(preprocessing);
  if (images.length === 0) {
    throw new RangeError('preprocessBatch needs at least one image: the output size comes from the images');
  }
  const shapes = images.map((image, index) => {
    checkRawImage(image, `image ${index}`);
    return planGeometry(image, preprocessing).window;
  });
  const first = shapes[0]!;
  shapes.forEach((window, index) => {
    if (window.height !== first.height || window.width !== first.width) {
      throw new RangeError(
        `image ${index} preprocesses to ${formatSize(window)} but image 0 to ${formatSize(first)}; ` +
          'a batch needs one size: add a centerCrop or resize to an exact [height, width]',
      );
    }
  });
  const imageLength = 3 * first.height * first.width;
  const data = new Float32Array(images.length * imageLength);
  images.forEach((image, index) => {
    writePreprocessed(image, preprocessing, data, index * imageLength);
  });
  return { data, shape: [images.length, 3, first.height, first.width] };
}

/** Size after resizing, and the window of it that the centre crop keeps. */
function planGeometry(image: ImageSize, preprocessing: Preprocessing): { resized: ImageSize; window: PixelWindow } {
  let resized: ImageSize = { height: image.height, width: image.width };
  const resizeSize = preprocessing.resize?.size;
  if (typeof resizeSize === 'number') resized = shorterSideSize(image, resizeSize);
  else if (resizeSize !== undefined) resized = { height: resizeSize[0], width: resizeSize[1] };

  const cropSize = preprocessing.centerCrop;
  if (cropSize === undefined) return { resized, window: { top: 0, left: 0, ...resized } };
  const crop: ImageSize = typeof cropSize === 'number' ? { height: cropSize, width: cropSize } : { height: cropSize[0], width: cropSize[1] };
  const { top, left } = centerCropOffsets(resized, crop);
  return { resized, window: { top, left, height: crop.height, width: crop.width } };
}

/** The pipeline on a checked `preprocessing`; resizing computes only the pixels the crop keeps. */
function writePreprocessed(image: RawImage, preprocessing: Preprocessing, target: Float32Array, offset: number): PreprocessedShape {
  checkRawImage(image);
  const { resized, window } = planGeometry(image, preprocessing);
  const outputLength = 3 * window.height * window.width;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative integer, got ${String(offset)}`);
  }
  if (target.length - offset < outputLength) {
    throw new RangeError(
      `target has room for ${Math.max(target.length - offset, 0)} values from offset ${offset}; ` +
        `the preprocessed image needs 3 * ${window.height} * ${window.width} = ${outputLength}`,
    );
  }

  const source = dropAlpha(image);
  const interpolation = preprocessing.resize?.interpolation ?? 'bilinear';
  const horizontal = resized.width === source.width ? undefined : axisCoefficients(source.width, resized.width, interpolation);
  const vertical = resized.height === source.height ? undefined : axisCoefficients(source.height, resized.height, interpolation);
  const resampling = horizontal !== undefined || vertical !== undefined;

  // Without resampling the crop is read straight from the source; the resampler returns just the window.
  if (bitDepthOf(source) === 8) {
    const data = source.data as Uint8Array;
    const pixels = resampling
      ? wholeWindow(resampleUint8({ ...source, data }, horizontal, vertical, window), window, source.channels)
      : windowOfSource(data, source, window);
    writeBytePlanes(pixels, window, byteValueTables(preprocessing), target, offset);
  } else {
    const pixels = resampling
      ? wholeWindow(resampleFloat(source, horizontal, vertical, window), window, source.channels)
      : windowOfSource(source.data, source, window);
    writeScaledPlanes(pixels, window, UINT16_MAX, preprocessing, target, offset);
  }
  return [3, window.height, window.width];
}

/** A window of interleaved pixels inside a larger buffer. */
interface WindowPixels<Data> {
  readonly data: Data;
  /** Values from one row of the window to the next. */
  readonly rowStride: number;
  /** Index of the window's first value. */
  readonly start: number;
  readonly channels: number;
}

function wholeWindow<Data>(data: Data, window: PixelWindow, channels: number): WindowPixels<Data> {
  return { data, rowStride: window.width * channels, start: 0, channels };
}

function windowOfSource<Data>(data: Data, source: RawImage, window: PixelWindow): WindowPixels<Data> {
  const { channels } = source;
  const start = (window.top * source.width + window.left) * channels;
  return { data, rowStride: source.width * channels, start, channels };
}

/**
 * The float32 value of each byte in each output channel, for 8-bit images: x / 255 then
 * (x - mean) / std, each step rounded to float32 as torch does. A table makes the result exact and
 * the per-pixel work one lookup.
 */
function byteValueTables(preprocessing: Preprocessing): Float32Array {
  const tables = new Float32Array(3 * 256);
  for (let channel = 0; channel < 3; channel++) {
    for (let byte = 0; byte < 256; byte++) {
      tables[channel * 256 + byte] = scaleAndNormalize(byte, 255, channel, preprocessing);
    }
  }
  return tables;
}

/**
 * One value through `ToTensor` and `Normalize`. Float64 arithmetic rounded to float32 after each
 * operation equals float32 arithmetic for a single subtraction or division (double has more than twice
 * float's precision), so this matches torch bit for bit.
 */
function scaleAndNormalize(value: number, maximum: number, channel: number, preprocessing: Preprocessing): number {
  const scaled = Math.fround(value / maximum);
  const normalize = preprocessing.normalize;
  if (normalize === undefined) return scaled;
  const mean = Math.fround(normalize.mean[channel]!);
  const std = Math.fround(normalize.std[channel]!);
  return Math.fround(Math.fround(scaled - mean) / std);
}

function writeBytePlanes(pixels: WindowPixels<Uint8Array>, window: PixelWindow, tables: Float32Array, target: Float32Array, offset: number): void {
  const { data, rowStride, start, channels } = pixels;
  const planeLength = window.height * window.width;
  const red = tables.subarray(0, 256);
  const green = tables.subarray(256, 512);
  const blue = tables.subarray(512, 768);
  // One pass over the pixels, writing all three planes: each source byte is read once.
  let targetIndex = offset;
  for (let row = 0; row < window.height; row++) {
    let index = start + row * rowStride;
    if (channels === 1) {
      // Grey images read their single channel for all three planes.
      for (let column = 0; column < window.width; column++, index++, targetIndex++) {
        const value = data[index]!;
        target[targetIndex] = red[value]!;
        target[targetIndex + planeLength] = green[value]!;
        target[targetIndex + 2 * planeLength] = blue[value]!;
      }
    } else {
      for (let column = 0; column < window.width; column++, index += channels, targetIndex++) {
        target[targetIndex] = red[data[index]!]!;
        target[targetIndex + planeLength] = green[data[index + 1]!]!;
        target[targetIndex + 2 * planeLength] = blue[data[index + 2]!]!;
      }
    }
  }
}

function writeScaledPlanes(
  pixels: WindowPixels<Uint8Array | Uint16Array | Float32Array>,
  window: PixelWindow,
  maximum: number,
  preprocessing: Preprocessing,
  target: Float32Array,
  offset: number,
): void {
  const { data, rowStride, start, channels } = pixels;
  const planeLength = window.height * window.width;
  for (let channel = 0; channel < 3; channel++) {
    const sourceChannel = channels === 1 ? 0 : channel;
    let targetIndex = offset + channel * planeLength;
    for (let row = 0; row < window.height; row++) {
      let index = start + row * rowStride + sourceChannel;
      for (let column = 0; column < window.width; column++, index += channels) {
        const value = data[index]!;
        const clipped = value < 0 ? 0 : Math.min(value, maximum);
        target[targetIndex++] = scaleAndNormalize(clipped, maximum, channel, preprocessing);
      }
    }
  }
}
