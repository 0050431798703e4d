import { UndefinedMetricError } from './errors.js';
import { normalQuantile, twoSidedNormalPValue } from './normal.js';
import { sortedOrder } from './sort.js';

/**
 * DeLong's nonparametric variance and covariance of ROC AUCs (DeLong, DeLong & Clarke-Pearson 1988),
 * computed in O(n log n) after Sun & Xu (2014).
 *
 * For one predictor on m positives X and n negatives Y, with the Mann–Whitney kernel ψ(x, y) = 1 when
 * x > y, 1/2 when x = y and 0 otherwise, the AUC is θ = (1/mn) Σᵢ Σⱼ ψ(Xᵢ, Yⱼ), and the structural
 * components (placements) are
 *
 *   V₁₀(Xᵢ) = (1/n) Σⱼ ψ(Xᵢ, Yⱼ)   for each positive,   V₀₁(Yⱼ) = (1/m) Σᵢ ψ(Xᵢ, Yⱼ)   for each negative,
 *
 * each averaging to θ. Sun & Xu obtain them from midranks: V₁₀(Xᵢ) = (midrank of Xᵢ among all scores −
 * midrank among the positives) / n. That difference is the number of negatives below Xᵢ plus half
 * those tied with it, which is what is computed here, by one merge pass over each class's sorted
 * scores.
 * For predictors A and B scored on the same rows, S₁₀ is the 2×2 sample covariance (divisor m − 1) of
 * (V₁₀ᴬ, V₁₀ᴮ) over the positives, S₀₁ that of (V₀₁ᴬ, V₀₁ᴮ) over the negatives, and
 *
 *   S = S₁₀/m + S₀₁/n,   Var(θᴬ − θᴮ) = S_AA + S_BB − 2 S_AB,   z = (θᴬ − θᴮ) / √Var.
 *
 * This is pROC's `roc.test(method = "delong", paired = TRUE)`, `var(roc, method = "delong")` and
 * `cov(rocA, rocB, method = "delong")` (Robin et al. 2011), with controls < cases (class 1 scores high).
 */

export interface DelongOptions {
  /** Coverage of the confidence interval, in (0, 1); 0.95 when absent. */
  readonly confidence?: number;
}

export interface NormalInterval {
  readonly lower: number;
  readonly upper: number;
  /** The coverage asked for. */
  readonly confidence: number;
}

export interface DelongVariance {
  readonly auc: number;
  /** DeLong's variance of the AUC, S₁₀/m + S₀₁/n. */
  readonly variance: number;
  readonly standardError: number;
  /** auc ± Φ⁻¹(1 − (1 − confidence)/2) · standardError, clipped to [0, 1] as pROC's `ci.auc` does. */
  readonly interval: NormalInterval;
  readonly positives: number;
  readonly negatives: number;
}

export interface DelongTest {
  readonly aucA: number;
  readonly aucB: number;
  /** aucA − aucB. */
  readonly difference: number;
  /** DeLong's variance of the difference. */
  readonly variance: number;
  readonly standardError: number;
  /** difference / standardError; 0 where both are 0 (the same predictor twice), as pROC. */
  readonly z: number;
  /** Two-sided, from the standard normal: 2 · Φ(−|z|). */
  readonly pValue: number;
  /** [[Var A, Cov(A, B)], [Cov(A, B), Var B]] of the two AUCs. */
  readonly covariance: readonly [readonly [number, number], readonly [number, number]];
  /** difference ± Φ⁻¹(1 − (1 − confidence)/2) · standardError, unclipped (pROC's `conf.int`). */
  readonly interval: NormalInterval;
  readonly positives: number;
  readonly negatives: number;
}

/** The structural components of one predictor on one binary target column. */
interface Placements {
  /** Per row: V₁₀ on a positive row, V₀₁ on a negative one. */
  readonly components: Float64Array;
  readonly auc: number;
}

interface ClassCounts {
  readonly positives: number;
  readonly negatives: number;
}

