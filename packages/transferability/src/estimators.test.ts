import { readFileSync } from 'node:fs';
import type { TargetArray, Task } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import { ESTIMATOR_IDS, type EstimatorId, estimateTransferability, weightedKendallTau } from './index.js';

interface ReferenceCase {
  readonly name: string;
  readonly task: Task;
  readonly seed: number;
  readonly shape: [number, number];
  readonly features: number[];
  readonly targets: number[] | number[][];
  readonly expected: Record<EstimatorId, number>;
}

const reference = JSON.parse(readFileSync(new URL('./__fixtures__/reference.json', import.meta.url), 'utf8')) as {
  cases: ReferenceCase[];
  weightedTau: { x: number[]; y: number[]; tau: number }[];
};

function targetsOf(entry: ReferenceCase): TargetArray {
  const [n] = entry.shape;
  if (entry.task.type === 'multilabel') {
    const rows = entry.targets as number[][];
    return { type: 'labels', data: Uint8Array.from(rows.flat()), shape: [n, rows[0]!.length] };
  }
  return { type: 'class', data: Int32Array.from(entry.targets as number[]), shape: [n] };
}

/** LogME and H-score are exact computations: 1e-6 relative. The rest are exact too, save for float order in EM and the neighbour ranking. */
const TOLERANCE: Record<EstimatorId, number> = { logme: 1e-6, hscore: 1e-6, transrate: 1e-6, gbc: 1e-6, nleep: 1e-5, knn: 0 };

describe('every estimator against the Python reference written from its paper', () => {
  for (const entry of reference.cases) {
    it(entry.name, async () => {
      const scores = await estimateTransferability({
        features: { data: Float32Array.from(entry.features), shape: entry.shape },
        targets: targetsOf(entry),
        task: entry.task,
        seed: entry.seed,
      });
      for (const id of ESTIMATOR_IDS) {
        const expected = entry.expected[id];
        const relative = Math.abs(scores[id] - expected) / Math.max(Math.abs(expected), 1e-12);
        expect(relative, `${id}: ${scores[id]} against ${expected}`).toBeLessThanOrEqual(TOLERANCE[id]);
      }
    });
  }
});

describe('weightedKendallTau', () => {
  it("matches scipy.stats.weightedtau's default, ties included", () => {
    for (const { x, y, tau } of reference.weightedTau) expect(weightedKendallTau(x, y)).toBeCloseTo(tau, 12);
  });
  it('is 1 for the same ranking and refuses lists of other lengths', () => {
    expect(weightedKendallTau([3, 1, 2], [30, 10, 20])).toBeCloseTo(1, 12);
    expect(() => weightedKendallTau([1, 2], [1])).toThrow(/x has 2 values, y 1/);
  });
});
