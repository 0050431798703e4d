import type { BinaryTask, Matrix, Metric, MetricId, MetricResult, MulticlassTask, TargetArray, Task } from '@medssl/spec';
import { perLabelAuc, rocAuc } from './auc.js';
import { accuracy, balancedAccuracy, cohenKappa, f1PerClass, macroF1, recallPerClass } from './classification.js';

type ClassTask = BinaryTask | MulticlassTask;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks that targets and scores agree with their own shapes and with each other's row count. */
function checkShapes(metricId: MetricId, targets: TargetArray, scores: Matrix): void {
  const [scoreRows, scoreColumns] = scores.shape;
  if (scores.data.length !== scoreRows * scoreColumns) {
    throw new RangeError(
      `${metricId}: scores.data holds ${scores.data.length} values but its shape ${shapeText(scores.shape)} ` + `needs ${scoreRows * scoreColumns}`,
    );
  }
  const targetValues = targets.type === 'class' ? targets.shape[0] : targets.shape[0] * targets.shape[1];
  if (targets.data.length !== targetValues) {
    throw new RangeError(`${metricId}: targets.data holds ${targets.data.length} values but its shape ` + `${shapeText(targets.shape)} needs ${targetValues}`);
  }
  if (targets.shape[0] !== scoreRows) {
    throw new RangeError(
      `${metricId}: targets have shape ${shapeText(targets.shape)} but scores have shape ` + `${shapeText(scores.shape)}; the row counts must match`,
    );
  }
}

function checkAppliesTo(metric: Pick<Metric, 'id' | 'appliesTo'>, task: Task): void {
  if (!metric.appliesTo.includes(task.type)) {
    throw new RangeError(`${metric.id}: applies to ${metric.appliesTo.join(' and ')} tasks, not to a ${task.type} task`);
  }
}

function classTargetsOf(metricId: MetricId, task: ClassTask, targets: TargetArray): Int32Array {
  if (targets.type !== 'class') {
    throw new RangeError(`${metricId}: a ${task.type} task needs class targets [n], got label targets ${shapeText(targets.shape)}`);
  }
  return targets.data;
}

/**
 * The class with the highest score in each row of `scores` (`[n, classes]`); on a tie the first such
 * class, as numpy's `argmax`. Throws on a NaN score, naming its row and column.
 */
export function predictedClasses(scores: Matrix): Int32Array {
  const [rowCount, columnCount] = scores.shape;
  if (columnCount < 1) throw new RangeError(`predictedClasses: scores have shape ${shapeText(scores.shape)}, no columns`);
  const predictions = new Int32Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    let bestColumn = 0;
    let bestScore = -Infinity;
    for (let column = 0; column < columnCount; column++) {
      const score = scores.data[row * columnCount + column] as number;
      if (Number.isNaN(score)) {
        throw new RangeError(`predictedClasses: scores at row ${row}, column ${column} is NaN`);
      }
      if (score > bestScore || column === 0) {
        bestScore = score;
        bestColumn = column;
      }
    }
    predictions[row] = bestColumn;
  }
  return predictions;
}

/** Class predictions from `[n, classes]` scores, refusing any other column count. */
function classDecisionsOf(metricId: MetricId, task: ClassTask, scores: Matrix): Int32Array {
  const classCount = task.classes.length;
  const [rowCount, columnCount] = scores.shape;
  if (columnCount !== classCount) {
    const why =
      columnCount === 1 && task.type === 'binary'
        ? '; one column cannot be turned into class predictions without knowing whether it holds ' + 'probabilities or logits'
        : '';
    throw new RangeError(
      `${metricId}: a ${task.type} task with ${classCount} classes needs scores of shape ` +
        `[${rowCount}, ${classCount}], got ${shapeText(scores.shape)}${why}`,
    );
  }
  return predictedClasses(scores);
}

/** The positive-class score of each row of a binary task: column 1 of `[n, 2]`, or the only column of `[n, 1]`. */
function positiveClassScores(metricId: MetricId, scores: Matrix): Float32Array {
  const [rowCount, columnCount] = scores.shape;
  if (columnCount === 1) return scores.data;
  if (columnCount !== 2) {
    throw new RangeError(
      `${metricId}: a binary task needs scores of shape [${rowCount}, 2] (one per class) or ` +
        `[${rowCount}, 1] (positive class), got ${shapeText(scores.shape)}`,
    );
  }
  const positive = new Float32Array(rowCount);
  for (let row = 0; row < rowCount; row++) positive[row] = scores.data[row * 2 + 1] as number;
  return positive;
}

