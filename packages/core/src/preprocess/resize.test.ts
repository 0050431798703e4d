import type { Interpolation, RawImage } from '@medssl/spec';
import { describe, expect, it } from 'vitest';

import { axisCoefficients, computeAxisCoefficients, PRECISION_BITS } from './coefficients.js';
import { centerCrop, resize, resizeFloat, resizeShorterSide, shorterSideSize } from './index.js';
import { resampleUint8 } from './resample.js';

const interpolations: Interpolation[] = ['bilinear', 'bicubic'];

/** Deterministic pseudo-random bytes (a linear congruential generator), enough for property checks. */
function noiseImage(width: number, height: number, channels: 1 | 3 | 4, seed: number): RawImage {
  let state = seed >>> 0;
  const data = Uint8Array.from({ length: width * height * channels }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { data, width, height, channels };
}

describe('shorterSideSize', () => {
  it('scales the shorter side to the size and truncates the longer one, like torchvision', () => {
    expect(shorterSideSize({ height: 217, width: 300 }, 256)).toEqual({ height: 256, width: 353 });
    expect(shorterSideSize({ height: 300, width: 217 }, 256)).toEqual({ height: 353, width: 256 });
    // 256 * 500 / 333 = 384.38...
    expect(shorterSideSize({ height: 333, width: 500 }, 256)).toEqual({ height: 256, width: 384 });
    expect(shorterSideSize({ height: 64, width: 64 }, 32)).toEqual({ height: 32, width: 32 });
  });
});

describe('resizeShorterSide', () => {
  it('is a no-op, as a copy, when the shorter side already has the size', () => {
    const image = noiseImage(30, 24, 3, 1);
    const resized = resizeShorterSide(image, 24, 'bicubic');
    expect(resized.data).toEqual(image.data);
    expect(resized.data).not.toBe(image.data);
  });
});

describe('resize', () => {
  it('keeps a constant image constant, shrinking and enlarging, with either filter', () => {
    const constant: RawImage = { data: new Uint8Array(17 * 13 * 3).fill(137), width: 17, height: 13, channels: 3 };
    for (const interpolation of interpolations) {
      for (const [height, width] of [
        [5, 7],
        [40, 31],
        [13, 50],
      ] as const) {
        expect(resize(constant, height, width, interpolation).data.every((value) => value === 137)).toBe(true);
        const floats = resizeFloat(constant, height, width, interpolation).data;
        expect(floats.every((value) => Math.abs(value - 137) < 1e-4)).toBe(true);
      }
    }
  });

  it('refuses 16-bit images and points to resizeFloat', () => {
    const image: RawImage = { data: new Uint16Array(4), width: 2, height: 2, channels: 1 };
    expect(() => resize(image, 3, 3, 'bilinear')).toThrow('use resizeFloat');
  });

  it('refuses output sizes that are not positive integers', () => {
    const image = noiseImage(4, 4, 1, 2);
    expect(() => resize(image, 0, 3, 'bilinear')).toThrow('resize height must be a positive integer, got 0');
    expect(() => resize(image, 3, 2.5, 'bilinear')).toThrow('resize width must be a positive integer, got 2.5');
    expect(() => resize(image, 3, 3, 'nearest' as Interpolation)).toThrow('interpolation must be "bilinear" or "bicubic", got "nearest"');
  });
});

describe('resampling only a window', () => {
  it('gives the same bytes as resizing everything and cropping', () => {
    let seed = 10;
    for (const interpolation of interpolations) {
      for (const [width, height, outputWidth, outputHeight] of [
        [37, 29, 20, 17],
        [23, 31, 60, 45],
        [40, 40, 40, 19],
        [19, 33, 51, 33],
      ] as const) {
        const image = noiseImage(width, height, 3, seed++);
        const full = resize(image, outputHeight, outputWidth, interpolation);
        const cropHeight = Math.max(1, outputHeight - 5);
        const cropWidth = Math.max(1, outputWidth - 8);
        const expected = centerCrop(full, cropHeight, cropWidth);
        const top = Math.round((outputHeight - cropHeight) / 2 - 0.25);
        const left = (outputWidth - cropWidth) / 2;
        const windowed = resampleUint8(
          { ...image, data: image.data as Uint8Array },
          width === outputWidth ? undefined : axisCoefficients(width, outputWidth, interpolation),
          height === outputHeight ? undefined : axisCoefficients(height, outputHeight, interpolation),
          { top, left, height: cropHeight, width: cropWidth },
        );
        expect(windowed).toEqual(expected.data);
      }
    }
  });
});

describe('computeAxisCoefficients', () => {
  it('normalises each output to a total weight of 1, in double and in fixed point', () => {
    for (const interpolation of interpolations) {
      for (const [inputSize, outputSize] of [
        [300, 256],
        [217, 256],
        [1024, 256],
        [5, 3],
      ] as const) {
        const coefficients = computeAxisCoefficients(inputSize, outputSize, interpolation);
        const { weights, fixedPointWeights, kernelSize, tapCount } = coefficients;
        for (let output = 0; output < outputSize; output++) {
          let total = 0;
          let fixedPointTotal = 0;
          for (let tap = 0; tap < tapCount[output]!; tap++) {
            total += weights[output * kernelSize + tap]!;
            fixedPointTotal += fixedPointWeights[output * kernelSize + tap]!;
          }
          expect(total).toBeCloseTo(1, 12);
          expect(Math.abs(fixedPointTotal - 2 ** PRECISION_BITS)).toBeLessThanOrEqual(tapCount[output]!);
        }
      }
    }
  });

  it('widens the filter when shrinking (antialiasing)', () => {
    expect(computeAxisCoefficients(1024, 256, 'bilinear').kernelSize).toBe(9);
    expect(computeAxisCoefficients(1024, 256, 'bicubic').kernelSize).toBe(17);
    expect(computeAxisCoefficients(100, 256, 'bicubic').kernelSize).toBe(5);
  });
});
