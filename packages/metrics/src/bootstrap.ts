import { UndefinedMetricError } from './errors.js';
import { createRng } from '@medssl/core';

export interface BootstrapOptions {
  /** Seed of the resampling stream: the same seed gives the same resamples and interval. */
  readonly seed: number;
  /** Resamples to draw; 1000 when absent. */
  readonly resamples?: number;
  /** Coverage of the interval, in (0, 1); 0.95 when absent. */
  readonly confidence?: number;
}

export interface BootstrapInterval {
  /** The metric on all rows (indices `0 .. n - 1`); absent where the metric is undefined there. */
  readonly estimate?: number;
  /** Percentiles (1 − confidence) / 2 and 1 − (1 − confidence) / 2 of the resampled values. */
  readonly lower: number;
  readonly upper: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** Of the resamples drawn, those on which the metric was undefined; the interval uses the rest. */
  readonly skipped: number;
}

/**
 * Percentile bootstrap confidence interval of a metric over `n` rows.
 *
 * Each resample draws `n` row indices uniformly with replacement and passes them to `metric`, which
 * scores those rows (the same `Int32Array` is refilled for every resample: copy it to keep it).
 * A resample on which the metric is undefined (it throws `UndefinedMetricError` or returns NaN, e.g. one
 * class only in an AUC resample) is skipped and counted in `skipped`; the interval comes from the
 * others. Any other error from `metric` is thrown as is. Percentiles interpolate linearly between
 * order statistics, as numpy's default `percentile`.
 */
export function bootstrapInterval(metric: (indices: Int32Array) => number, n: number, options: BootstrapOptions): BootstrapInterval {
  const { resampleCount, confidence } = checkResampling('bootstrapInterval', n, options);
  const indices = new Int32Array(n);
  const estimate = valueOrUndefined(metric, allRows(indices));

  const values = new Float64Array(resampleCount);
  let definedCount = 0;
  forEachResample(indices, options.seed, resampleCount, () => {
    const value = valueOrUndefined(metric, indices);
    if (value !== undefined) values[definedCount++] = value;
  });
  const skipped = resampleCount - definedCount;
  if (definedCount === 0) {
    throw new UndefinedMetricError(`bootstrapInterval: the metric was undefined on all ${resampleCount} resamples of ${n} rows; no interval`);
  }

  const sortedValues = values.subarray(0, definedCount).sort();
  const tail = (1 - confidence) / 2;
  const interval = {
    lower: percentileOfSorted(sortedValues, tail),
    upper: percentileOfSorted(sortedValues, 1 - tail),
    resamples: resampleCount,
    skipped,
  };
  return estimate === undefined ? interval : { estimate, ...interval };
}

export interface PairedBootstrap {
  /** Metric A and metric B on all rows (indices `0 .. n - 1`); each absent where undefined there. */
  readonly estimateA?: number;
  readonly estimateB?: number;
  /** estimateA − estimateB; absent where either is undefined. */
  readonly difference?: number;
  /** Percentiles (1 − confidence) / 2 and 1 − (1 − confidence) / 2 of the resampled differences A − B. */
  readonly lower: number;
  readonly upper: number;
  /**
   * Two-sided bootstrap p-value of "no difference": min(1, 2 · (1 + t) / (1 + B)), where B is the
   * number of resamples on which both metrics are defined and t the smaller of #{d* ≤ 0} and
   * #{d* ≥ 0} among their differences d* (the tail on the far side of 0 from the bulk; a difference of
   * exactly 0 counts in both). The +1 in numerator and denominator (Davison & Hinkley 1997, North et
   * al. 2002) counts the observed data as one resample, so p is never 0: it is at least 2 / (1 + B).
   */
  readonly pValue: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** Of the resamples drawn, those on which metric A or metric B was undefined; the rest give the result. */
  readonly skipped: number;
  /** The coverage asked for. */
  readonly confidence: number;
}

/**
 * Paired percentile bootstrap of the difference between two metrics on the same rows, e.g. the kappa,
 * accuracy or AUC of two backbones' predictions on one test set (Efron & Tibshirani 1993, ch. 13 and 16).
 *
 * Each resample draws `n` row indices uniformly with replacement and passes the same indices to both
 * `metricA` and `metricB` (one `Int32Array`, refilled for every resample: copy it to keep it), so the
 * pairing of the two predictions on a row is kept. Resample i draws the same rows as resample i of
 * `bootstrapInterval` with the same seed, so the same seed gives the same result. A resample on which
 * either metric is undefined (`UndefinedMetricError` or NaN) is skipped and counted in `skipped`; any
 * other error from a metric is thrown as is. Throws `UndefinedMetricError` when no resample is usable.
 */