/**
 * DeLong's variance of one ROC AUC, and its normal confidence interval (pROC's
 * `var(roc, method = "delong")` and `ci.auc(roc, method = "delong")`).
 *
 * `targets` are 0/1 (1 is the positive class, expected to score higher). Throws `RangeError` for a
 * length mismatch, a target other than 0/1 or a score that is not finite, and `UndefinedMetricError`
 * when either class has fewer than two rows: the AUC needs one of each, its variance two.
 */
export function delongVariance(targets: ArrayLike<number>, scores: ArrayLike<number>, options: DelongOptions = {}): DelongVariance {
  const confidence = checkedConfidence('delongVariance', options.confidence);
  const counts = checkBinaryColumns('delongVariance', [scores], targets);
  const placements = placementsOf(scores, targets, 1, 0, counts);
  const variance = secondMoments(placements, placements, targets, 1, 0, counts).varianceA;
  const standardError = Math.sqrt(variance);
  const halfWidth = criticalValue(confidence) * standardError;
  return {
    auc: placements.auc,
    variance,
    standardError,
    interval: {
      lower: Math.max(0, placements.auc - halfWidth),
      upper: Math.min(1, placements.auc + halfWidth),
      confidence,
    },
    ...counts,
  };
}

/**
 * DeLong's test of two correlated ROC AUCs: predictors A and B scored on the same rows against the same
 * 0/1 `targets` (pROC's `roc.test(rocA, rocB, method = "delong", paired = TRUE)`).
 *
 * Tied scores count 1/2 in the kernel (midranks), as in pROC and scikit-learn's AUC. Throws `RangeError`
 * for mismatched lengths or invalid values, naming the array and row, and `UndefinedMetricError` when
 * either class has fewer than two rows.
 */
export function delongTest(targets: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>, options: DelongOptions = {}): DelongTest {
  const confidence = checkedConfidence('delongTest', options.confidence);
  const counts = checkBinaryColumns('delongTest', [scoresA, scoresB], targets);
  const placementsA = placementsOf(scoresA, targets, 1, 0, counts);
  const placementsB = placementsOf(scoresB, targets, 1, 0, counts);
  return pairedTest(placementsA, placementsB, targets, 1, 0, counts, confidence);
}

export interface ExcludedLabel {
  readonly label: string;
  /** Why the label has no test, e.g. "one class only: 0 positives of 300 rows". */
  readonly reason: string;
  readonly positives: number;
  readonly negatives: number;
}

export interface DelongMultilabelTest {
  /** DeLong's test of each label; `null` for the labels in `excludedLabels`. */
  readonly perLabel: Readonly<Record<string, DelongTest | null>>;
  /** The labels in the mean, in label order. */
  readonly includedLabels: readonly string[];
  /**
   * Labels left out of the mean and of `perLabel`: one class only (no AUC), or fewer than two rows of
   * a class (an AUC, but no DeLong variance). The mean is over the other labels.
   */
  readonly excludedLabels: readonly ExcludedLabel[];
  /** Mean AUC of A and of B over `includedLabels`. */
  readonly meanAucA: number;
  readonly meanAucB: number;
  /** meanAucA − meanAucB. */
  readonly difference: number;
  /** Variance of the mean difference, from the full covariance across labels. */
  readonly variance: number;
  readonly standardError: number;
  readonly z: number;
  readonly pValue: number;
  readonly interval: NormalInterval;
  /**
   * Covariance of the per-label AUC differences, `[included, included]` row-major, in the order of
   * `includedLabels`; its diagonal is each label's `variance` (up to rounding).
   */
  readonly differenceCovariance: Float64Array;
}

