import { describe, expect, it } from 'vitest';
import { rocAuc } from './auc.js';
import { bootstrapInterval, pairedBootstrap } from './bootstrap.js';
import { accuracy, cohenKappa } from './classification.js';
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

/** A class metric (kappa, accuracy) over resampled rows of fixed targets and predictions. */
function resampledClassMetric(
  score: (targets: Int32Array, predictions: Int32Array) => number,
  targets: Int32Array,
  predictions: Int32Array,
): (indices: Int32Array) => number {
  const resampledTargets = new Int32Array(targets.length);
  const resampledPredictions = new Int32Array(targets.length);
  return (indices) => {
    indices.forEach((row, position) => {
      resampledTargets[position] = targets[row]!;
      resampledPredictions[position] = predictions[row]!;
    });
    return score(resampledTargets, resampledPredictions);
  };
}

/** Five-grade targets and two graders' predictions that agree with them to different degrees. */
function gradedCase(rowCount: number) {
  const random = createRng(21);
  const targets = new Int32Array(rowCount);
  const better = new Int32Array(rowCount);
  const worse = new Int32Array(rowCount);
  const clamp = (grade: number) => Math.min(4, Math.max(0, grade));
  for (let row = 0; row < rowCount; row++) {
    targets[row] = random.int(5);
    better[row] = clamp(targets[row]! + (random.next() < 0.75 ? 0 : random.next() < 0.5 ? 1 : -1));
    worse[row] = clamp(random.next() < 0.55 ? targets[row]! : random.int(5));
  }
  return { targets, better, worse };
}

