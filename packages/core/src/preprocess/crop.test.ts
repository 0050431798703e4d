import { describe, expect, it } from 'vitest';

import { centerCrop, centerCropOffsets, roundHalfToEven } from './index.js';

describe('roundHalfToEven', () => {
  it('rounds halves to the even neighbour, as Python 3 round does', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, 16.5, 17.5, 64.5].map(roundHalfToEven)).toEqual([0, 2, 2, 4, 4, 16, 18, 64]);
  });

  it('rounds everything else to the nearest integer', () => {
    expect([0, 1, 2.4, 2.6, 7.49, 7.51].map(roundHalfToEven)).toEqual([0, 1, 2, 3, 7, 8]);
  });
});

describe('centerCropOffsets', () => {
  it('follows torchvision for odd differences', () => {
    // Resize(256) of a 300x217 image gives 256x353: left = round(129 / 2) = round(64.5) = 64.
    expect(centerCropOffsets({ height: 256, width: 353 }, { height: 224, width: 224 })).toEqual({ top: 16, left: 64 });
    // round(17.5) = 18 and round(4.5) = 4.
    expect(centerCropOffsets({ height: 259, width: 233 }, { height: 224, width: 224 })).toEqual({ top: 18, left: 4 });
  });

  it('starts at 0 when the crop is the whole image', () => {
    expect(centerCropOffsets({ height: 5, width: 7 }, { height: 5, width: 7 })).toEqual({ top: 0, left: 0 });
  });

  it('refuses a crop larger than the image, naming both sizes', () => {
    expect(() => centerCropOffsets({ height: 200, width: 300 }, { height: 224, width: 224 })).toThrow(
      'centre crop of 224x224 (height x width) is larger than the image it crops, 200x300 (height x width)',
    );
  });

  it('refuses a crop size that is not a positive integer', () => {
    expect(() => centerCropOffsets({ height: 10, width: 10 }, { height: 0, width: 4 })).toThrow('centre crop height must be a positive integer, got 0');
  });
});

describe('centerCrop', () => {
  // Pixel value = row * 10 + column, so every crop can be checked by eye.
  const height = 6;
  const width = 9;
  const data = Uint8Array.from({ length: height * width }, (_value, index) => Math.floor(index / width) * 10 + (index % width));

  it('keeps the centre rows and columns of a grey image', () => {
    const cropped = centerCrop({ data, width, height, channels: 1 }, 3, 4);
    // top = round(1.5) = 2, left = round(2.5) = 2
    expect(Array.from(cropped.data)).toEqual([22, 23, 24, 25, 32, 33, 34, 35, 42, 43, 44, 45]);
    expect([cropped.height, cropped.width, cropped.channels]).toEqual([3, 4, 1]);
  });

  it('keeps every channel of a 16-bit RGB image and its bit depth', () => {
    const rgb = Uint16Array.from({ length: 4 * 4 * 3 }, (_value, index) => index * 1000);
    const cropped = centerCrop({ data: rgb, width: 4, height: 4, channels: 3 }, 2, 2);
    expect(cropped.data).toBeInstanceOf(Uint16Array);
    // top = left = 1: pixels (1,1), (1,2), (2,1), (2,2)
    const pixel = (row: number, column: number): number[] => [0, 1, 2].map((channel) => ((row * 4 + column) * 3 + channel) * 1000);
    expect(Array.from(cropped.data)).toEqual([...pixel(1, 1), ...pixel(1, 2), ...pixel(2, 1), ...pixel(2, 2)]);
  });
});
