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
  const resampleCount = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) {
    throw new RangeError(`bootstrapInterval: n must be an integer in [1, 2^31 - 1], got ${n}`);
  }
  if (!Number.isInteger(resampleCount) || resampleCount < 1) {
    throw new RangeError(`bootstrapInterval: resamples must be a positive integer, got ${resampleCount}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`bootstrapInterval: confidence must lie strictly between 0 and 1, got ${confidence}`);
  }

  const indices = new Int32Array(n);
  for (let row = 0; row < n; row++) indices[row] = row;
  const estimate = valueOrUndefined(metric, indices);

  const random = createRng(options.seed).fork('bootstrap');
  const values = new Float64Array(resampleCount);
  let definedCount = 0;
  for (let resample = 0; resample < resampleCount; resample++) {
    for (let draw = 0; draw < n; draw++) indices[draw] = random.int(n);
    const value = valueOrUndefined(metric, indices);
    if (value !== undefined) values[definedCount++] = value;
  }
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