describe('pairedBootstrap', () => {
  const { targets, better, worse } = gradedCase(500);
  const kappa = (target: Int32Array, prediction: Int32Array) => cohenKappa(target, prediction, 5, 'quadratic');
  const kappaBetter = resampledClassMetric(kappa, targets, better);
  const kappaWorse = resampledClassMetric(kappa, targets, worse);

  it('gives the same result for the same seed, and another for another seed', () => {
    const first = pairedBootstrap(kappaBetter, kappaWorse, targets.length, { seed: 5, resamples: 300 });
    expect(pairedBootstrap(kappaBetter, kappaWorse, targets.length, { seed: 5, resamples: 300 })).toEqual(first);
    expect(pairedBootstrap(kappaBetter, kappaWorse, targets.length, { seed: 6, resamples: 300 })).not.toEqual(first);
  });

  it('estimates the difference on all rows, and its interval covers it', () => {
    const result = pairedBootstrap(kappaBetter, kappaWorse, targets.length, { seed: 1, resamples: 1000 });
    expect(result.estimateA).toBe(kappa(targets, better));
    expect(result.estimateB).toBe(kappa(targets, worse));
    expect(result.difference).toBe(result.estimateA! - result.estimateB!);
    expect(result.lower).toBeLessThan(result.difference!);
    expect(result.upper).toBeGreaterThan(result.difference!);
    expect(result).toMatchObject({ resamples: 1000, skipped: 0, confidence: 0.95 });
    // A clear difference: every resample favours A, so p is the smallest the resamples allow.
    expect(result.lower).toBeGreaterThan(0);
    expect(result.pValue).toBe(2 / 1001);
  });

  it('resamples the same rows as bootstrapInterval: the interval is that of the per-resample difference', () => {
    const options = { seed: 9, resamples: 400, confidence: 0.9 };
    const paired = pairedBootstrap(kappaBetter, kappaWorse, targets.length, options);
    const ofDifference = bootstrapInterval((indices) => kappaBetter(indices) - kappaWorse(indices), targets.length, options);
    expect(paired.lower).toBeCloseTo(ofDifference.lower, 14);
    expect(paired.upper).toBeCloseTo(ofDifference.upper, 14);
  });

  it('counts the tail beyond 0 with the +1 correction', () => {
    // Accuracy of two predictions that differ on a few rows only: some resamples tie or reverse.
    const random = createRng(4);
    const rowCount = 200;
    const classTargets = new Int32Array(rowCount);
    const predictionsA = new Int32Array(rowCount);
    const predictionsB = new Int32Array(rowCount);
    for (let row = 0; row < rowCount; row++) {
      classTargets[row] = random.int(2);
      predictionsA[row] = random.next() < 0.8 ? classTargets[row]! : 1 - classTargets[row]!;
      predictionsB[row] = random.next() < 0.95 ? predictionsA[row]! : 1 - predictionsA[row]!;
    }
    const accuracyA = resampledClassMetric(accuracy, classTargets, predictionsA);
    const accuracyB = resampledClassMetric(accuracy, classTargets, predictionsB);
    const differences: number[] = [];
    let lastA = 0;
    const recordingA = (indices: Int32Array) => (lastA = accuracyA(indices));
    const recordingB = (indices: Int32Array) => {
      const value = accuracyB(indices);
      differences.push(lastA - value);
      return value;
    };
    const result = pairedBootstrap(recordingA, recordingB, rowCount, { seed: 3, resamples: 999 });
    const resampled = differences.slice(1); // the first call is the estimate on all rows
    expect(resampled).toHaveLength(999);
    const atOrBelow = resampled.filter((difference) => difference <= 0).length;
    const atOrAbove = resampled.filter((difference) => difference >= 0).length;
    expect(Math.min(atOrBelow, atOrAbove)).toBeGreaterThan(5);
    expect(result.pValue).toBe(Math.min(1, (2 * (1 + Math.min(atOrBelow, atOrAbove))) / 1000));
    expect(result.pValue).toBeGreaterThan(0.01);
    expect(result.pValue).toBeLessThan(1);
  });

  it('gives difference 0 and p = 1 for two identical prediction sets', () => {
    const same = resampledClassMetric(kappa, targets, better);
    const result = pairedBootstrap(kappaBetter, same, targets.length, { seed: 2, resamples: 200 });
    expect(result).toMatchObject({ difference: 0, lower: 0, upper: 0, pValue: 1, skipped: 0 });
  });

  it('keeps the pairing: both metrics see the same rows in each resample', () => {
    // A minus itself is exactly 0 on every resample only if both are given the same rows.
    expect(pairedBootstrap(kappaBetter, kappaBetter, targets.length, { seed: 8, resamples: 50 })).toMatchObject({ lower: 0, upper: 0, pValue: 1 });
  });

  it('skips and counts resamples where either metric is undefined', () => {
    // One positive in five rows: an AUC resample misses it about a third of the time.
    const tinyTargets = Uint8Array.from([0, 0, 0, 1, 0]);
    const aucA = resampledAuc(tinyTargets, Float64Array.from([0.1, 0.4, 0.35, 0.8, 0.2]));
    const aucB = resampledAuc(tinyTargets, Float64Array.from([0.3, 0.9, 0.35, 0.5, 0.2]));
    let undefinedResamples = 0; // the call on all rows is defined, so it adds nothing here
    const countingA = (indices: Int32Array) => {
      const positives = Array.from(indices).filter((row) => tinyTargets[row] === 1).length;
      if (positives === 0 || positives === indices.length) undefinedResamples++;
      return aucA(indices);
    };
    const result = pairedBootstrap(countingA, aucB, 5, { seed: 11, resamples: 500 });
    expect(undefinedResamples).toBeGreaterThan(100);
    // B has the same targets, so it is undefined exactly where A is.
    expect(result.skipped).toBe(undefinedResamples);
    expect(result.resamples).toBe(500);
    expect(result.estimateA).toBe(1);
    expect(result.estimateB).toBe(0.75);
  });

  it('leaves out what is undefined on all rows, throws when no resample is usable, and refuses bad options', () => {
    const nanOnFirstRow = (indices: Int32Array) => (indices[0] === 0 ? Number.NaN : indices[0]!);
    const result = pairedBootstrap(nanOnFirstRow, () => 1, 3, { seed: 2, resamples: 100 });
    expect('estimateA' in result).toBe(false);
    expect('difference' in result).toBe(false);
    expect(result.estimateB).toBe(1);
    expect(() =>
      pairedBootstrap(
        () => Number.NaN,
        () => 1,
        3,
        { seed: 1, resamples: 10 },
      ),
    ).toThrow(/metric A or metric B was undefined on every one of 10 resamples of 3 rows/);
    expect(() => pairedBootstrap(kappaBetter, kappaWorse, 0, { seed: 1 })).toThrow(/pairedBootstrap: n must be an integer/);
    expect(() => pairedBootstrap(kappaBetter, kappaWorse, 500, { seed: 1, confidence: 0 })).toThrow(/strictly between 0 and 1, got 0/);
    expect(() => pairedBootstrap(kappaBetter, kappaWorse, 500, { seed: 1.5 })).toThrow(/seed must be a non-negative integer, got 1.5/);
  });
});
