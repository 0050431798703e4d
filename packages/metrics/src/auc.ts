import { UndefinedMetricError } from './errors.js';
import { sortAscending } from './sort.js';

/**
 * Area under the ROC curve of `scores` against 0/1 `targets` (1 is the positive class).
 *
 * Exact, in O(n log n): the Mann–Whitney U statistic divided by (positives × negatives), where a
 * positive scoring above a negative counts 1 and a tie counts 1/2. This is the value scikit-learn's
 * `roc_auc_score` gives, whose trapezoids over tied thresholds amount to the same half credit.
 *
 * Throws `RangeError` for a length mismatch, a target other than 0/1, or a NaN or infinite score, and
 * `UndefinedMetricError` when the targets hold one class only.
 */
export function rocAuc(targets: ArrayLike<number>, scores: ArrayLike<number>): number {
  const count = targets.length;
  if (scores.length !== count) {
    throw new RangeError(`rocAuc: targets has ${count} entries but scores has ${scores.length}`);
  }
  let positiveCount = 0;
  for (let index = 0; index < count; index++) {
    const target = targets[index] as number;
    if (target === 1) positiveCount++;
    else if (target !== 0) {
      throw new RangeError(`rocAuc: targets[${index}] is ${target}; targets must be 0 or 1`);
    }
    const score = scores[index] as number;
    if (!Number.isFinite(score)) {
      throw new RangeError(`rocAuc: scores[${index}] is ${score}; scores must be finite numbers`);
    }
  }
  const negativeCount = count - positiveCount;
  if (positiveCount === 0 || negativeCount === 0) {
    throw new UndefinedMetricError(
      `rocAuc: only one class present in targets (${positiveCount} positives, ${negativeCount} negatives ` + `of ${count}); ROC AUC is undefined`,
    );
  }

  // Float32 scores stay float32: sorting half the bytes is faster, and the values are the same.
  const ScoreArray = scores instanceof Float32Array ? Float32Array : Float64Array;
  const positiveScores = new ScoreArray(positiveCount);
  const negativeScores = new ScoreArray(negativeCount);
  let positiveIndex = 0;
  let negativeIndex = 0;
  for (let index = 0; index < count; index++) {
    if (targets[index] === 1) positiveScores[positiveIndex++] = scores[index] as number;
    else negativeScores[negativeIndex++] = scores[index] as number;
  }
  sortAscending(positiveScores);
  sortAscending(negativeScores);
  return aucOfSortedClasses(positiveScores, negativeScores);
}

/**
 * AUC from the scores of each class, each sorted ascending (both non-empty, all finite).
 * One merge pass: for every run of equal positive scores, count the negatives below and equal to it.
 */
function aucOfSortedClasses(positiveScores: Float32Array | Float64Array, negativeScores: Float32Array | Float64Array): number {
  const positiveCount = positiveScores.length;
  const negativeCount = negativeScores.length;
  // Twice U, so that ties add whole numbers and the sum stays an exact integer (below 2^53).
  let twiceU = 0;
  let negativesBelow = 0;
  let runStart = 0;
  while (runStart < positiveCount) {
    const value = positiveScores[runStart] as number;
    let runEnd = runStart + 1;
    while (runEnd < positiveCount && positiveScores[runEnd] === value) runEnd++;
    while (negativesBelow < negativeCount && (negativeScores[negativesBelow] as number) < value) negativesBelow++;
    let negativesEqual = 0;
    while (negativesBelow + negativesEqual < negativeCount && negativeScores[negativesBelow + negativesEqual] === value) {
      negativesEqual++;
    }
    twiceU += (runEnd - runStart) * (2 * negativesBelow + negativesEqual);
    negativesBelow += negativesEqual;
    runStart = runEnd;
  }
  return twiceU / (2 * positiveCount * negativeCount);
}

export interface PerLabelAuc {
  /** ROC AUC of each label, keyed by label; `null` where the label has one class only in the targets. */
  readonly perLabel: Readonly<Record<string, number | null>>;
  /** Mean of the defined per-label values; the labels in `excludedLabels` are not part of it. */
  readonly macroAuc: number;
  /** Labels left out of `macroAuc` because their AUC is undefined, in label order. */
  readonly excludedLabels: readonly string[];
}

/**
 * ROC AUC of every label of a multilabel task, and their mean (macro AUC).
 *
 * `targets` holds 0/1 flags and `scores` one score per label, both `[rows, labels.length]` row-major.
 * A label whose targets hold one class only has no AUC: it is reported as `null` and listed in
 * `excludedLabels` rather than averaged in. When no label has an AUC, there is no mean: this throws
 * `UndefinedMetricError`.
 */
export function perLabelAuc(targets: Uint8Array, scores: Float32Array, labels: readonly string[]): PerLabelAuc {
  const labelCount = labels.length;
  if (labelCount === 0) throw new RangeError('perLabelAuc: labels is empty');
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw new RangeError(`perLabelAuc: label '${label}' appears more than once`);
    seen.add(label);
  }
  if (targets.length !== scores.length) {
    throw new RangeError(`perLabelAuc: targets has ${targets.length} entries but scores has ${scores.length}; ` + `both must be [rows, ${labelCount}]`);
  }
  if (targets.length % labelCount !== 0) {
    throw new RangeError(`perLabelAuc: ${targets.length} entries is not a whole number of rows of ${labelCount} labels`);
  }
  const rowCount = targets.length / labelCount;

  const labelTargets = new Uint8Array(rowCount);
  const labelScores = new Float32Array(rowCount);
  const entries: [string, number | null][] = [];
  const excludedLabels: string[] = [];
  let definedSum = 0;
  for (let column = 0; column < labelCount; column++) {
    const label = labels[column] as string;
    let positiveCount = 0;
    for (let row = 0; row < rowCount; row++) {
      const target = targets[row * labelCount + column] as number;
      const score = scores[row * labelCount + column] as number;
      if (target > 1) {
        throw new RangeError(`perLabelAuc: label '${label}', row ${row}: target is ${target}; targets must be 0 or 1`);
      }
      if (!Number.isFinite(score)) {
        throw new RangeError(`perLabelAuc: label '${label}', row ${row}: score is ${score}; scores must be finite`);
      }
      positiveCount += target;
      labelTargets[row] = target;
      labelScores[row] = score;
    }
    if (positiveCount === 0 || positiveCount === rowCount) {
      entries.push([label, null]);
      excludedLabels.push(label);
      continue;
    }
    const value = rocAuc(labelTargets, labelScores);
    entries.push([label, value]);
    definedSum += value;
  }
  const definedCount = labelCount - excludedLabels.length;
  if (definedCount === 0) {
    throw new UndefinedMetricError(
      `perLabelAuc: every label has one class only in the targets (${rowCount} rows); no label has an AUC, so macro AUC is undefined`,
    );
  }
  return {
    // fromEntries defines own properties, so even a label named `__proto__` stays a plain key.
    perLabel: Object.fromEntries(entries),
    macroAuc: definedSum / definedCount,
    excludedLabels,
  };
}
