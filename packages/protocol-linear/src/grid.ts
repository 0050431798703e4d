/** `count` values from 10^start to 10^stop, evenly spaced in the exponent (numpy's `logspace`). */
export function logspace(start: number, stop: number, count: number): number[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`logspace: count must be a positive integer, got ${count}`);
  if (count === 1) return [10 ** start];
  const step = (stop - start) / (count - 1);
  // As numpy: exponents index · step + start, the last one exactly `stop`.
  return Array.from({ length: count }, (_, index) => 10 ** (index === count - 1 ? stop : index * step + start));
}

/** The L2 strengths λ tried by default: 45 values from 10⁻⁶ to 10⁵, `logspace(-6, 5, 45)`. */
export const DEFAULT_L2_GRID: readonly number[] = Object.freeze(logspace(-6, 5, 45));

/**
 * scikit-learn's `C` for the same fit: its objective is the summed log-loss + ‖W‖² / (2C), which is
 * `rows` times ours (mean log-loss + (λ/2)‖W‖²) when C = 1 / (rows · λ).
 */
export function sklearnC(l2: number, trainingRows: number): number {
  return 1 / (trainingRows * l2);
}
