import type { FeatureSet, TargetArray } from './features.js';
import type { Matrix } from './image.js';
import type { SpecificationVersion } from './version.js';
import type { MetricId, Task, TaskType } from './task.js';

/** What a protocol run produced on the test split. */
export interface ProtocolResult {
  /** Metrics on the test split, keyed by metric id (`auc`, `kappa`, `accuracy`, ...). */
  readonly metrics: Readonly<Record<string, number>>;
  /** The primary metric on the validation split for the selected hyper-parameters. */
  readonly validation: Readonly<Record<string, number>>;
  /** Hyper-parameters chosen on the validation split, e.g. `{ l2: 0.01 }` or `{ k: 20 }`. */
  readonly selected: Readonly<Record<string, number | string>>;
  /** Test-split scores, `[n, outputs]`: probabilities per class or per label. */
  readonly scores?: Matrix;
  /** Per-label values for multilabel tasks (`null` where a label has one class only in the test split). */
  readonly perLabel?: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
}

export interface ProtocolInput {
  readonly task: Task;
  readonly train: FeatureSet;
  readonly val: FeatureSet;
  readonly test: FeatureSet;
  /** Rows of `train` to fit on (a label-fraction subset); every row when absent. */
  readonly trainRows?: Int32Array;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/** An evaluation protocol on frozen features (linear probe, kNN). */
export interface Protocol<Input = ProtocolInput, Result extends ProtocolResult = ProtocolResult> {
  readonly specificationVersion: SpecificationVersion;
  /** e.g. `linear`, `knn`, `finetune`. */
  readonly id: string;
  readonly supports: readonly TaskType[];
  evaluate(input: Input): Promise<Result>;
}

export interface MetricResult {
  readonly value: number;
  /** Per-label or per-class values where the metric has them; `null` where undefined (one class only). */
  readonly detail?: Readonly<Record<string, number | null>>;
}

/** A score of predictions against targets. `scores` are `[n, outputs]` probabilities or logits. */
export interface Metric {
  readonly id: MetricId;
  readonly name: string;
  readonly higherIsBetter: boolean;
  readonly appliesTo: readonly TaskType[];
  compute(targets: TargetArray, scores: Matrix, task: Task): MetricResult;
}

export interface FusionInput {
  readonly task: Task;
  /** One feature set per backbone, the same ids in the same order in every split. */
  readonly train: readonly FeatureSet[];
  readonly val: readonly FeatureSet[];
  readonly test: readonly FeatureSet[];
  readonly trainRows?: Int32Array;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/** Attention between backbones: `weights` is `[heads, sources, sources]` row-major, averaged over samples. */
export interface AttentionMap {
  readonly sources: readonly string[];
  readonly heads: number;
  readonly weights: Float32Array;
}

export interface FusionResult extends ProtocolResult {
  /** Per attention block, in order (DVME). */
  readonly attention?: readonly AttentionMap[];
  /** DME's softmax weight of each source, averaged over the test samples, keyed by backbone id. */
  readonly sourceWeights?: Readonly<Record<string, number>>;
}

/** Combines the embeddings of several backbones into one representation (DVME, DME, concatenation). */
export type Fusion = Protocol<FusionInput, FusionResult>;
