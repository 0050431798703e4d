import type { Preprocessing } from '@medssl/spec';

import { checkPositiveInteger, describeValue } from './image.js';
import { checkInterpolation } from './resize.js';

/**
 * Checks a `Preprocessing` object, typically read from JSON, before any pixel is touched: sizes are
 * positive integers or pairs of them, the interpolation is known, mean and std hold 3 finite numbers
 * and no std is zero, channels is 3. Each error names the field, e.g. `preprocessing.normalize.std[1]`.
 */
export function validatePreprocessing(preprocessing: Preprocessing): void {
  const field = 'preprocessing';
  if (typeof preprocessing !== 'object' || preprocessing === null) {
    throw new TypeError(`${field} must be an object, got ${describeValue(preprocessing)}`);
  }
  const { resize, centerCrop, normalize, channels } = preprocessing;
  if (resize !== undefined) {
    if (typeof resize !== 'object' || resize === null) {
      throw new TypeError(`${field}.resize must be an object with size and interpolation, got ${describeValue(resize)}`);
    }
    checkSize(resize.size, `${field}.resize.size`);
    checkInterpolation(resize.interpolation, `${field}.resize.interpolation`);
  }
  if (centerCrop !== undefined) checkSize(centerCrop, `${field}.centerCrop`);
  if (normalize !== undefined) {
    if (typeof normalize !== 'object' || normalize === null) {
      throw new TypeError(`${field}.normalize must be an object with mean and std, got ${describeValue(normalize)}`);
    }
    checkTriple(normalize.mean, `${field}.normalize.mean`);
    checkTriple(normalize.std, `${field}.normalize.std`);
    normalize.std.forEach((value, index) => {
      // Division happens in float32, where a tiny std is zero too.
      if (Math.fround(value) === 0) {
        throw new RangeError(`${field}.normalize.std[${index}] must not be zero, got ${value}`);
      }
    });
  }
  if ((channels as unknown) !== 3) {
    throw new RangeError(`${field}.channels must be 3, got ${describeValue(channels)}`);
  }
}

/** A size is a positive integer or a `[height, width]` pair of them. */
function checkSize(size: unknown, what: string): void {
  if (Array.isArray(size)) {
    if (size.length !== 2) {
      throw new RangeError(`${what} must be a number or a [height, width] pair, got ${size.length} values`);
    }
    checkPositiveInteger(size[0], `${what}[0] (height)`);
    checkPositiveInteger(size[1], `${what}[1] (width)`);
    return;
  }
  checkPositiveInteger(size, what);
}

function checkTriple(values: unknown, what: string): asserts values is readonly [number, number, number] {
  if (!Array.isArray(values) || values.length !== 3) {
    throw new RangeError(`${what} must hold 3 numbers (one per channel), got ${describeValue(values)}`);
  }
  values.forEach((value: unknown, index) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RangeError(`${what}[${index}] must be a finite number, got ${describeValue(value)}`);
    }
  });
}
