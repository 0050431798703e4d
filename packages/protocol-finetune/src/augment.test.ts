import { createRng, preprocess } from '@medssl/core';
import type { Preprocessing, RawImage } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import {
  AUGMENTATION_POLICIES,
  DEFAULT_CROP_RANGES,
  cropRegion,
  drawAugmentation,
  inputSize,
  writeAugmentedImage,
  writeEvaluationImage,
  type Augmentation,
} from './augment.js';

/** An RGB image whose every pixel differs: value = (row · width + column) · 3 + channel, modulo 251. */
function patternImage(height: number, width: number): RawImage {
  const data = new Uint8Array(height * width * 3);
  for (let index = 0; index < data.length; index++) data[index] = index % 251;
  return { data, width, height, channels: 3 };
}

const plain: Preprocessing = { centerCrop: 8, channels: 3 };
const whole = (image: RawImage): Augmentation => ({
  top: 0,
  left: 0,
  height: image.height,
  width: image.width,
  horizontalFlip: false,
  verticalFlip: false,
  quarterTurns: 0,
  rotationDegrees: 0,
});

function augmented(image: RawImage, augmentation: Augmentation, preprocessing: Preprocessing = plain, layout: 'NCHW' | 'NHWC' = 'NCHW'): Float32Array {
  const { height, width } = inputSize(preprocessing);
  const batch = new Float32Array(2 * 3 * height * width).fill(Number.NaN);
  writeAugmentedImage(image, augmentation, preprocessing, batch, 1, layout, new Float32Array(3 * height * width));
  expect(batch.subarray(0, 3 * height * width).every(Number.isNaN)).toBe(true); // image 0 untouched
  return batch.subarray(3 * height * width);
}

/** Value of channel c at (row, column) of a [3, n, n] plane set. */
const at = (planes: Float32Array, size: number, channel: number, row: number, column: number) => planes[channel * size * size + row * size + column]!;

