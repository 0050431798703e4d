import type { RawImage } from '@medssl/spec';
import { describe, expect, it } from 'vitest';

import { bitDepthOf, checkRawImage, dropAlpha, preprocess, resize, toRgb } from './index.js';

describe('dropAlpha', () => {
  it('keeps red, green and blue of RGBA pixels as they are, like convert("RGB")', () => {
    const rgba: RawImage = { data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 128]), width: 2, height: 1, channels: 4 };
    const rgb = dropAlpha(rgba);
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('returns grey and RGB images unchanged', () => {
    const grey: RawImage = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(dropAlpha(grey)).toBe(grey);
  });

  it('keeps 16-bit data 16-bit', () => {
    const rgba: RawImage = { data: Uint16Array.from([1000, 2000, 3000, 65535]), width: 1, height: 1, channels: 4 };
    const rgb = dropAlpha(rgba);
    expect(rgb.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(rgb.data)).toEqual([1000, 2000, 3000]);
  });
});

describe('toRgb', () => {
  it('replicates grey to three channels', () => {
    const grey: RawImage = { data: Uint8Array.from([7, 9]), width: 2, height: 1, channels: 1 };
    expect(Array.from(toRgb(grey).data)).toEqual([7, 7, 7, 9, 9, 9]);
  });
});

describe('checkRawImage', () => {
  it('refuses a channel count other than 1, 3 or 4, saying expected and actual', () => {
    const twoChannels = { data: new Uint8Array(8), width: 2, height: 2, channels: 2 } as unknown as RawImage;
    const message = 'image has 2 channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)';
    expect(() => checkRawImage(twoChannels)).toThrow(message);
    expect(() => resize(twoChannels, 4, 4, 'bilinear')).toThrow(message);
    expect(() => preprocess(twoChannels, { channels: 3 })).toThrow(message);
  });

  it('refuses data whose length is not width * height * channels, naming both', () => {
    const short: RawImage = { data: new Uint8Array(10), width: 4, height: 3, channels: 1 };
    expect(() => checkRawImage(short)).toThrow('image data has 10 values; expected width * height * channels = 4 * 3 * 1 = 12');
    expect(() => resize(short, 2, 2, 'bicubic')).toThrow('image data has 10 values; expected');
  });

  it('refuses sizes that are not positive integers', () => {
    const empty: RawImage = { data: new Uint8Array(0), width: 0, height: 3, channels: 1 };
    expect(() => checkRawImage(empty)).toThrow('image width must be a positive integer, got 0');
  });

  it('refuses data that is neither Uint8Array nor Uint16Array', () => {
    const floats = { data: new Float32Array(4), width: 2, height: 2, channels: 1 } as unknown as RawImage;
    expect(() => checkRawImage(floats)).toThrow('image data is a Float32Array; expected a Uint8Array (8-bit) or a Uint16Array (16-bit)');
  });

  it('accepts Node Buffers as 8-bit data', () => {
    const image: RawImage = { data: Buffer.from([1, 2, 3, 4]), width: 2, height: 2, channels: 1 };
    expect(bitDepthOf(image)).toBe(8);
  });
});