/**
 * DeLong's test of the mean AUC over the labels of a multilabel task: predictors A and B scored on the
 * same rows, `scoresA`, `scoresB` and the 0/1 `targets` each `[rows, labels.length]` row-major.
 *
 * The labels share rows, so their AUC differences Δₖ = θₖᴬ − θₖᴮ are correlated. Each Δₖ is, to first
 * order, a sum of one term per row: Δₖ − E Δₖ ≈ (1/mₖ) Σ_{s ∈ Pₖ} (V₁₀ − θ)ₖ(s) + (1/nₖ) Σ_{s ∈ Nₖ} (V₀₁ − θ)ₖ(s)
 * with (V − θ) taken of A minus that of B, Pₖ and Nₖ the rows positive and negative for label k, and
 * mₖ, nₖ their counts. Rows are independent, the labels of one row are not, so the covariance of two
 * labels' differences is a sum over rows of products of that row's terms. With DeLong's divisor
 * correction, the estimate is
 *
 *   Dₖ(s) = [(Vₖᴬ(s) − θₖᴬ) − (Vₖᴮ(s) − θₖᴮ)] / √(cₖ(s) (cₖ(s) − 1)),   cₖ(s) = mₖ if s ∈ Pₖ, else nₖ,
 *   Cov(Δₖ, Δₗ) = Σₛ Dₖ(s) Dₗ(s),
 *   Var(mean Δ) = (1/K²) Σₖ Σₗ Cov(Δₖ, Δₗ) = Σₛ ((1/K) Σₖ Dₖ(s))²,
 *
 * over the K included labels. A row positive for both labels, negative for both, or positive for one
 * and negative for the other, each adds its product. For k = l the sum is exactly DeLong's S₁₀/m + S₀₁/n
 * of the pair (each label's test in `perLabel` is `delongTest` on its column), and with one label the
 * mean's test is that test. Being a sum of outer products, the covariance matrix is positive
 * semidefinite, so the variance is never negative.
 *
 * Labels whose targets hold one class only, or fewer than two rows of a class, are left out of the
 * mean and listed in `excludedLabels` with the reason; when no label is left this throws
 * `UndefinedMetricError`. Throws `RangeError` for mismatched shapes or invalid values, naming the label
 * and row.
 */
export function delongMultilabelTest(
  targets: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  labels: readonly string[],
  options: DelongOptions = {},
): DelongMultilabelTest {
  const confidence = checkedConfidence('delongMultilabelTest', options.confidence);
  const labelCount = labels.length;
  const rowCount = checkMultilabelShape(scoresA, scoresB, targets, labels);

  const perLabel: [string, DelongTest | null][] = [];
  const includedLabels: string[] = [];
  const excludedLabels: ExcludedLabel[] = [];
  // Dₖ for each included label k: one weighted, centred difference of components per row.
  const weightedColumns: Float64Array[] = [];
  let sumA = 0;
  let sumB = 0;
  for (let column = 0; column < labelCount; column++) {
    const label = labels[column] as string;
    const counts = checkLabelColumn(scoresA, scoresB, targets, labelCount, column, label, rowCount);
    const reason = exclusionReason(counts, rowCount);
    if (reason !== undefined) {
      perLabel.push([label, null]);
      excludedLabels.push({ label, reason, ...counts });
      continue;
    }
    const a = placementsOf(scoresA, targets, labelCount, column, counts);
    const b = placementsOf(scoresB, targets, labelCount, column, counts);
    perLabel.push([label, pairedTest(a, b, targets, labelCount, column, counts, confidence)]);
    includedLabels.push(label);
    weightedColumns.push(weightedDifferences(a, b, targets, labelCount, column, counts));
    sumA += a.auc;
    sumB += b.auc;
  }
  const included = weightedColumns.length;
  if (included === 0) {
    throw new UndefinedMetricError(
      `delongMultilabelTest: no label has at least two positives and two negatives among ${rowCount} rows ` +
        `(${describeExclusions(excludedLabels)}); there is no mean AUC to test`,
    );
  }

  const differenceCovariance = new Float64Array(included * included);
  for (let k = 0; k < included; k++) {
    for (let l = 0; l <= k; l++) {
      const value = dot(weightedColumns[k]!, weightedColumns[l]!);
      differenceCovariance[k * included + l] = value;
      differenceCovariance[l * included + k] = value;
    }
  }
  let variance = 0;
  for (let index = 0; index < included * included; index++) variance += differenceCovariance[index]!;
  variance /= included * included;

  const meanAucA = sumA / included;
  const meanAucB = sumB / included;
  return {
    perLabel: Object.fromEntries(perLabel),
    includedLabels,
    excludedLabels,
    meanAucA,
    meanAucB,
    ...normalTest(meanAucA - meanAucB, variance, confidence),
    differenceCovariance,
  };
}

