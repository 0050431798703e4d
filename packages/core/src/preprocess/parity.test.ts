// Compares with Pillow 9.4 and torchvision 0.14 outputs written by __fixtures__/make_fixtures.py.
import { readFileSync } from 'node:fs';

import type { Interpolation, Preprocessing, RawImage } from '@medssl/spec';
import { describe, expect, it } from 'vitest';

import { preprocess, resize, resizeFloat, resizeShorterSide } from './index.js';

interface StoredImage {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

interface ResizeCase {
  readonly name: string;
  readonly input: StoredImage;
  readonly width: number;
  readonly height: number;
  readonly interpolation: Interpolation;
  readonly expected: string;
}

interface PipelineCase {
  readonly name: string;
  readonly input: StoredImage | { readonly synthetic: true; readonly width: number; readonly height: number };
  readonly preprocessing: Preprocessing;
  readonly expected: {
    readonly shape: number[];
    readonly sum: number;
    readonly weightedSum: number;
    readonly sampleStride: number;
    readonly file: string;
  };
}

interface Manifest {
  readonly versions: Record<string, string>;
  readonly resize: ResizeCase[];
  readonly floatResize: ResizeCase[];
  readonly pipelines: PipelineCase[];
  readonly floatPipelines: PipelineCase[];
}

const fixtureDirectory = new URL('./__fixtures__/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', fixtureDirectory), 'utf8')) as Manifest;

/** Reads a raw little-endian array; the suffix says the element type. Copies, so alignment is right. */
function readArray(file: string): Uint8Array | Uint16Array | Float32Array {
  const bytes = readFileSync(new URL(file, fixtureDirectory));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (file.endsWith('.u8')) return new Uint8Array(buffer);
  if (file.endsWith('.u16')) return new Uint16Array(buffer);
  if (file.endsWith('.f32')) return new Float32Array(buffer);
  throw new Error(`fixture ${file} has an unknown suffix`);
}

function readImage(stored: StoredImage): RawImage {
  const data = readArray(stored.file);
  if (data instanceof Float32Array) throw new Error(`fixture ${stored.file} is not an image`);
  return { data, width: stored.width, height: stored.height, channels: stored.channels };
}

/** make_fixtures.py's `synthetic_pixel`: wrapping ramps plus a 16-pixel checkerboard. */
function syntheticImage(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const checker = ((x >> 4) + (y >> 4)) & 1;
      for (let channel = 0; channel < 3; channel++) {
        data[(y * width + x) * 3 + channel] = (x * (3 + channel) + y * (5 + 2 * channel) + ((x * y) >> 3) + checker * 96) & 255;
      }
    }
  }
  return { data, width, height, channels: 3 };
}

function maxAbsoluteDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let largest = 0;
  for (let index = 0; index < expected.length; index++) {
    largest = Math.max(largest, Math.abs(actual[index]! - expected[index]!));
  }
  return largest;
}

describe('fixtures', () => {
  it('come from the pinned library versions', () => {
    expect(manifest.versions.pillow).toBe('9.4.0');
    expect(manifest.versions.torchvision).toMatch(/^0\.14\./);
    expect(manifest.resize.length).toBeGreaterThanOrEqual(30);
  });
});

describe('resize equals Pillow Image.resize byte for byte (8-bit)', () => {
  it.each(manifest.resize.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const image = readImage(testCase.input);
    const resized = resize(image, testCase.height, testCase.width, testCase.interpolation);
    expect(resized.width).toBe(testCase.width);
    expect(resized.height).toBe(testCase.height);
    expect(resized.channels).toBe(testCase.input.channels);
    expect(resized.data).toBeInstanceOf(Uint8Array);
    expect(maxAbsoluteDifference(resized.data, readArray(testCase.expected))).toBe(0);
  });
});

describe('resizeFloat matches Pillow float mode (F) per channel', () => {
  it.each(manifest.floatResize.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const image = readImage(testCase.input);
    const resized = resizeFloat(image, testCase.height, testCase.width, testCase.interpolation);
    const expected = readArray(testCase.expected);
    // Same weights, same summation order, same float32 intermediate: equal up to float32 rounding.
    const tolerance = (image.data instanceof Uint16Array ? 65535 : 255) * 1e-6;
    expect(maxAbsoluteDifference(resized.data, expected)).toBeLessThanOrEqual(tolerance);
  });
});

describe('preprocess equals torchvision Resize -> CenterCrop -> ToTensor [-> Normalize]', () => {
  const cases = [...manifest.pipelines, ...manifest.floatPipelines];
  it.each(cases.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    const image = 'synthetic' in testCase.input ? syntheticImage(testCase.input.width, testCase.input.height) : readImage(testCase.input);
    const tensor = preprocess(image, testCase.preprocessing);
    const { expected } = testCase;
    expect(tensor.shape).toEqual(expected.shape);

    const stride = expected.sampleStride;
    const sampled = tensor.data.filter((_value, index) => index % stride === 0);
    expect(maxAbsoluteDifference(sampled, readArray(expected.file))).toBeLessThanOrEqual(1e-6);

    // Sums over every value catch differences between the sampled positions.
    let sum = 0;
    let weightedSum = 0;
    tensor.data.forEach((value, index) => {
      sum += value;
      weightedSum += value * ((index % 101) + 1);
    });
    expect(Math.abs(sum - expected.sum)).toBeLessThanOrEqual(1e-6 * tensor.data.length);
    expect(Math.abs(weightedSum - expected.weightedSum)).toBeLessThanOrEqual(1e-4 * tensor.data.length);
  });

  it('matches torchvision exactly, not only within tolerance, on the 8-bit pipelines', () => {
    for (const testCase of manifest.pipelines) {
      const image = 'synthetic' in testCase.input ? syntheticImage(testCase.input.width, testCase.input.height) : readImage(testCase.input);
      const tensor = preprocess(image, testCase.preprocessing);
      const stride = testCase.expected.sampleStride;
      const sampled = tensor.data.filter((_value, index) => index % stride === 0);
      expect(maxAbsoluteDifference(sampled, readArray(testCase.expected.file)), testCase.name).toBe(0);
    }
  });
});

describe('resizeShorterSide on the synthetic 300x217 image', () => {
  it('gives torchvision Resize(256) size: 256 x int(256 * 300 / 217) = 353', () => {
    const resized = resizeShorterSide(syntheticImage(300, 217), 256, 'bilinear');
    expect([resized.height, resized.width]).toEqual([256, 353]);
  });
});
