// The fixtures themselves: the formulas of both languages agree, and @medssl/weights resamples position
// tables as PyTorch does in every rule.
import { positionTableForInput } from '@medssl/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureArray, parityDescription, readFixtureArrays } from './fixtures.js';
import { formulaValues } from './formula-weights.js';
import { checkFormulaFixtures, relativeError } from './parity.js';

/** PyTorch's float32 tables against ours: the same taps, weights within a float32 rounding (antialiased: bit for bit), sums in another order. */
const POSITION_TOLERANCE = 1e-5;

describe('parity fixtures', () => {
  let references: ReadonlyMap<string, Float32Array>;
  const measured: string[] = [];
  beforeAll(async () => {
    references = await readFixtureArrays('parity.npz');
  });
  afterAll(() => console.log(`position tables against PyTorch's interpolate (max |difference| / max |reference|):\n  ${measured.join('\n  ')}`));

  it('regenerates every weight set and image size exactly', () => {
    expect(() => checkFormulaFixtures()).not.toThrow();
  });

  it('resamples position tables as PyTorch does: offset or size, antialiased or not, down and up', () => {
    for (const { grid, width, rows, columns, resampling, stored, reference } of parityDescription().positionTables) {
      const positionEmbedding = formulaValues(stored, (1 + grid * grid) * width, 0, 0.5);
      const table = positionTableForInput({ positionEmbedding, width, patchSize: 1, imageHeight: rows, imageWidth: columns, resampling });
      const error = relativeError(table, fixtureArray(references, 'parity.npz', reference));
      measured.push(`${grid}x${grid} to ${rows}x${columns}, ${JSON.stringify(resampling)}: ${error.toExponential(2)}`);
      expect(error, reference).toBeLessThanOrEqual(POSITION_TOLERANCE);
    }
  });
});