/** Dₖ(s) = [(Vₖᴬ(s) − θₖᴬ) − (Vₖᴮ(s) − θₖᴮ)] / √(c (c − 1)), c the size of row s's class for label k. */
function weightedDifferences(a: Placements, b: Placements, targets: ArrayLike<number>, stride: number, column: number, counts: ClassCounts): Float64Array {
  const rowCount = a.components.length;
  const positiveWeight = 1 / Math.sqrt(counts.positives * (counts.positives - 1));
  const negativeWeight = 1 / Math.sqrt(counts.negatives * (counts.negatives - 1));
  const weighted = new Float64Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    const centred = a.components[row]! - a.auc - (b.components[row]! - b.auc);
    weighted[row] = centred * (targets[row * stride + column] === 1 ? positiveWeight : negativeWeight);
  }
  return weighted;
}

function dot(left: Float64Array, right: Float64Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += left[index]! * right[index]!;
  return sum;
}

function pairedTest(
  a: Placements,
  b: Placements,
  targets: ArrayLike<number>,
  stride: number,
  column: number,
  counts: ClassCounts,
  confidence: number,
): DelongTest {
  const { varianceA, varianceB, covarianceAB, variance } = secondMoments(a, b, targets, stride, column, counts);
  return {
    aucA: a.auc,
    aucB: b.auc,
    ...normalTest(a.auc - b.auc, variance, confidence),
    covariance: [
      [varianceA, covarianceAB],
      [covarianceAB, varianceB],
    ],
    ...counts,
  };
}

function normalTest(difference: number, variance: number, confidence: number) {
  const standardError = Math.sqrt(variance);
  // 0/0 is the same predictor twice: no difference, and pROC reports z = 0 there.
  const z = difference === 0 && standardError === 0 ? 0 : difference / standardError;
  const halfWidth = criticalValue(confidence) * standardError;
  return {
    difference,
    variance,
    standardError,
    z,
    pValue: twoSidedNormalPValue(z),
    interval: { lower: difference - halfWidth, upper: difference + halfWidth, confidence },
  };
}

/**
 * DeLong's Var θᴬ, Var θᴮ and Cov(θᴬ, θᴮ) (S₁₀/m + S₀₁/n from the centred components on each class),
 * and the variance of the difference. That one is summed from the differences of components rather
 * than as Var A + Var B − 2 Cov, which would cancel for two similar predictors (and could come out
 * below 0).
 */
function secondMoments(a: Placements, b: Placements, targets: ArrayLike<number>, stride: number, column: number, counts: ClassCounts) {
  // [A·A, B·B, A·B, (A−B)²] summed over the positives, then the same over the negatives.
  const sums = new Float64Array(8);
  const rowCount = a.components.length;
  for (let row = 0; row < rowCount; row++) {
    const centredA = a.components[row]! - a.auc;
    const centredB = b.components[row]! - b.auc;
    const difference = centredA - centredB;
    const offset = targets[row * stride + column] === 1 ? 0 : 4;
    sums[offset]! += centredA * centredA;
    sums[offset + 1]! += centredB * centredB;
    sums[offset + 2]! += centredA * centredB;
    sums[offset + 3]! += difference * difference;
  }
  const { positives, negatives } = counts;
  const combine = (moment: number) => sums[moment]! / (positives - 1) / positives + sums[4 + moment]! / (negatives - 1) / negatives;
  return { varianceA: combine(0), varianceB: combine(1), covarianceAB: combine(2), variance: combine(3) };
}

/**
 * V₁₀ of every positive row and V₀₁ of every negative row of one column (`[rows, stride]` row-major),
 * and the AUC. Each class's scores are put in ascending order once (a radix argsort); one merge pass
 * per class then counts, for each run of tied scores, the other class's scores below and tied with it.
 */
