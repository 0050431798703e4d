import { PRECISION_BITS, type AxisCoefficients } from './coefficients.js';

/** Output rows [top, top + height) and columns [left, left + width) of a resized image. */
export interface PixelWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Interleaved pixels with `channels` values each, rows of `width` pixels. */
export interface InterleavedPixels<Data> {
  readonly data: Data;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Pillow starts its fixed-point sums at one half, so the final shift rounds to nearest. */
const ROUNDING_HALF = 1 << (PRECISION_BITS - 1);

/**
 * Resamples 8-bit pixels with Pillow's fixed-point arithmetic, horizontal pass first into an 8-bit
 * intermediate, then the vertical pass; an axis whose coefficients are `undefined` keeps its size and is
 * not resampled. Only `window` of the resized image is computed (a centre crop needs no more), and the
 * values there are those of resizing everything, since every output pixel depends only on its own taps.
 */
export function resampleUint8(
  source: InterleavedPixels<Uint8Array>,
  horizontal: AxisCoefficients | undefined,
  vertical: AxisCoefficients | undefined,
  window: PixelWindow,
): Uint8Array {
  const channels = source.channels;
  const rowLength = window.width * channels;
  const output = new Uint8Array(window.height * rowLength);

  let rows: Uint8Array = source.data;
  let rowStride = source.width * channels;
  let columnOffset = window.left * channels;
  let firstRow = 0;
  if (horizontal !== undefined) {
    const [start, end] = rowsRead(vertical, window);
    rows = new Uint8Array((end - start) * rowLength);
    resampleRowsUint8(source, horizontal, start, end, window, rows);
    rowStride = rowLength;
    columnOffset = 0;
    firstRow = start;
  }

  if (vertical === undefined) {
    for (let row = 0; row < window.height; row++) {
      const start = (window.top + row - firstRow) * rowStride + columnOffset;
      output.set(rows.subarray(start, start + rowLength), row * rowLength);
    }
    return output;
  }

  // Each output value sums its taps in registers: no running sums in memory, one store per value. Integer
  // sums do not depend on the order of their terms, so this equals Pillow's pixel-by-pixel loop. The common
  // tap counts (2 to 4: upscaling, mild downscaling) are unrolled.
  const { firstTap, tapCount, kernelSize, fixedPointWeights } = vertical;
  for (let row = 0; row < window.height; row++) {
    const outputRow = window.top + row;
    const count = tapCount[outputRow]!;
    const slot = outputRow * kernelSize;
    const start = (firstTap[outputRow]! - firstRow) * rowStride + columnOffset;
    const outputStart = row * rowLength;
    if (count === 2) {
      const weight0 = fixedPointWeights[slot]!;
      const weight1 = fixedPointWeights[slot + 1]!;
      const start1 = start + rowStride;
      for (let index = 0; index < rowLength; index++) {
        output[outputStart + index] = clipToByte(ROUNDING_HALF + rows[start + index]! * weight0 + rows[start1 + index]! * weight1);
      }
    } else if (count === 3) {
      const weight0 = fixedPointWeights[slot]!;
      const weight1 = fixedPointWeights[slot + 1]!;
      const weight2 = fixedPointWeights[slot + 2]!;
      const start1 = start + rowStride;
      const start2 = start1 + rowStride;
      for (let index = 0; index < rowLength; index++) {
        output[outputStart + index] = clipToByte(
          ROUNDING_HALF + rows[start + index]! * weight0 + rows[start1 + index]! * weight1 + rows[start2 + index]! * weight2,
        );
      }
    } else if (count === 4) {
      const weight0 = fixedPointWeights[slot]!;
      const weight1 = fixedPointWeights[slot + 1]!;
      const weight2 = fixedPointWeights[slot + 2]!;
      const weight3 = fixedPointWeights[slot + 3]!;
      const start1 = start + rowStride;
      const start2 = start1 + rowStride;
      const start3 = start2 + rowStride;
      for (let index = 0; index < rowLength; index++) {
        output[outputStart + index] = clipToByte(
          ROUNDING_HALF +
            rows[start + index]! * weight0 +
            rows[start1 + index]! * weight1 +
            rows[start2 + index]! * weight2 +
            rows[start3 + index]! * weight3,
        );
      }
    } else {
      for (let index = 0; index < rowLength; index++) {
        let sum = ROUNDING_HALF;
        for (let tap = 0, position = start + index; tap < count; tap++, position += rowStride) {
          sum += rows[position]! * fixedPointWeights[slot + tap]!;
        }
        output[outputStart + index] = clipToByte(sum);
      }
    }
  }
  return output;
}

/**
 * Horizontal pass over source rows [startRow, endRow), for the window's columns only. RGB, the common
 * case, runs two rows at a time: each weight is loaded once for both, which saves about a tenth.
 */
function resampleRowsUint8(
  source: InterleavedPixels<Uint8Array>,
  horizontal: AxisCoefficients,
  startRow: number,
  endRow: number,
  window: PixelWindow,
  target: Uint8Array,
): void {
  const { data, channels } = source;
  const { firstTap, tapCount, kernelSize, fixedPointWeights } = horizontal;
  const sourceRowLength = source.width * channels;
  const targetRowLength = window.width * channels;
  const endColumn = window.left + window.width;
  let row = startRow;
  if (channels === 3) {
    for (; row + 1 < endRow; row += 2) {
      const rowStart = row * sourceRowLength;
      let targetIndex = (row - startRow) * targetRowLength;
      for (let column = window.left; column < endColumn; column++) {
        const count = tapCount[column]!;
        const slot = column * kernelSize;
        let red = ROUNDING_HALF;
        let green = ROUNDING_HALF;
        let blue = ROUNDING_HALF;
        let nextRed = ROUNDING_HALF;
        let nextGreen = ROUNDING_HALF;
        let nextBlue = ROUNDING_HALF;
        for (let tap = 0, index = rowStart + firstTap[column]! * 3; tap < count; tap++, index += 3) {
          const weight = fixedPointWeights[slot + tap]!;
          const below = index + sourceRowLength;
          red += data[index]! * weight;
          green += data[index + 1]! * weight;
          blue += data[index + 2]! * weight;
          nextRed += data[below]! * weight;
          nextGreen += data[below + 1]! * weight;
          nextBlue += data[below + 2]! * weight;
        }
        target[targetIndex] = clipToByte(red);
        target[targetIndex + 1] = clipToByte(green);
        target[targetIndex + 2] = clipToByte(blue);
        target[targetIndex + targetRowLength] = clipToByte(nextRed);
        target[targetIndex + targetRowLength + 1] = clipToByte(nextGreen);
        target[targetIndex + targetRowLength + 2] = clipToByte(nextBlue);
        targetIndex += 3;
      }
    }
  }
  if (channels === 1) {
    // Grey, the usual X-ray: two rows at a time as for RGB, each weight loaded once for both.
    for (; row + 1 < endRow; row += 2) {
      const rowStart = row * sourceRowLength;
      let targetIndex = (row - startRow) * targetRowLength;
      for (let column = window.left; column < endColumn; column++) {
        const count = tapCount[column]!;
        const slot = column * kernelSize;
        let sum = ROUNDING_HALF;
        let nextSum = ROUNDING_HALF;
        for (let tap = 0, index = rowStart + firstTap[column]!; tap < count; tap++, index++) {
          const weight = fixedPointWeights[slot + tap]!;
          sum += data[index]! * weight;
          nextSum += data[index + sourceRowLength]! * weight;
        }
        target[targetIndex] = clipToByte(sum);
        target[targetIndex + targetRowLength] = clipToByte(nextSum);
        targetIndex++;
      }
    }
  }
  // Any channel count, one row at a time: the last odd row, RGBA images.
  for (; row < endRow; row++) {
    const rowStart = row * sourceRowLength;
    let targetIndex = (row - startRow) * targetRowLength;
    for (let column = window.left; column < endColumn; column++) {
      const count = tapCount[column]!;
      const slot = column * kernelSize;
      const pixelStart = rowStart + firstTap[column]! * channels;
      for (let channel = 0; channel < channels; channel++) {
        let sum = ROUNDING_HALF;
        for (let tap = 0, index = pixelStart + channel; tap < count; tap++, index += channels) {
          sum += data[index]! * fixedPointWeights[slot + tap]!;
        }
        target[targetIndex++] = clipToByte(sum);
      }
    }
  }
}

/** The fixed-point sum shifted back to 8 bits and saturated, as Pillow's `clip8`. */
function clipToByte(sum: number): number {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/**
 * Resamples in floating point, like Pillow's 'F' mode: double-precision sums of float32 pixels times
 * double weights, a float32 intermediate between the passes, no rounding to integers and no clipping.
 */
export function resampleFloat(
  source: InterleavedPixels<Uint8Array | Uint16Array | Float32Array>,
  horizontal: AxisCoefficients | undefined,
  vertical: AxisCoefficients | undefined,
  window: PixelWindow,
): Float32Array {
  const channels = source.channels;
  const rowLength = window.width * channels;
  const output = new Float32Array(window.height * rowLength);

  let rows: Uint8Array | Uint16Array | Float32Array = source.data;
  let rowStride = source.width * channels;
  let columnOffset = window.left * channels;
  let firstRow = 0;
  if (horizontal !== undefined) {
    const [start, end] = rowsRead(vertical, window);
    const resampledRows = new Float32Array((end - start) * rowLength);
    resampleRowsFloat(source, horizontal, start, end, window, resampledRows);
    rows = resampledRows;
    rowStride = rowLength;
    columnOffset = 0;
    firstRow = start;
  }

  if (vertical === undefined) {
    for (let row = 0; row < window.height; row++) {
      const start = (window.top + row - firstRow) * rowStride + columnOffset;
      for (let index = 0; index < rowLength; index++) output[row * rowLength + index] = rows[start + index]!;
    }
    return output;
  }

  // Row at a time as in the 8-bit path; each pixel still adds its terms in Pillow's order, from 0.
  const sums = new Float64Array(rowLength);
  const { firstTap, tapCount, kernelSize, weights } = vertical;
  for (let row = 0; row < window.height; row++) {
    const outputRow = window.top + row;
    const first = firstTap[outputRow]! - firstRow;
    const count = tapCount[outputRow]!;
    const slot = outputRow * kernelSize;
    sums.fill(0);
    for (let tap = 0; tap < count; tap++) {
      const weight = weights[slot + tap]!;
      const start = (first + tap) * rowStride + columnOffset;
      for (let index = 0; index < rowLength; index++) {
        sums[index] = sums[index]! + rows[start + index]! * weight;
      }
    }
    output.set(sums, row * rowLength);
  }
  return output;
}

function resampleRowsFloat(
  source: InterleavedPixels<Uint8Array | Uint16Array | Float32Array>,
  horizontal: AxisCoefficients,
  startRow: number,
  endRow: number,
  window: PixelWindow,
  target: Float32Array,
): void {
  const { data, channels } = source;
  const { firstTap, tapCount, kernelSize, weights } = horizontal;
  const sourceRowLength = source.width * channels;
  const endColumn = window.left + window.width;
  let targetIndex = 0;
  for (let row = startRow; row < endRow; row++) {
    const rowStart = row * sourceRowLength;
    for (let column = window.left; column < endColumn; column++) {
      const count = tapCount[column]!;
      const slot = column * kernelSize;
      const pixelStart = rowStart + firstTap[column]! * channels;
      for (let channel = 0; channel < channels; channel++) {
        let sum = 0;
        for (let tap = 0, index = pixelStart + channel; tap < count; tap++, index += channels) {
          sum += data[index]! * weights[slot + tap]!;
        }
        target[targetIndex++] = sum;
      }
    }
  }
}

/** Source rows [start, end) that the vertical pass reads for the window's rows. */
function rowsRead(vertical: AxisCoefficients | undefined, window: PixelWindow): [number, number] {
  if (vertical === undefined) return [window.top, window.top + window.height];
  const lastRow = window.top + window.height - 1;
  // Windows move forward with the output index, so the first and last rows bound all the others.
  return [vertical.firstTap[window.top]!, vertical.firstTap[lastRow]! + vertical.tapCount[lastRow]!];
}
