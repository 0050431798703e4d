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
 *
 * Integer sums do not depend on the order of their terms, so the loops below may group, pad (zero
 * weights) and reorder them freely and still equal Pillow's pixel-by-pixel loop bit for bit.
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

  // The window's columns of the rows that the vertical pass reads, resampled or copied; rows start at
  // multiples of 4 bytes so that the vertical pass can read them a 32-bit word at a time.
  const [firstRow, endRow] = rowsRead(vertical, window);
  const rowStride = roundUpToFour(rowLength);
  const rows = new Uint8Array((endRow - firstRow) * rowStride);
  if (horizontal !== undefined) {
    resampleRowsUint8(source, horizontal, firstRow, endRow, window, rows, rowStride);
  } else {
    const sourceRowLength = source.width * channels;
    for (let row = firstRow; row < endRow; row++) {
      const start = row * sourceRowLength + window.left * channels;
      rows.set(source.data.subarray(start, start + rowLength), (row - firstRow) * rowStride);
    }
  }

  if (vertical === undefined) {
    for (let row = 0; row < window.height; row++) {
      output.set(rows.subarray(row * rowStride, row * rowStride + rowLength), row * rowLength);
    }
    return output;
  }

  const clamped = clampedView(output);
  const taps = roundUpToFour(maxTapCount(vertical, window.top, window.height));
  if (!LITTLE_ENDIAN || taps > endRow - firstRow) {
    for (let row = 0; row < window.height; row++) {
      sumTapByTap(rows, rowStride, firstRow, vertical, window.top + row, 0, rowLength, clamped, row * rowLength);
    }
    return output;
  }

  // Four values per 32-bit load from each input row, four taps at a time (padded with zero weights):
  // loads, not arithmetic, bound this loop, and this makes a quarter of them. Wider kernels add their
  // groups of four taps into running sums.
  const padded = padTaps(vertical, window.top, window.height, endRow, taps);
  const words = new Uint32Array(rows.buffer, rows.byteOffset, rows.length >> 2);
  const wordStride = rowStride >> 2;
  const wholeWordsEnd = rowLength & ~3;
  const sums = new Int32Array(taps > 4 ? rowLength : 0);
  for (let row = 0; row < window.height; row++) {
    const outputStart = row * rowLength;
    if (taps > 4) sums.fill(ROUNDING_HALF);
    for (let tap = 0; tap < taps; tap += 4) {
      const firstWord = (padded.starts[row]! - firstRow + tap) * wordStride;
      const slot = row * taps + tap;
      if (tap + 4 < taps) {
        fourTapsIntoSums(words, firstWord, wordStride, padded.weights, slot, sums, wholeWordsEnd);
      } else {
        const base = taps === 4 ? undefined : sums;
        fourTapsToBytes(words, firstWord, wordStride, padded.weights, slot, base, clamped, outputStart, wholeWordsEnd);
      }
    }
    // The last one to three values of a row whose length is not a multiple of 4.
    sumTapByTap(rows, rowStride, firstRow, vertical, window.top + row, wholeWordsEnd, rowLength, clamped, outputStart);
  }
  return output;
}

/**
 * Values [0, end) of one output row from four taps, four values per word: `sums` plus the taps, or one
 * half plus the taps where `sums` is `undefined`, shifted back and clipped into `target`.
 */
