import type { Preprocessing, RawImage } from '@medssl/spec';
import { describe, expect, it } from 'vitest';

import { inputShapeFromPreprocessing, preprocess, preprocessBatch, preprocessedShape, preprocessInto, toRgb } from './index.js';

const imagenet: Preprocessing = {
  resize: { size: 32, interpolation: 'bicubic' },
  centerCrop: 28,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

function noiseImage(width: number, height: number, channels: 1 | 3 | 4, seed: number): RawImage {
  let state = seed >>> 0;
  const data = Uint8Array.from({ length: width * height * channels }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { data, width, height, channels };
}

describe('preprocess', () => {
  it('scales bytes to [0, 1] in float32 and lays channels out as planes (CHW)', () => {
    const image: RawImage = { data: Uint8Array.from([0, 51, 255, 10, 20, 30]), width: 2, height: 1, channels: 3 };
    const tensor = preprocess(image, { channels: 3 });
    expect(tensor.shape).toEqual([3, 1, 2]);
    expect(Array.from(tensor.data)).toEqual([0, 10 / 255, 51 / 255, 20 / 255, 1, 30 / 255].map(Math.fround));
  });

  it('gives grey images the result of their RGB replication', () => {
    const grey = noiseImage(41, 37, 1, 3);
    expect(preprocess(grey, imagenet).data).toEqual(preprocess(toRgb(grey), imagenet).data);
  });

  it('drops alpha before resizing (no premultiplication)', () => {
    const rgba = noiseImage(41, 37, 4, 4);
    expect(preprocess(rgba, imagenet).data).toEqual(preprocess(toRgb(rgba), imagenet).data);
  });

  it('gives a 16-bit image of v * 257 the same values as the 8-bit image of v', () => {
    const bytes = noiseImage(30, 20, 3, 5);
    const words: RawImage = { ...bytes, data: Uint16Array.from(bytes.data, (value) => value * 257) };
    const cropOnly: Preprocessing = { centerCrop: [15, 21], normalize: imagenet.normalize, channels: 3 };
    expect(preprocess(words, cropOnly).data).toEqual(preprocess(bytes, cropOnly).data);
    // Bilinear resizing (no overshoot to clip) differs between the float and the 8-bit fixed-point paths
    // only by the 8-bit path's two roundings, so by less than one 8-bit step.
    const bilinear: Preprocessing = { resize: { size: 23, interpolation: 'bilinear' }, centerCrop: 19, channels: 3 };
    const resized = preprocess(words, bilinear);
    const expected = preprocess(bytes, bilinear);
    const largest = resized.data.reduce((most, value, index) => Math.max(most, Math.abs(value - expected.data[index]!)), 0);
    expect(largest).toBeLessThanOrEqual(1 / 255);
  });

  it('clips bicubic overshoot of 16-bit images to [0, 1]', () => {
    const stripes: RawImage = {
      data: Uint16Array.from({ length: 16 * 16 }, (_value, index) => ((index % 16) % 4 < 2 ? 0 : 65535)),
      width: 16,
      height: 16,
      channels: 1,
    };
    const tensor = preprocess(stripes, { resize: { size: 37, interpolation: 'bicubic' }, channels: 3 });
    expect(Math.min(...tensor.data)).toBe(0);
    expect(Math.max(...tensor.data)).toBe(1);
  });

  it('refuses a crop larger than the resized image, naming both sizes', () => {
    const cropTooLarge: Preprocessing = {
      resize: { size: 20, interpolation: 'bilinear' },
      centerCrop: 24,
      channels: 3,
    };
    expect(() => preprocess(noiseImage(40, 30, 3, 6), cropTooLarge)).toThrow(
      'centre crop of 24x24 (height x width) is larger than the image it crops, 20x26 (height x width)',
    );
  });
});

describe('preprocessedShape', () => {
  it('predicts the shape without pixels', () => {
    const shorterSide: Preprocessing = { resize: { size: 256, interpolation: 'bilinear' }, channels: 3 };
    expect(preprocessedShape({ height: 217, width: 300 }, shorterSide)).toEqual([3, 256, 353]);
    expect(preprocessedShape({ height: 217, width: 300 }, imagenet)).toEqual([3, 28, 28]);
    expect(preprocessedShape({ height: 10, width: 12 }, { channels: 3 })).toEqual([3, 10, 12]);
  });
});

describe('preprocessInto', () => {
  it('writes at the offset and nowhere else', () => {
    const image = noiseImage(50, 35, 3, 7);
    const expected = preprocess(image, imagenet).data;
    const target = new Float32Array(expected.length + 20).fill(Number.NaN);
    expect(preprocessInto(image, imagenet, target, 7)).toEqual([3, 28, 28]);
    expect(target.subarray(7, 7 + expected.length)).toEqual(expected);
    expect(target.subarray(0, 7).every(Number.isNaN)).toBe(true);
    expect(target.subarray(7 + expected.length).every(Number.isNaN)).toBe(true);
  });

  it('refuses a target without room, saying how much is needed', () => {
    expect(() => preprocessInto(noiseImage(50, 35, 3, 8), imagenet, new Float32Array(3000), 1000)).toThrow(
      'target has room for 2000 values from offset 1000; the preprocessed image needs 3 * 28 * 28 = 2352',
    );
  });
});

describe('preprocessBatch', () => {
  it('stacks images of different sizes that the crop brings to one size', () => {
    const images = [noiseImage(50, 35, 3, 9), noiseImage(31, 44, 1, 10), noiseImage(32, 32, 4, 11)];
    const batch = preprocessBatch(images, imagenet);
    expect(batch.shape).toEqual([3, 3, 28, 28]);
    images.forEach((image, index) => {
      const single = preprocess(image, imagenet).data;
      expect(batch.data.subarray(index * single.length, (index + 1) * single.length)).toEqual(single);
    });
  });

  it('refuses images that end up different sizes, naming the image', () => {
    const images = [noiseImage(50, 35, 3, 12), noiseImage(40, 35, 3, 13)];
    expect(() => preprocessBatch(images, { resize: { size: 32, interpolation: 'bilinear' }, channels: 3 })).toThrow(
      'image 1 preprocesses to 32x36 (height x width) but image 0 to 32x45 (height x width)',
    );
  });

  it('names the image whose data is malformed', () => {
    const broken: RawImage = { data: new Uint8Array(5), width: 2, height: 2, channels: 1 };
    expect(() => preprocessBatch([noiseImage(40, 40, 3, 14), broken], imagenet)).toThrow('image 1 data has 5 values');
  });

  it('refuses an empty batch', () => {
    expect(() => preprocessBatch([], imagenet)).toThrow('preprocessBatch needs at least one image');
  });
});

describe('inputShapeFromPreprocessing', () => {
  it('is the centre crop, else an exact resize; a shorter-side resize alone has no fixed size', () => {
    const base: Preprocessing = { resize: { size: 256, interpolation: 'bilinear' }, channels: 3 };
    expect(inputShapeFromPreprocessing({ ...base, centerCrop: 224 }, 'x')).toEqual([3, 224, 224]);
    expect(inputShapeFromPreprocessing({ ...base, centerCrop: [200, 300] }, 'x')).toEqual([3, 200, 300]);
    expect(inputShapeFromPreprocessing({ resize: { size: [96, 128], interpolation: 'bicubic' }, channels: 3 }, 'x')).toEqual([3, 96, 128]);
    expect(() => inputShapeFromPreprocessing(base, 'dino:vits16')).toThrow(/^dino:vits16: its preprocessing gives no fixed input size/);
  });
});