/** Per-class values keyed by class name. */
function detailByClass(task: ClassTask, values: readonly (number | null)[]): Record<string, number | null> {
  if (new Set(task.classes).size !== task.classes.length) {
    throw new RangeError(`task classes ${JSON.stringify(task.classes)} repeat a name; per-class values need unique names`);
  }
  return Object.fromEntries(task.classes.map((className, index) => [className, values[index] ?? null]));
}

function checkOrdinal(metricId: MetricId, task: ClassTask): void {
  if (task.type === 'multiclass' && !task.ordinal) {
    throw new RangeError(
      `${metricId}: weights disagreements by the distance between classes, which needs ordered classes; this multiclass task has ordinal: false`,
    );
  }
}

/** A metric of class predictions (argmax of the scores) on a binary or multiclass task. */
function classDecisionMetric(
  definition: Pick<Metric, 'id' | 'name'> & { readonly needsOrderedClasses?: boolean },
  computeFromPredictions: (targets: Int32Array, predictions: Int32Array, task: ClassTask) => MetricResult,
): Metric {
  const metric: Metric = {
    id: definition.id,
    name: definition.name,
    higherIsBetter: true,
    appliesTo: ['binary', 'multiclass'],
    compute(targets, scores, task) {
      checkAppliesTo(metric, task);
      const classTask = task as ClassTask;
      if (definition.needsOrderedClasses === true) checkOrdinal(metric.id, classTask);
      checkShapes(metric.id, targets, scores);
      const classTargets = classTargetsOf(metric.id, classTask, targets);
      return computeFromPredictions(classTargets, classDecisionsOf(metric.id, classTask, scores), classTask);
    },
  };
  return metric;
}

/** ROC AUC of the positive class (class 1) of a binary task. */
export const aucMetric: Metric = {
  id: 'auc',
  name: 'ROC AUC',
  higherIsBetter: true,
  appliesTo: ['binary'],
  compute(targets, scores, task) {
    checkAppliesTo(aucMetric, task);
    checkShapes('auc', targets, scores);
    const classTargets = classTargetsOf('auc', task as BinaryTask, targets);
    return { value: rocAuc(classTargets, positiveClassScores('auc', scores)) };
  },
};

/** Mean ROC AUC over the labels of a multilabel task; detail: each label's AUC, `null` where undefined. */
export const meanAucMetric: Metric = {
  id: 'mean_auc',
  name: 'Mean ROC AUC over labels',
  higherIsBetter: true,
  appliesTo: ['multilabel'],
  compute(targets, scores, task) {
    checkAppliesTo(meanAucMetric, task);
    if (task.type !== 'multilabel') throw new Error('unreachable: checked by checkAppliesTo');
    checkShapes('mean_auc', targets, scores);
    const labelCount = task.labels.length;
    if (targets.type !== 'labels' || targets.shape[1] !== labelCount) {
      throw new RangeError(
        `mean_auc: a multilabel task with ${labelCount} labels needs targets of shape ` +
          `[${targets.shape[0]}, ${labelCount}], got ${targets.type} targets ${shapeText(targets.shape)}`,
      );
    }
    if (scores.shape[1] !== labelCount) {
      throw new RangeError(
        `mean_auc: a multilabel task with ${labelCount} labels needs scores of shape ` + `[${scores.shape[0]}, ${labelCount}], got ${shapeText(scores.shape)}`,
      );
    }
    const result = perLabelAuc(targets.data, scores.data, task.labels);
    return { value: result.macroAuc, detail: result.perLabel };
  },
};

/** Quadratic weighted kappa of the argmax predictions (the APTOS metric); ordinal tasks only. */
export const kappaMetric: Metric = classDecisionMetric(
  { id: 'kappa', name: 'Quadratic weighted kappa', needsOrderedClasses: true },
  (targets, predictions, task) => ({ value: cohenKappa(targets, predictions, task.classes.length, 'quadratic') }),
);

/** Linearly weighted kappa of the argmax predictions; ordinal tasks only. */
export const linearKappaMetric: Metric = classDecisionMetric(
  { id: 'linear_kappa', name: 'Linear weighted kappa', needsOrderedClasses: true },
  (targets, predictions, task) => ({ value: cohenKappa(targets, predictions, task.classes.length, 'linear') }),
);