function fourTapsToBytes(
  words: Uint32Array,
  firstWord: number,
  wordStride: number,
  weights: Int32Array,
  slot: number,
  sums: Int32Array | undefined,
  target: Uint8ClampedArray,
  targetStart: number,
  end: number,
): void {
  const weight0 = weights[slot]!;
  const weight1 = weights[slot + 1]!;
  const weight2 = weights[slot + 2]!;
  const weight3 = weights[slot + 3]!;
  for (let index = 0, word = firstWord; index < end; index += 4, word++) {
    const a = words[word]!;
    const b = words[word + wordStride]!;
    const c = words[word + 2 * wordStride]!;
    const d = words[word + 3 * wordStride]!;
    const at = targetStart + index;
    if (sums === undefined) {
      target[at] = (ROUNDING_HALF + weightedBytes(a, b, c, d, 0, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 1] = (ROUNDING_HALF + weightedBytes(a, b, c, d, 8, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 2] = (ROUNDING_HALF + weightedBytes(a, b, c, d, 16, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 3] = (ROUNDING_HALF + weightedBytes(a, b, c, d, 24, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
    } else {
      target[at] = (sums[index]! + weightedBytes(a, b, c, d, 0, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 1] = (sums[index + 1]! + weightedBytes(a, b, c, d, 8, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 2] = (sums[index + 2]! + weightedBytes(a, b, c, d, 16, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
      target[at + 3] = (sums[index + 3]! + weightedBytes(a, b, c, d, 24, weight0, weight1, weight2, weight3)) >> PRECISION_BITS;
    }
  }
}

/** `fourTapsToBytes`, adding into `sums` instead: the groups of four taps before a wide kernel's last. */
function fourTapsIntoSums(words: Uint32Array, firstWord: number, wordStride: number, weights: Int32Array, slot: number, sums: Int32Array, end: number): void {
  const weight0 = weights[slot]!;
  const weight1 = weights[slot + 1]!;
  const weight2 = weights[slot + 2]!;
  const weight3 = weights[slot + 3]!;
  for (let index = 0, word = firstWord; index < end; index += 4, word++) {
    const a = words[word]!;
    const b = words[word + wordStride]!;
    const c = words[word + 2 * wordStride]!;
    const d = words[word + 3 * wordStride]!;
    sums[index] = sums[index]! + weightedBytes(a, b, c, d, 0, weight0, weight1, weight2, weight3);
    sums[index + 1] = sums[index + 1]! + weightedBytes(a, b, c, d, 8, weight0, weight1, weight2, weight3);
    sums[index + 2] = sums[index + 2]! + weightedBytes(a, b, c, d, 16, weight0, weight1, weight2, weight3);
    sums[index + 3] = sums[index + 3]! + weightedBytes(a, b, c, d, 24, weight0, weight1, weight2, weight3);
  }
}

/** The byte at `shift` of each of four words (one per input row), times that row's weight. */
function weightedBytes(a: number, b: number, c: number, d: number, shift: number, weight0: number, weight1: number, weight2: number, weight3: number): number {
  return ((a >>> shift) & 255) * weight0 + ((b >>> shift) & 255) * weight1 + ((c >>> shift) & 255) * weight2 + ((d >>> shift) & 255) * weight3;
}

/** Whether 32-bit words hold their first byte in their low bits, as the vertical pass assumes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Values [from, to) of one output row of the vertical pass, one tap at a time: tiny images, where
 * padding to four taps would read past the input, and the ends of rows the word loop leaves.
 */
function sumTapByTap(
  rows: Uint8Array,
  rowStride: number,
  firstRow: number,
  vertical: AxisCoefficients,
  outputRow: number,
  from: number,
  to: number,
  target: Uint8ClampedArray,
  targetStart: number,
): void {
  const count = vertical.tapCount[outputRow]!;
  const slot = outputRow * vertical.kernelSize;
  const start = (vertical.firstTap[outputRow]! - firstRow) * rowStride;
  for (let index = from; index < to; index++) {
    let sum = ROUNDING_HALF;
    for (let tap = 0, position = start + index; tap < count; tap++, position += rowStride) {
      sum += rows[position]! * vertical.fixedPointWeights[slot + tap]!;
    }
    target[targetStart + index] = sum >> PRECISION_BITS;
  }
}

/**
 * Horizontal pass over source rows [startRow, endRow), for the window's columns only. Grey and RGB with
 * up to 8 taps, the usual cases, go one output column at a time down all the rows, with that column's
 * weights held in registers and the taps unrolled (padded to 4 or 8): about twice as fast as loading
 * each weight per tap. Other images go row by row.
 */
function resampleRowsUint8(
  source: InterleavedPixels<Uint8Array>,
  horizontal: AxisCoefficients,
  startRow: number,
  endRow: number,
  window: PixelWindow,
  target: Uint8Array,
  targetRowLength: number,
): void {
  const { data, channels } = source;
  const sourceRowLength = source.width * channels;
  const maxCount = maxTapCount(horizontal, window.left, window.width);
  const taps = maxCount <= 4 ? 4 : 8;
  if ((channels === 1 || channels === 3) && maxCount <= 8 && taps <= source.width) {
    const padded = padTaps(horizontal, window.left, window.width, source.width, taps);
    const kernel = channels === 1 ? (taps === 4 ? greyColumns4 : greyColumns8) : taps === 4 ? rgbColumns4 : rgbColumns8;
    kernel(data, sourceRowLength, startRow * sourceRowLength, padded, clampedView(target), targetRowLength);
    return;
  }

  const { firstTap, tapCount, kernelSize, fixedPointWeights } = horizontal;
  const endColumn = window.left + window.width;
  let row = startRow;
  if (channels === 3) {
    // Wide RGB kernels: two rows at a time, each weight loaded once for both.
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
    // Wide grey kernels: two rows at a time as for RGB.
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

/**
 * A horizontal kernel: for each output column (each entry of `padded`), every row of `target`, reading
 * source rows from `firstRowStart` on.
 */
type ColumnKernel = (
  data: Uint8Array,
  sourceRowLength: number,
  firstRowStart: number,
  padded: PaddedTaps,
  target: Uint8ClampedArray,
  targetRowLength: number,
) => void;

const greyColumns4: ColumnKernel = (data, sourceRowLength, firstRowStart, padded, target, targetRowLength) => {
  const { starts, weights } = padded;
  for (let column = 0; column < starts.length; column++) {
    const slot = column * 4;
    const weight0 = weights[slot]!;
    const weight1 = weights[slot + 1]!;
    const weight2 = weights[slot + 2]!;
    const weight3 = weights[slot + 3]!;
    let index = firstRowStart + starts[column]!;
    for (let targetIndex = column; targetIndex < target.length; targetIndex += targetRowLength) {
      target[targetIndex] =
        (ROUNDING_HALF + data[index]! * weight0 + data[index + 1]! * weight1 + data[index + 2]! * weight2 + data[index + 3]! * weight3) >> PRECISION_BITS;
      index += sourceRowLength;
    }
  }
};

const greyColumns8: ColumnKernel = (data, sourceRowLength, firstRowStart, padded, target, targetRowLength) => {
  const { starts, weights } = padded;
  for (let column = 0; column < starts.length; column++) {
    const slot = column * 8;
    const weight0 = weights[slot]!;
    const weight1 = weights[slot + 1]!;
    const weight2 = weights[slot + 2]!;
    const weight3 = weights[slot + 3]!;
    const weight4 = weights[slot + 4]!;
    const weight5 = weights[slot + 5]!;
    const weight6 = weights[slot + 6]!;
    const weight7 = weights[slot + 7]!;
    let index = firstRowStart + starts[column]!;
    for (let targetIndex = column; targetIndex < target.length; targetIndex += targetRowLength) {
      target[targetIndex] =
        (ROUNDING_HALF +
          data[index]! * weight0 +
          data[index + 1]! * weight1 +
          data[index + 2]! * weight2 +
          data[index + 3]! * weight3 +
          data[index + 4]! * weight4 +
          data[index + 5]! * weight5 +
          data[index + 6]! * weight6 +
          data[index + 7]! * weight7) >>
        PRECISION_BITS;
      index += sourceRowLength;
    }
  }
};

const rgbColumns4: ColumnKernel = (data, sourceRowLength, firstRowStart, padded, target, targetRowLength) => {
  const { starts, weights } = padded;
  // Three unaligned 32-bit loads instead of twelve byte loads per row; DataView reads little-endian.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let column = 0; column < starts.length; column++) {
    const slot = column * 4;
    const weight0 = weights[slot]!;
    const weight1 = weights[slot + 1]!;
    const weight2 = weights[slot + 2]!;
    const weight3 = weights[slot + 3]!;
    let index = firstRowStart + starts[column]! * 3;
    for (let targetIndex = column * 3; targetIndex < target.length; targetIndex += targetRowLength) {
      // Bytes R0 G0 B0 R1 | G1 B1 R2 G2 | B2 R3 G3 B3, lowest first.
      const a = view.getUint32(index, true);
      const b = view.getUint32(index + 4, true);
      const c = view.getUint32(index + 8, true);
      target[targetIndex] =
        (ROUNDING_HALF + (a & 255) * weight0 + (a >>> 24) * weight1 + ((b >>> 16) & 255) * weight2 + ((c >>> 8) & 255) * weight3) >> PRECISION_BITS;
      target[targetIndex + 1] =
        (ROUNDING_HALF + ((a >>> 8) & 255) * weight0 + (b & 255) * weight1 + (b >>> 24) * weight2 + ((c >>> 16) & 255) * weight3) >> PRECISION_BITS;
      target[targetIndex + 2] =
        (ROUNDING_HALF + ((a >>> 16) & 255) * weight0 + ((b >>> 8) & 255) * weight1 + (c & 255) * weight2 + (c >>> 24) * weight3) >> PRECISION_BITS;
      index += sourceRowLength;
    }
  }
};

const rgbColumns8: ColumnKernel = (data, sourceRowLength, firstRowStart, padded, target, targetRowLength) => {
  const { starts, weights } = padded;
  for (let column = 0; column < starts.length; column++) {
    const slot = column * 8;
    const weight0 = weights[slot]!;
    const weight1 = weights[slot + 1]!;
    const weight2 = weights[slot + 2]!;
    const weight3 = weights[slot + 3]!;
    const weight4 = weights[slot + 4]!;
    const weight5 = weights[slot + 5]!;
    const weight6 = weights[slot + 6]!;
    const weight7 = weights[slot + 7]!;
    let index = firstRowStart + starts[column]! * 3;
    for (let targetIndex = column * 3; targetIndex < target.length; targetIndex += targetRowLength) {
      target[targetIndex] =
        (ROUNDING_HALF +
          data[index]! * weight0 +
          data[index + 3]! * weight1 +
          data[index + 6]! * weight2 +
          data[index + 9]! * weight3 +
          data[index + 12]! * weight4 +
          data[index + 15]! * weight5 +
          data[index + 18]! * weight6 +
          data[index + 21]! * weight7) >>
        PRECISION_BITS;
      target[targetIndex + 1] =
        (ROUNDING_HALF +
          data[index + 1]! * weight0 +
          data[index + 4]! * weight1 +
          data[index + 7]! * weight2 +
          data[index + 10]! * weight3 +
          data[index + 13]! * weight4 +
          data[index + 16]! * weight5 +
          data[index + 19]! * weight6 +
          data[index + 22]! * weight7) >>
        PRECISION_BITS;
      target[targetIndex + 2] =
        (ROUNDING_HALF +
          data[index + 2]! * weight0 +
          data[index + 5]! * weight1 +
          data[index + 8]! * weight2 +
          data[index + 11]! * weight3 +
          data[index + 14]! * weight4 +
          data[index + 17]! * weight5 +
          data[index + 20]! * weight6 +
          data[index + 23]! * weight7) >>
        PRECISION_BITS;
      index += sourceRowLength;
    }
  }
};

/** Taps of consecutive outputs, all of the same count: `taps` weights per output from its `starts` sample. */
interface PaddedTaps {
  readonly starts: Int32Array;
  readonly weights: Int32Array;
}

/**
 * The taps of outputs [first, first + count), padded with zero weights to `taps` each; where the padding
 * would run past `inputEnd`, the start moves back instead and the zeros go in front. The caller makes sure
 * `taps` input samples fit before `inputEnd`.
 */
function padTaps(axis: AxisCoefficients, first: number, count: number, inputEnd: number, taps: number): PaddedTaps {
  const { firstTap, tapCount, kernelSize, fixedPointWeights } = axis;
  const starts = new Int32Array(count);
  const weights = new Int32Array(count * taps);
  for (let index = 0; index < count; index++) {
    const output = first + index;
    const start = Math.min(firstTap[output]!, inputEnd - taps);
    const slot = index * taps + firstTap[output]! - start;
    starts[index] = start;
    for (let tap = 0; tap < tapCount[output]!; tap++) {
      weights[slot + tap] = fixedPointWeights[output * kernelSize + tap]!;
    }
  }
  return { starts, weights };
}

function maxTapCount(axis: AxisCoefficients, first: number, count: number): number {
  let max = 0;
  for (let output = first; output < first + count; output++) max = Math.max(max, axis.tapCount[output]!);
  return max;
}

function roundUpToFour(value: number): number {
  return (value + 3) & ~3;
}

/** Stores into a `Uint8ClampedArray` saturate to 0..255, which is `clipToByte`'s clipping for free. */
function clampedView(bytes: Uint8Array): Uint8ClampedArray {
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The fixed-point sum shifted back to 8 bits and saturated, as Pillow's `clip8`. */
function clipToByte(sum: number): number {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : Math.min(value, 255);
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
