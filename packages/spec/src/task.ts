/**
 * What a dataset asks a model to predict.
 *
 * Targets are class indices into `classes` for `binary` and `multiclass`, and 0/1 flags per entry of
 * `labels` for `multilabel`. Class 1 of a binary task is the positive class (the one AUC scores).
 */
export type Task = BinaryTask | MulticlassTask | MultilabelTask;

export type TaskType = Task['type'];

/** Identifiers of the metrics defined by `@medssl/metrics`; plugins may name others. */
export type MetricId = 'auc' | 'mean_auc' | 'kappa' | 'linear_kappa' | 'accuracy' | 'balanced_accuracy' | 'macro_f1' | (string & {});

export interface BinaryTask {
  readonly type: 'binary';
  /** `[negative, positive]`, e.g. `['normal', 'tumour']`. */
  readonly classes: readonly [string, string];
  /** The metric a protocol selects hyper-parameters on and reports first. */
  readonly primaryMetric: MetricId;
}

export interface MulticlassTask {
  readonly type: 'multiclass';
  readonly classes: readonly string[];
  /** Classes are ordered grades (e.g. diabetic retinopathy 0..4), so a kappa with weights applies. */
  readonly ordinal: boolean;
  readonly primaryMetric: MetricId;
}

export interface MultilabelTask {
  readonly type: 'multilabel';
  /** One independent binary label each, e.g. the 14 ChestX-ray14 findings. */
  readonly labels: readonly string[];
  readonly primaryMetric: MetricId;
}

/** A single-label target is a class index; a multilabel target holds one 0/1 flag per label. */
export type Target = number | Uint8Array;
