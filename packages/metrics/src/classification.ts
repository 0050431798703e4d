import { UndefinedMetricError } from './errors.js';

/** Counts of (target, prediction) pairs: `counts[target * classCount + prediction]`, rows are targets. */
export interface ConfusionMatrix {
  readonly counts: Float64Array;
  readonly classCount: number;
}

export type KappaWeights = 'none' | 'linear' | 'quadratic';

function checkClassCount(functionName: string, classCount: number): void {
  if (!Number.isInteger(classCount) || classCount < 1) {
    throw new RangeError(`${functionName}: classCount must be a positive integer, got ${classCount}`);
  }
}

function checkPairedLengths(functionName: string, targets: ArrayLike<number>, predictions: ArrayLike<number>): void {
  if (targets.length !== predictions.length) {
    throw new RangeError(`${functionName}: targets has ${targets.length} entries but predictions has ${predictions.length}`);
  }
  if (targets.length === 0) throw new RangeError(`${functionName}: targets and predictions are empty`);
}

/**
 * The confusion matrix over classes `0 .. classCount - 1`.
 *
 * Every target and prediction must be a class index in that range. (scikit-learn, given `labels`,
 * silently drops samples outside it; here they are an error, since they mean the class count is wrong.)
 */
export function confusionMatrix(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): ConfusionMatrix {
  return buildConfusionMatrix('confusionMatrix', targets, predictions, classCount);
}

function buildConfusionMatrix(functionName: string, targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): ConfusionMatrix {
  checkClassCount(functionName, classCount);
  checkPairedLengths(functionName, targets, predictions);
  const counts = new Float64Array(classCount * classCount);
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index] as number;
    const prediction = predictions[index] as number;
    if (!Number.isInteger(target) || target < 0 || target >= classCount) {
      throw new RangeError(`${functionName}: targets[${index}] is ${target}; expected a class index in [0, ${classCount - 1}]`);
    }
    if (!Number.isInteger(prediction) || prediction < 0 || prediction >= classCount) {
      throw new RangeError(`${functionName}: predictions[${index}] is ${prediction}; expected a class index in [0, ${classCount - 1}]`);
    }
    counts[target * classCount + prediction]! += 1;
  }
  return { counts, classCount };
}

/** Fraction of predictions equal to their target. */
export function accuracy(targets: ArrayLike<number>, predictions: ArrayLike<number>): number {
  checkPairedLengths('accuracy', targets, predictions);
  let correct = 0;
  for (let index = 0; index < targets.length; index++) {
    if (targets[index] === predictions[index]) correct++;
  }
  return correct / targets.length;
}

/**
 * Recall of each class (correct predictions of the class / its targets); `null` for a class that no
 * target holds, where recall is undefined.
 */
export function recallPerClass(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): (number | null)[] {
  return recallsOf(buildConfusionMatrix('recallPerClass', targets, predictions, classCount));
}

function recallsOf({ counts, classCount }: ConfusionMatrix): (number | null)[] {
  const recalls: (number | null)[] = [];
  for (let target = 0; target < classCount; target++) {
    let targetCount = 0;
    for (let prediction = 0; prediction < classCount; prediction++) {
      targetCount += counts[target * classCount + prediction] as number;
    }
    recalls.push(targetCount === 0 ? null : (counts[target * classCount + target] as number) / targetCount);
  }
  return recalls;
}

/**
 * Mean recall over the classes present in the targets, as scikit-learn's `balanced_accuracy_score`.
 *
 * A class absent from the targets has no recall and is left out of the mean. scikit-learn does the
 * same and warns ("y_pred contains classes not in y_true") when such a class is predicted; here nothing
 * is printed: `recallPerClass` (and the `balanced_accuracy` metric's detail) shows those classes as `null`.
 */
