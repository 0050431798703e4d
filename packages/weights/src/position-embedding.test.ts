import type { PositionResampling } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import { DINO_POSITION_RESAMPLING } from './canonical.js';
import { positionInterpolation, positionTableForInput, sineCosinePositions } from './position-embedding.js';

function table(grid: number, width: number, value: (patch: number, channel: number) => number): Float32Array {
  const data = new Float32Array((1 + grid * grid) * width);
  for (let patch = 0; patch <= grid * grid; patch++) for (let channel = 0; channel < width; channel++) data[patch * width + channel] = value(patch, channel);
  return data;
}

describe('positionTableForInput', () => {
  it('keeps the stored table for the trained size', () => {
    const stored = table(14, 3, (patch, channel) => patch + channel / 10);
    expect(positionTableForInput({ positionEmbedding: stored, width: 3, patchSize: 16, imageHeight: 224, imageWidth: 224 })).toBe(stored);
  });

  it('resamples to the new patch grid and keeps the class position', () => {
    const stored = table(14, 2, (patch, channel) => (patch === 0 ? 100 + channel : 1 + channel));
    const resized = positionTableForInput({ positionEmbedding: stored, width: 2, patchSize: 16, imageHeight: 160, imageWidth: 256 });
    expect(resized.length).toBe((1 + 10 * 16) * 2);
    expect(Array.from(resized.subarray(0, 2))).toEqual([100, 101]);
    // Cubic weights sum to one, so a constant table stays constant (to float32 rounding of the weights).
    for (let patch = 1; patch <= 160; patch++) {
      expect(resized[patch * 2]).toBeCloseTo(1, 5);
      expect(resized[patch * 2 + 1]).toBeCloseTo(2, 5);
    }
  });

  it('refuses a position table that is not a square grid, and inputs smaller than a patch', () => {
    expect(() => positionTableForInput({ positionEmbedding: new Float32Array(4 * 3), width: 3, patchSize: 16, imageHeight: 224, imageWidth: 224 })).toThrow(
      /3 patch positions, not a square grid/,
    );
    expect(() => positionTableForInput({ positionEmbedding: table(2, 1, () => 0), width: 1, patchSize: 16, imageHeight: 8, imageWidth: 8 })).toThrow(
      /8x8 is smaller than one 16x16 patch/,
    );
  });
});

describe('positionInterpolation', () => {
  it('gives no weights where DINO keeps the stored table', () => {
    expect(positionInterpolation({ storedPatches: 196, patchSize: 16, imageHeight: 224, imageWidth: 224 })).toEqual({ grid: 14, rows: 14, columns: 14 });
  });

  it('gives separable weights that reproduce positionTableForInput', () => {
    const grid = 4;
    const width = 3;
    const stored = table(grid, width, (patch, channel) => Math.sin(patch * 1.7 + channel));
    const request = { patchSize: 8, imageHeight: 48, imageWidth: 40 };
    const { rows, columns, rowWeights, columnWeights } = positionInterpolation({ storedPatches: grid * grid, ...request });
    expect([rows, columns]).toEqual([6, 5]);
    const expected = positionTableForInput({ positionEmbedding: stored, width, ...request });
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) {
        for (let channel = 0; channel < width; channel++) {
          let value = 0;
          for (let i = 0; i < grid; i++)
            for (let j = 0; j < grid; j++)
              value += rowWeights![row * grid + i]! * columnWeights![column * grid + j]! * stored[(1 + i * grid + j) * width + channel]!;
          expect(value).toBeCloseTo(expected[(1 + row * columns + column) * width + channel]!, 6);
        }
      }
    }
    // Cubic weights sum to one (to float32 rounding).
    for (let row = 0; row < rows; row++) expect(rowWeights!.subarray(row * grid, (row + 1) * grid).reduce((sum, weight) => sum + weight, 0)).toBeCloseTo(1, 5);
  });
});

