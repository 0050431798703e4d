/**
 * Thrown where a metric has no value on the data it was given, e.g. ROC AUC when the targets hold one
 * class only, or kappa when targets and predictions all fall in the same class.
 *
 * It is a distinct class so that callers can tell "undefined on this data" from a mistake in the input:
 * `bootstrapInterval` skips and counts resamples that throw it, and lets every other error through.
 */
export class UndefinedMetricError extends Error {
  override readonly name = 'UndefinedMetricError';
}