function placementsOf(scores: ArrayLike<number>, targets: ArrayLike<number>, stride: number, column: number, counts: ClassCounts): Placements {
  const rowCount = targets.length / stride;
  // Float32 scores stay float32: the same values, half the bytes to sort.
  const ScoreArray = scores instanceof Float32Array ? Float32Array : Float64Array;
  const positiveScores = new ScoreArray(counts.positives);
  const negativeScores = new ScoreArray(counts.negatives);
  const positiveRows = new Uint32Array(counts.positives);
  const negativeRows = new Uint32Array(counts.negatives);
  let positiveIndex = 0;
  let negativeIndex = 0;
  for (let row = 0; row < rowCount; row++) {
    const score = scores[row * stride + column]!;
    if (targets[row * stride + column] === 1) {
      positiveRows[positiveIndex] = row;
      positiveScores[positiveIndex++] = score;
    } else {
      negativeRows[negativeIndex] = row;
      negativeScores[negativeIndex++] = score;
    }
  }
  const positives = inOrder(positiveScores, positiveRows);
  const negatives = inOrder(negativeScores, negativeRows);

  const components = new Float64Array(rowCount);
  // Twice the counts below plus those tied: whole numbers, so twice U is exact below 2^53 and the AUC
  // is exactly `rocAuc`'s.
  const twiceU = fillComponents(components, positives, negatives, (twiceBelow) => twiceBelow / (2 * counts.negatives));
  fillComponents(components, negatives, positives, (twiceBelow) => (2 * counts.positives - twiceBelow) / (2 * counts.positives));
  return { components, auc: twiceU / (2 * counts.positives * counts.negatives) };
}

interface OrderedClass {
  /** Scores ascending. */
  readonly scores: Float32Array | Float64Array;
  /** The row of each of them. */
  readonly rows: Uint32Array;
}

function inOrder(scores: Float32Array | Float64Array, rows: Uint32Array): OrderedClass {
  const order = sortedOrder(scores);
  const sortedScores = new (scores instanceof Float32Array ? Float32Array : Float64Array)(scores.length);
  const sortedRows = new Uint32Array(scores.length);
  for (let index = 0; index < order.length; index++) {
    sortedScores[index] = scores[order[index]!]!;
    sortedRows[index] = rows[order[index]!]!;
  }
  return { scores: sortedScores, rows: sortedRows };
}

/**
 * For each run of tied scores of `own`, counts the `other` scores below it (b) and tied with it (t),
 * and writes `component(2b + t)` to the rows of the run. Returns Σ (2b + t) over `own`'s rows.
 */
function fillComponents(components: Float64Array, own: OrderedClass, other: OrderedClass, component: (twiceBelow: number) => number): number {
  const ownCount = own.scores.length;
  const otherCount = other.scores.length;
  let total = 0;
  let below = 0;
  let runStart = 0;
  while (runStart < ownCount) {
    const value = own.scores[runStart]!;
    let runEnd = runStart + 1;
    while (runEnd < ownCount && own.scores[runEnd] === value) runEnd++;
    while (below < otherCount && other.scores[below]! < value) below++;
    let tied = 0;
    while (below + tied < otherCount && other.scores[below + tied] === value) tied++;
    const twiceBelow = 2 * below + tied;
    const componentValue = component(twiceBelow);
    for (let index = runStart; index < runEnd; index++) components[own.rows[index]!] = componentValue;
    total += (runEnd - runStart) * twiceBelow;
    below += tied;
    runStart = runEnd;
  }
  return total;
}

function criticalValue(confidence: number): number {
  return normalQuantile(1 - (1 - confidence) / 2);
}

function checkedConfidence(caller: string, confidence: number | undefined): number {
  const value = confidence ?? 0.95;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new RangeError(`${caller}: confidence must lie strictly between 0 and 1, got ${String(value).slice(0, 80)}`);
  }
  return value;
}