describe('resampling rules', () => {
  const grid = 5;
  const stored = table(grid, 2, (patch, channel) => Math.cos(patch * 0.9 + channel));
  const request = (size: number, resampling: PositionResampling) => ({
    positionEmbedding: stored,
    width: 2,
    patchSize: 14,
    imageHeight: size,
    imageWidth: size,
    resampling,
  });

  it('keeps the stored table for the stored grid in every rule', () => {
    for (const resampling of [DINO_POSITION_RESAMPLING, { mode: 'bicubic', antialias: false }, { mode: 'bicubic', antialias: true }] as const) {
      expect(positionTableForInput(request(70, resampling))).toBe(stored);
    }
  });

  it('gives the size (MAE, DINOv2 with registers) without an offset, and for an offset of 0 as DINOv2 does', () => {
    const bySize = positionTableForInput(request(42, { mode: 'bicubic', antialias: true }));
    expect(bySize.length).toBe((1 + 9) * 2);
    expect(positionTableForInput(request(42, { mode: 'bicubic', offset: 0, antialias: true }))).toEqual(bySize);
    // The offset moves where samples fall: another table for the same grid.
    expect(positionTableForInput(request(42, { mode: 'bicubic', offset: 0.1, antialias: true }))).not.toEqual(bySize);
  });

  it('normalises antialiased weights to one, widening the support when downsampling', () => {
    for (const size of [28, 42, 98]) {
      const { rows, rowWeights } = positionInterpolation({
        storedPatches: grid * grid,
        patchSize: 14,
        imageHeight: size,
        imageWidth: size,
        resampling: { mode: 'bicubic', antialias: true },
      });
      for (let row = 0; row < rows; row++) {
        const weights = rowWeights!.subarray(row * grid, (row + 1) * grid);
        expect(weights.reduce((sum, weight) => sum + weight, 0)).toBeCloseTo(1, 6);
        // Downsampling 5 to 2 rows: the cubic stretched by 2.5 reaches every stored row.
        if (size === 28) expect(weights.every((weight) => weight !== 0)).toBe(true);
      }
    }
  });

  it('refuses an offset whose scale factor misses the grid, naming it', () => {
    expect(() => positionTableForInput(request(42, { mode: 'bicubic', offset: -0.5, antialias: false }))).toThrow(
      /from a 5x5 grid with offset -0.5 would not give 3 patches/,
    );
  });
});

describe('sine-cosine positions (MoCo v3)', () => {
  const sincos = { mode: 'sincos', temperature: 10000 } as const;
  const width = 8;
  const stored = Float32Array.from({ length: (1 + 4) * width }, (_, index) => index);

  it('keeps the stored table at its own grid and makes the table anew for another', () => {
    expect(positionTableForInput({ positionEmbedding: stored, width, patchSize: 2, imageHeight: 4, imageWidth: 4, resampling: sincos })).toBe(stored);
    const table = positionTableForInput({ positionEmbedding: stored, width, patchSize: 2, imageHeight: 6, imageWidth: 6, resampling: sincos });
    expect(table).toHaveLength((1 + 9) * width);
    expect(Array.from(table.subarray(0, width))).toEqual(new Array(width).fill(0));
    // Row 1, column 2: sin(1·ω), cos(1·ω), sin(2·ω), cos(2·ω), ω = 1, 1/100.
    const patch = Array.from(table.subarray((1 + 1 * 3 + 2) * width, (2 + 1 * 3 + 2) * width));
    const expected = [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01), Math.sin(2), Math.sin(0.02), Math.cos(2), Math.cos(0.02)];
    patch.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 6));
  });

  it('gives the fixed table, not resampling weights, to runtimes that train positions', () => {
    const interpolation = positionInterpolation({ storedPatches: 4, width, patchSize: 2, imageHeight: 6, imageWidth: 6, resampling: sincos });
    expect(interpolation.rowWeights).toBeUndefined();
    expect(interpolation.fixedTable).toEqual(sineCosinePositions(3, 3, width, sincos));
    expect(positionInterpolation({ storedPatches: 4, width, patchSize: 2, imageHeight: 4, imageWidth: 4, resampling: sincos }).fixedTable).toBeUndefined();
    expect(() => sineCosinePositions(2, 2, 6, sincos)).toThrow(/divisible by 4, got 6/);
  });
});