export function balancedAccuracy(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): number {
  const recalls = recallsOf(buildConfusionMatrix('balancedAccuracy', targets, predictions, classCount));
  let sum = 0;
  let presentCount = 0;
  for (const recall of recalls) {
    if (recall === null) continue;
    sum += recall;
    presentCount++;
  }
  // Targets are non-empty, so at least one class is present.
  return sum / presentCount;
}

/**
 * F1 of each class `0 .. classCount - 1`, with scikit-learn's `zero_division=0`: a precision or recall
 * with nothing to divide by counts as 0, and so does F1 when both are 0.
 */
export function f1PerClass(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): number[] {
  const { counts } = buildConfusionMatrix('f1PerClass', targets, predictions, classCount);
  const scores: number[] = [];
  for (let classIndex = 0; classIndex < classCount; classIndex++) {
    let targetCount = 0;
    let predictedCount = 0;
    for (let other = 0; other < classCount; other++) {
      targetCount += counts[classIndex * classCount + other] as number;
      predictedCount += counts[other * classCount + classIndex] as number;
    }
    const truePositives = counts[classIndex * classCount + classIndex] as number;
    const precision = predictedCount === 0 ? 0 : truePositives / predictedCount;
    const recall = targetCount === 0 ? 0 : truePositives / targetCount;
    scores.push(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall));
  }
  return scores;
}

/**
 * Unweighted mean of `f1PerClass` over all `classCount` classes, as scikit-learn's
 * `f1_score(average='macro', labels=range(classCount), zero_division=0)`: a class that is neither a
 * target nor a prediction counts as F1 = 0 and lowers the mean.
 */
export function macroF1(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): number {
  const scores = f1PerClass(targets, predictions, classCount);
  let sum = 0;
  for (const score of scores) sum += score;
  return sum / classCount;
}

/**
 * Cohen's kappa between targets and predictions over classes `0 .. classCount - 1`, as scikit-learn's
 * `cohen_kappa_score(labels=range(classCount))`: 1 − (weighted observed disagreement) / (weighted
 * disagreement expected from the marginals). Disagreeing by `d` classes weighs 1 (`none`), `d`
 * (`linear`) or `d²` (`quadratic`, the APTOS metric).
 *
 * Throws `UndefinedMetricError` when the expected disagreement is 0, i.e. every target and every
 * prediction is the same single class (scikit-learn returns nan there).
 */
export function cohenKappa(targets: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number, weights: KappaWeights): number {
  if (weights !== 'none' && weights !== 'linear' && weights !== 'quadratic') {
    throw new RangeError(`cohenKappa: weights must be 'none', 'linear' or 'quadratic', got '${String(weights)}'`);
  }
  const { counts } = buildConfusionMatrix('cohenKappa', targets, predictions, classCount);
  const sampleCount = targets.length;
  const targetCounts = new Float64Array(classCount);
  const predictedCounts = new Float64Array(classCount);
  for (let target = 0; target < classCount; target++) {
    for (let prediction = 0; prediction < classCount; prediction++) {
      const count = counts[target * classCount + prediction] as number;
      targetCounts[target]! += count;
      predictedCounts[prediction]! += count;
    }
  }
  let observedDisagreement = 0;
  let expectedDisagreement = 0;
  for (let target = 0; target < classCount; target++) {
    for (let prediction = 0; prediction < classCount; prediction++) {
      const distance = Math.abs(target - prediction);
      const weight = weights === 'none' ? (distance === 0 ? 0 : 1) : weights === 'linear' ? distance : distance * distance;
      if (weight === 0) continue;
      observedDisagreement += weight * (counts[target * classCount + prediction] as number);
      expectedDisagreement += (weight * (targetCounts[target] as number) * (predictedCounts[prediction] as number)) / sampleCount;
    }
  }
  if (expectedDisagreement === 0) {
    throw new UndefinedMetricError(
      `cohenKappa: all ${sampleCount} targets and predictions are the same single class, so no disagreement is expected by chance; kappa is undefined`,
    );
  }
  return 1 - observedDisagreement / expectedDisagreement;
}