/** Checks scores arrays against one target column; returns the class counts (two of each at least). */
function checkBinaryColumns(caller: string, scoreArrays: readonly ArrayLike<number>[], targets: ArrayLike<number>): ClassCounts {
  const rowCount = targets.length;
  const names = scoreArrays.length === 1 ? ['scores'] : ['scoresA', 'scoresB'];
  scoreArrays.forEach((scores, which) => {
    if (scores.length !== rowCount) {
      throw new RangeError(`${caller}: ${names[which]} has ${scores.length} entries but targets has ${rowCount}; expected one score per row`);
    }
  });
  let positives = 0;
  for (let row = 0; row < rowCount; row++) {
    const target = targets[row];
    if (target === 1) positives++;
    else if (target !== 0) throw new RangeError(`${caller}: targets[${row}] is ${String(target).slice(0, 80)}; expected 0 or 1`);
    scoreArrays.forEach((scores, which) => {
      const score = scores[row];
      if (typeof score !== 'number' || !Number.isFinite(score)) {
        throw new RangeError(`${caller}: ${names[which]}[${row}] is ${String(score).slice(0, 80)}; expected a finite number`);
      }
    });
  }
  const counts = { positives, negatives: rowCount - positives };
  const reason = exclusionReason(counts, rowCount);
  if (reason !== undefined) {
    throw new UndefinedMetricError(`${caller}: ${reason}; DeLong's variance needs at least two positives and two negatives`);
  }
  return counts;
}

function checkMultilabelShape(scoresA: ArrayLike<number>, scoresB: ArrayLike<number>, targets: ArrayLike<number>, labels: readonly string[]): number {
  const labelCount = labels.length;
  if (labelCount === 0) throw new RangeError('delongMultilabelTest: labels is empty; expected one name per column');
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw new RangeError(`delongMultilabelTest: label '${label.slice(0, 80)}' appears more than once`);
    seen.add(label);
  }
  if (targets.length % labelCount !== 0) {
    throw new RangeError(`delongMultilabelTest: targets has ${targets.length} entries, not a whole number of rows of ${labelCount} labels`);
  }
  for (const [name, scores] of [
    ['scoresA', scoresA],
    ['scoresB', scoresB],
  ] as const) {
    if (scores.length !== targets.length) {
      throw new RangeError(
        `delongMultilabelTest: ${name} has ${scores.length} entries but targets has ${targets.length}; both must be [rows, ${labelCount}] row-major`,
      );
    }
  }
  return targets.length / labelCount;
}

/** Checks one label's column of targets and scores; returns its class counts. */
function checkLabelColumn(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  targets: ArrayLike<number>,
  labelCount: number,
  column: number,
  label: string,
  rowCount: number,
): ClassCounts {
  let positives = 0;
  for (let row = 0; row < rowCount; row++) {
    const target = targets[row * labelCount + column];
    if (target === 1) positives++;
    else if (target !== 0) {
      throw new RangeError(`delongMultilabelTest: label '${label.slice(0, 80)}', row ${row}: target is ${String(target).slice(0, 80)}; expected 0 or 1`);
    }
  }
  checkFiniteColumn(scoresA, 'scoresA', labelCount, column, label, rowCount);
  checkFiniteColumn(scoresB, 'scoresB', labelCount, column, label, rowCount);
  return { positives, negatives: rowCount - positives };
}

function checkFiniteColumn(scores: ArrayLike<number>, name: string, labelCount: number, column: number, label: string, rowCount: number): void {
  for (let row = 0; row < rowCount; row++) {
    const score = scores[row * labelCount + column];
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new RangeError(
        `delongMultilabelTest: label '${label.slice(0, 80)}', row ${row}: ${name} is ${String(score).slice(0, 80)}; expected a finite number`,
      );
    }
  }
}

/** Why a column has no DeLong test, or undefined when it has one. */
function exclusionReason({ positives, negatives }: ClassCounts, rowCount: number): string | undefined {
  if (positives === 0 || negatives === 0) {
    return `one class only: ${positives} positives of ${rowCount} rows, so the AUC is undefined`;
  }
  if (positives < 2 || negatives < 2) {
    return `${positives} positive${positives === 1 ? '' : 's'} and ${negatives} negative${negatives === 1 ? '' : 's'}: the AUC is defined but its DeLong variance is not`;
  }
  return undefined;
}

function describeExclusions(excluded: readonly ExcludedLabel[]): string {
  const shown = excluded.slice(0, 3).map(({ label, reason }) => `'${label.slice(0, 40)}': ${reason}`);
  if (excluded.length > 3) shown.push(`${excluded.length - 3} more`);
  return shown.join('; ');
}