/** Accuracy of the argmax predictions. */
export const accuracyMetric: Metric = classDecisionMetric({ id: 'accuracy', name: 'Accuracy' }, (targets, predictions) => ({
  value: accuracy(targets, predictions),
}));

/** Balanced accuracy of the argmax predictions; detail: each class's recall, `null` for a class absent from the targets. */
export const balancedAccuracyMetric: Metric = classDecisionMetric({ id: 'balanced_accuracy', name: 'Balanced accuracy' }, (targets, predictions, task) => {
  const classCount = task.classes.length;
  return {
    value: balancedAccuracy(targets, predictions, classCount),
    detail: detailByClass(task, recallPerClass(targets, predictions, classCount)),
  };
});

/** Macro F1 of the argmax predictions over every class of the task; detail: each class's F1. */
export const macroF1Metric: Metric = classDecisionMetric({ id: 'macro_f1', name: 'Macro F1' }, (targets, predictions, task) => {
  const classCount = task.classes.length;
  return {
    value: macroF1(targets, predictions, classCount),
    detail: detailByClass(task, f1PerClass(targets, predictions, classCount)),
  };
});

/** Every metric this package defines. */
export const builtInMetrics: readonly Metric[] = [
  aucMetric,
  meanAucMetric,
  kappaMetric,
  linearKappaMetric,
  accuracyMetric,
  balancedAccuracyMetric,
  macroF1Metric,
];

function defaultMetricsFor(task: Task): Metric[] {
  switch (task.type) {
    case 'binary':
      return [aucMetric, accuracyMetric, balancedAccuracyMetric, macroF1Metric];
    case 'multiclass':
      return task.ordinal
        ? [kappaMetric, linearKappaMetric, accuracyMetric, balancedAccuracyMetric, macroF1Metric]
        : [accuracyMetric, balancedAccuracyMetric, macroF1Metric];
    case 'multilabel':
      return [meanAucMetric];
  }
}

/**
 * The metrics that apply to a task, primary first.
 *
 * By default: binary → auc, accuracy, balanced_accuracy, macro_f1; ordinal multiclass → kappa,
 * linear_kappa, accuracy, balanced_accuracy, macro_f1; nominal multiclass → accuracy,
 * balanced_accuracy, macro_f1; multilabel → mean_auc. When `task.primaryMetric` names one of this
 * package's metrics, that one comes first (added if it applies but is not in the default list, an error
 * if it does not apply); a metric id this package does not define is left to whoever defines it.
 */
export function metricsForTask(task: Task): Metric[] {
  const metrics = defaultMetricsFor(task);
  const primary = builtInMetrics.find((metric) => metric.id === task.primaryMetric);
  if (primary === undefined) return metrics;
  const appliesToType = primary.appliesTo.includes(task.type);
  const needsOrdinal = primary === kappaMetric || primary === linearKappaMetric;
  if (!appliesToType || (needsOrdinal && task.type === 'multiclass' && !task.ordinal)) {
    throw new RangeError(
      `metricsForTask: the task's primary metric '${primary.id}' does not apply to a ` +
        `${task.type === 'multiclass' && !task.ordinal ? 'nominal multiclass' : task.type} task`,
    );
  }
  return [primary, ...metrics.filter((metric) => metric !== primary)];
}

export interface ComputedMetrics {
  /** Value of every metric of `metricsForTask(task)`, in that order (primary first). */
  readonly metrics: Record<string, number>;
  /** Per-label values of the multilabel metrics, keyed by metric id then label (`null`: one class only). */
  readonly perLabel?: Record<string, Readonly<Record<string, number | null>>>;
}

/**
 * Every metric that applies to `task` (see `metricsForTask`), on `[n, outputs]` scores against
 * targets. Throws where a metric is undefined on this data (`UndefinedMetricError`, e.g. a binary test
 * split with one class only) rather than leaving it out.
 */
export function computeMetrics(task: Task, targets: TargetArray, scores: Matrix): ComputedMetrics {
  const metrics: Record<string, number> = {};
  const perLabel: Record<string, Readonly<Record<string, number | null>>> = {};
  for (const metric of metricsForTask(task)) {
    const result = metric.compute(targets, scores, task);
    metrics[metric.id] = result.value;
    if (task.type === 'multilabel' && result.detail !== undefined) perLabel[metric.id] = result.detail;
  }
  return task.type === 'multilabel' ? { metrics, perLabel } : { metrics };
}
