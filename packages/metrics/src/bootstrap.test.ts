import { describe, expect, it } from 'vitest';
import { rocAuc } from './auc.js';
import { bootstrapInterval } from './bootstrap.js';
import { createRng } from '@medssl/core';

/** An AUC metric over resampled rows of fixed targets and scores. */
function resampledAuc(targets: Uint8Array, scores: Float64Array): (indices: Int32Array) => number {
  const resampledTargets = new Uint8Array(targets.length);
  const resampledScores = new Float64Array(scores.length);
  return (indices) => {
    indices.forEach((row, position) => {
      resampledTargets[position] = targets[row]!;
      resampledScores[position] = scores[row]!;
    });
    return rocAuc(resampledTargets, resampledScores);
  };
}

function separableCase(rowCount: number): { targets: Uint8Array; scores: Float64Array } {
  const random = createRng(99);
  const targets = new Uint8Array(rowCount);
  const scores = new Float64Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    targets[row] = random.next() < 0.3 ? 1 : 0;
    scores[row] = targets[row]! * 0.6 + random.next();
  }
  return { targets, scores };
}

describe('bootstrapInterval', () => {
  const { targets, scores } = separableCase(400);
  const metric = resampledAuc(targets, scores);

  it('gives the same interval for the same seed, and another for another seed', () => {
    const first = bootstrapInterval(metric, targets.length, { seed: 5, resamples: 200 });
    expect(bootstrapInterval(metric, targets.length, { seed: 5, resamples: 200 })).toEqual(first);
    expect(bootstrapInterval(metric, targets.length, { seed: 6, resamples: 200 })).not.toEqual(first);
  });

  it('brackets the point estimate on a reasonable case', () => {
    const interval = bootstrapInterval(metric, targets.length, { seed: 1 });
    expect(interval.estimate).toBe(rocAuc(targets, scores));
    expect(interval.lower).toBeLessThan(interval.estimate!);
    expect(interval.upper).toBeGreaterThan(interval.estimate!);
    expect(interval.upper - interval.lower).toBeLessThan(0.2);
    expect(interval).toMatchObject({ resamples: 1000, skipped: 0 });
  });

  it('narrows as the confidence falls', () => {
    const wide = bootstrapInterval(metric, targets.length, { seed: 3, resamples: 300, confidence: 0.99 });
    const narrow = bootstrapInterval(metric, targets.length, { seed: 3, resamples: 300, confidence: 0.5 });
    expect(narrow.lower).toBeGreaterThan(wide.lower);
    expect(narrow.upper).toBeLessThan(wide.upper);
  });

  it('skips and counts resamples where the metric is undefined', () => {
    // One positive in four rows: a resample misses it with probability (3/4)^4, about 32 %, and holds
    // nothing else with probability (1/4)^4.
    const tinyTargets = Uint8Array.from([0, 0, 0, 1]);
    const tinyScores = Float64Array.from([0.1, 0.4, 0.35, 0.8]);
    const tinyMetric = resampledAuc(tinyTargets, tinyScores);
    let undefinedCalls = 0;
    const countingMetric = (indices: Int32Array): number => {
      const positives = Array.from(indices).filter((row) => tinyTargets[row] === 1).length;
      if (positives === 0 || positives === indices.length) undefinedCalls++;
      return tinyMetric(indices);
    };
    const interval = bootstrapInterval(countingMetric, 4, { seed: 11, resamples: 500 });
    expect(interval.skipped).toBe(undefinedCalls);
    expect(interval.skipped).toBeGreaterThan(100);
    expect(interval.skipped).toBeLessThan(220);
    expect(interval.resamples).toBe(500);
    expect(interval.estimate).toBe(1);
  });

  it('treats NaN as undefined, and leaves out the estimate where it is undefined', () => {
    const interval = bootstrapInterval((indices) => (indices[0] === 0 ? NaN : indices[0]!), 3, {
      seed: 2,
      resamples: 100,
    });
    expect(interval.estimate).toBeUndefined();
    expect('estimate' in interval).toBe(false);
    expect(interval.skipped).toBeGreaterThan(0);
    expect(interval.lower).toBeGreaterThanOrEqual(1);
    expect(interval.upper).toBeLessThanOrEqual(2);
  });

  it('throws when every resample is undefined, and passes other errors through', () => {
    const oneRow = resampledAuc(Uint8Array.from([1]), Float64Array.from([0.5]));
    expect(() => bootstrapInterval(oneRow, 1, { seed: 1, resamples: 10 })).toThrow(/undefined on all 10 resamples of 1 rows/);
    expect(() =>
      bootstrapInterval(
        () => {
          throw new TypeError('broken metric');
        },
        3,
        { seed: 1 },
      ),
    ).toThrow('broken metric');
  });

  it('refuses bad options', () => {
    expect(() => bootstrapInterval(metric, 0, { seed: 1 })).toThrow(/n must be an integer/);
    expect(() => bootstrapInterval(metric, 400, { seed: 1, resamples: 0 })).toThrow(/resamples must be a positive integer, got 0/);
    expect(() => bootstrapInterval(metric, 400, { seed: 1, confidence: 1 })).toThrow(/strictly between 0 and 1, got 1/);
    expect(() => bootstrapInterval(metric, 400, { seed: -3 })).toThrow(/seed must be a non-negative integer, got -3/);
  });

  it('takes numpy-style linearly interpolated percentiles', () => {
    // The metric returns the resample's first index, so the values are draws from {0, ..., 9}.
    const interval = bootstrapInterval((indices) => indices[0]!, 10, { seed: 4, resamples: 2000, confidence: 0.8 });
    expect(interval.lower).toBeGreaterThanOrEqual(0);
    expect(interval.lower).toBeLessThanOrEqual(1);
    expect(interval.upper).toBeGreaterThanOrEqual(8);
    expect(interval.upper).toBeLessThanOrEqual(9);
  });
});