describe('augmentations', () => {
  it('draws crop boxes as RandomResizedCrop does: inside the image, area share and aspect ratio in range, same seed same draws', () => {
    const image = { height: 96, width: 96 };
    const output = { height: 64, width: 64 };
    const draw = (seed: number) => {
      const rng = createRng(seed).fork('test');
      return Array.from({ length: 300 }, () => drawAugmentation(rng, image, output, AUGMENTATION_POLICIES.pathology));
    };
    const draws = draw(3);
    expect(draw(3)).toEqual(draws);
    expect(draw(4)).not.toEqual(draws);
    for (const box of draws) {
      expect(box.top).toBeGreaterThanOrEqual(0);
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.top + box.height).toBeLessThanOrEqual(96);
      expect(box.left + box.width).toBeLessThanOrEqual(96);
      // Rounding the sides moves the share and ratio a little past the drawn ones.
      expect((box.height * box.width) / (96 * 96)).toBeGreaterThan(DEFAULT_CROP_RANGES.scale[0] * 0.9);
      expect(box.width / box.height).toBeGreaterThan(DEFAULT_CROP_RANGES.ratio[0] * 0.95);
      expect(box.width / box.height).toBeLessThan(DEFAULT_CROP_RANGES.ratio[1] * 1.05);
    }
    const shares = draws.map((box) => (box.height * box.width) / (96 * 96));
    expect(Math.min(...shares)).toBeLessThan(0.35);
    expect(Math.max(...shares)).toBeGreaterThan(0.9);
    expect(new Set(draws.map((box) => box.quarterTurns))).toEqual(new Set([0, 1, 2, 3]));
    const flips = draws.filter((box) => box.horizontalFlip).length;
    expect(flips).toBeGreaterThan(110);
    expect(flips).toBeLessThan(190);
    expect(draws.some((box) => box.verticalFlip)).toBe(true);
  });

  it('keeps each modality to the changes that leave a valid image', () => {
    const rng = createRng(0).fork('test');
    const size = { height: 32, width: 32 };
    const chest = Array.from({ length: 200 }, () => drawAugmentation(rng, size, size, AUGMENTATION_POLICIES['chest-xray']));
    expect(chest.every((box) => !box.verticalFlip && box.quarterTurns === 0 && Math.abs(box.rotationDegrees) <= 10)).toBe(true);
    expect(chest.some((box) => Math.abs(box.rotationDegrees) > 5)).toBe(true);
    const natural = Array.from({ length: 200 }, () => drawAugmentation(rng, size, size, AUGMENTATION_POLICIES.natural));
    expect(natural.every((box) => !box.verticalFlip && box.quarterTurns === 0 && box.rotationDegrees === 0)).toBe(true);
    // A non-square input cannot take a quarter turn: only 0 and 180 degrees.
    const wide = Array.from({ length: 100 }, () => drawAugmentation(rng, size, { height: 16, width: 32 }, AUGMENTATION_POLICIES.fundus));
    expect(new Set(wide.map((box) => box.quarterTurns))).toEqual(new Set([0, 2]));
  });

  it('resizes the crop box with core preprocessing, then flips and turns it exactly', () => {
    const image = patternImage(12, 12);
    const box = { top: 2, left: 3, height: 8, width: 8 };
    const base = augmented(image, { ...whole(image), ...box });
    const region = cropRegion(image, box);
    expect(Array.from(base)).toEqual(Array.from(preprocess(region, { channels: 3 }).data));
    expect(at(base, 8, 1, 0, 0)).toBeCloseTo(image.data[(2 * 12 + 3) * 3 + 1]! / 255, 6);

    const mirrored = augmented(image, { ...whole(image), ...box, horizontalFlip: true });
    const upsideDown = augmented(image, { ...whole(image), ...box, verticalFlip: true });
    const turned = augmented(image, { ...whole(image), ...box, quarterTurns: 1 });
    const turnedTwice = augmented(image, { ...whole(image), ...box, quarterTurns: 2 });
    for (let channel = 0; channel < 3; channel++) {
      for (let row = 0; row < 8; row++) {
        for (let column = 0; column < 8; column++) {
          expect(at(mirrored, 8, channel, row, column)).toBe(at(base, 8, channel, row, 7 - column));
          expect(at(upsideDown, 8, channel, row, column)).toBe(at(base, 8, channel, 7 - row, column));
          // numpy's rot90 (counter-clockwise): out[i, j] = in[j, n - 1 - i].
          expect(at(turned, 8, channel, row, column)).toBe(at(base, 8, channel, column, 7 - row));
          expect(at(turnedTwice, 8, channel, row, column)).toBe(at(base, 8, channel, 7 - row, 7 - column));
        }
      }
    }
  });

  it('rotates by small angles bilinearly, filling with normalised black, and writes NHWC as well as NCHW', () => {
    const image = patternImage(16, 16);
    const normalized: Preprocessing = { centerCrop: 16, normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] }, channels: 3 };
    const straight = augmented(image, whole(image), normalized);
    const tilted = augmented(image, { ...whole(image), rotationDegrees: 10 }, normalized);
    // Corners come from outside the source: black, normalised per channel.
    expect(at(tilted, 16, 0, 0, 0)).toBeCloseTo(-0.5 / 0.2, 5);
    expect(at(tilted, 16, 2, 15, 15)).toBeCloseTo(-0.3 / 0.3, 5);
    // Near the centre the rotation moves pixels by less than one: values stay between neighbours.
    const center = at(tilted, 16, 1, 8, 8);
    const neighbors = [
      at(straight, 16, 1, 7, 7),
      at(straight, 16, 1, 7, 8),
      at(straight, 16, 1, 8, 7),
      at(straight, 16, 1, 8, 8),
      at(straight, 16, 1, 8, 9),
      at(straight, 16, 1, 9, 8),
      at(straight, 16, 1, 9, 9),
      at(straight, 16, 1, 7, 9),
      at(straight, 16, 1, 9, 7),
    ];
    expect(center).toBeGreaterThanOrEqual(Math.min(...neighbors) - 1e-6);
    expect(center).toBeLessThanOrEqual(Math.max(...neighbors) + 1e-6);
    expect(Array.from(tilted)).not.toEqual(Array.from(straight));

    const channelsLast = augmented(image, { ...whole(image), rotationDegrees: 10 }, normalized, 'NHWC');
    for (let channel = 0; channel < 3; channel++) {
      for (let pixel = 0; pixel < 256; pixel++) expect(channelsLast[pixel * 3 + channel]).toBe(tilted[channel * 256 + pixel]);
    }
  });

  it('writes evaluation images with the backbone preprocessing, and names what does not fit', () => {
    const image = patternImage(20, 24);
    const preprocessing: Preprocessing = { resize: { size: 12, interpolation: 'bilinear' }, centerCrop: 10, channels: 3 };
    const batch = new Float32Array(3 * 10 * 10);
    writeEvaluationImage(image, preprocessing, batch, 0, 'NCHW', new Float32Array(300));
    expect(Array.from(batch)).toEqual(Array.from(preprocess(image, preprocessing).data));
    expect(() => writeEvaluationImage(image, { channels: 3 }, batch, 0, 'NCHW', new Float32Array(300))).toThrow(/needs one input size for every image/);
    expect(() => writeEvaluationImage(patternImage(8, 8), preprocessing, batch, 0, 'NCHW', new Float32Array(300), 'tiny.png')).not.toThrow();
    expect(() => writeEvaluationImage(patternImage(8, 8), { centerCrop: 10, channels: 3 }, batch, 0, 'NCHW', new Float32Array(300), 'tiny.png')).toThrow(
      /^tiny\.png \(8x8\): centre crop of 10x10 .*is larger than the image/,
    );
    expect(() => cropRegion(image, { top: 15, left: 0, height: 10, width: 5 })).toThrow('crop box 5x10 at (0, 15) is not inside the 24x20 image');
  });
});
