import type { Preprocessing } from '@medssl/spec';
import { describe, expect, it } from 'vitest';

import { preprocess, validatePreprocessing } from './index.js';

const imagenet: Preprocessing = {
  resize: { size: 256, interpolation: 'bilinear' },
  centerCrop: 224,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

/** Builds an invalid object as JSON could; the casts are the point. */
function withField(changes: Record<string, unknown>): Preprocessing {
  return { ...imagenet, ...changes } as unknown as Preprocessing;
}

describe('validatePreprocessing', () => {
  it('accepts the ImageNet pipeline, pairs, and an empty one', () => {
    expect(() => validatePreprocessing(imagenet)).not.toThrow();
    const pairs: Preprocessing = {
      resize: { size: [224, 256], interpolation: 'bicubic' },
      centerCrop: [200, 210],
      channels: 3,
    };
    expect(() => validatePreprocessing(pairs)).not.toThrow();
    expect(() => validatePreprocessing({ channels: 3 })).not.toThrow();
  });

  it.each([
    [{ resize: { size: 0, interpolation: 'bilinear' } }, 'preprocessing.resize.size must be a positive integer, got 0'],
    [{ resize: { size: 25.5, interpolation: 'bilinear' } }, 'preprocessing.resize.size must be a positive integer, got 25.5'],
    [{ resize: { size: [224, -1], interpolation: 'bilinear' } }, 'preprocessing.resize.size[1] (width) must be a positive integer, got -1'],
    [{ resize: { size: [1, 2, 3], interpolation: 'bilinear' } }, 'preprocessing.resize.size must be a number or a [height, width] pair, got 3 values'],
    [{ resize: { size: 256, interpolation: 'lanczos' } }, 'preprocessing.resize.interpolation must be "bilinear" or "bicubic", got "lanczos"'],
    [{ centerCrop: '224' }, 'preprocessing.centerCrop must be a positive integer, got "224"'],
    [{ centerCrop: [224, 0] }, 'preprocessing.centerCrop[1] (width) must be a positive integer, got 0'],
    [{ normalize: { mean: [0.5, 0.5], std: [1, 1, 1] } }, 'preprocessing.normalize.mean must hold 3 numbers (one per channel), got [0.5, 0.5]'],
    [{ normalize: { mean: [0.5, 0.5, 0.5], std: [1, 0, 1] } }, 'preprocessing.normalize.std[1] must not be zero, got 0'],
    [{ normalize: { mean: [0.5, 0.5, 0.5], std: [1, 1, 1e-50] } }, 'preprocessing.normalize.std[2] must not be zero, got 1e-50'],
    [{ normalize: { mean: [0.5, Number.NaN, 0.5], std: [1, 1, 1] } }, 'preprocessing.normalize.mean[1] must be a finite number, got NaN'],
    [{ channels: 1 }, 'preprocessing.channels must be 3, got 1'],
  ])('refuses %j, naming the field', (changes, message) => {
    expect(() => validatePreprocessing(withField(changes))).toThrow(message);
  });

  it('runs before any pixel is read', () => {
    const image = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 } as const;
    expect(() => preprocess(image, withField({ centerCrop: 0 }))).toThrow('preprocessing.centerCrop must be');
  });
});