export function pairedBootstrap(
  metricA: (indices: Int32Array) => number,
  metricB: (indices: Int32Array) => number,
  n: number,
  options: BootstrapOptions,
): PairedBootstrap {
  const { resampleCount, confidence } = checkResampling('pairedBootstrap', n, options);
  const indices = new Int32Array(n);
  const estimateA = valueOrUndefined(metricA, allRows(indices));
  const estimateB = valueOrUndefined(metricB, allRows(indices));

  const differences = new Float64Array(resampleCount);
  let definedCount = 0;
  forEachResample(indices, options.seed, resampleCount, () => {
    const valueA = valueOrUndefined(metricA, indices);
    if (valueA === undefined) return;
    const valueB = valueOrUndefined(metricB, indices);
    if (valueB !== undefined) differences[definedCount++] = valueA - valueB;
  });
  if (definedCount === 0) {
    throw new UndefinedMetricError(`pairedBootstrap: metric A or metric B was undefined on every one of ${resampleCount} resamples of ${n} rows; no interval`);
  }

  const sortedDifferences = differences.subarray(0, definedCount).sort();
  let notAboveZero = 0;
  let notBelowZero = 0;
  for (const difference of sortedDifferences) {
    if (difference <= 0) notAboveZero++;
    if (difference >= 0) notBelowZero++;
  }
  const tail = (1 - confidence) / 2;
  return {
    ...(estimateA === undefined ? {} : { estimateA }),
    ...(estimateB === undefined ? {} : { estimateB }),
    ...(estimateA === undefined || estimateB === undefined ? {} : { difference: estimateA - estimateB }),
    lower: percentileOfSorted(sortedDifferences, tail),
    upper: percentileOfSorted(sortedDifferences, 1 - tail),
    pValue: Math.min(1, (2 * (1 + Math.min(notAboveZero, notBelowZero))) / (1 + definedCount)),
    resamples: resampleCount,
    skipped: resampleCount - definedCount,
    confidence,
  };
}

function checkResampling(caller: string, n: number, options: BootstrapOptions): { resampleCount: number; confidence: number } {
  const resampleCount = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) {
    throw new RangeError(`${caller}: n must be an integer in [1, 2^31 - 1], got ${n}`);
  }
  if (!Number.isInteger(resampleCount) || resampleCount < 1) {
    throw new RangeError(`${caller}: resamples must be a positive integer, got ${resampleCount}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`${caller}: confidence must lie strictly between 0 and 1, got ${confidence}`);
  }
  return { resampleCount, confidence };
}

/** Fills `indices` with 0 .. n - 1 and returns it. */
function allRows(indices: Int32Array): Int32Array {
  for (let row = 0; row < indices.length; row++) indices[row] = row;
  return indices;
}

/**
 * Refills `indices` with a resample of its length, `resampleCount` times, calling `visit` after each.
 * One stream per seed, forked for `bootstrap`: every resampling function draws the same rows.
 */
function forEachResample(indices: Int32Array, seed: number, resampleCount: number, visit: () => void): void {
  const n = indices.length;
  const random = createRng(seed).fork('bootstrap');
  for (let resample = 0; resample < resampleCount; resample++) {
    for (let draw = 0; draw < n; draw++) indices[draw] = random.int(n);
    visit();
  }
}

function valueOrUndefined(metric: (indices: Int32Array) => number, indices: Int32Array): number | undefined {
  let value: number;
  try {
    value = metric(indices);
  } catch (error) {
    if (error instanceof UndefinedMetricError) return undefined;
    throw error;
  }
  return Number.isNaN(value) ? undefined : value;
}

/** numpy's default ("linear") percentile: interpolate between the two nearest order statistics. */
function percentileOfSorted(sortedValues: Float64Array, fraction: number): number {
  const position = fraction * (sortedValues.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sortedValues.length - 1);
  const lowerValue = sortedValues[below] as number;
  const upperValue = sortedValues[above] as number;
  return lowerValue + (upperValue - lowerValue) * (position - below);
}
