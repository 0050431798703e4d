import type { SplitName } from './dataset.js';
import type { Matrix } from './image.js';
import type { Preprocessing } from './preprocessing.js';
import type { Task } from './task.js';

/** Class indices of a single-label task, `[n]` (stored as int32 `targets.npy`). */
export interface ClassTargets {
  readonly type: 'class';
  readonly data: Int32Array;
  readonly shape: readonly [rows: number];
}

/** 0/1 flags of a multilabel task, `[n, labels]` row-major (stored as uint8 `targets.npy`). */
export interface LabelTargets {
  readonly type: 'labels';
  readonly data: Uint8Array;
  readonly shape: readonly [rows: number, labels: number];
}

export type TargetArray = ClassTargets | LabelTargets;

/** What `manifest.json` of a stored feature set says: enough to know exactly how it was made. */
export interface FeatureManifest {
  readonly format: 'medssl.features/v1';
  readonly dataset: { readonly id: string; readonly version: string };
  readonly task: Task;
  readonly split: SplitName;
  readonly backbone: string;
  readonly weightsSha256: string;
  readonly preprocessing: Preprocessing;
  readonly runtime: { readonly id: string; readonly provider: string; readonly precision: string };
  readonly count: number;
  readonly dimension: number;
  /** ISO 8601 time the extraction finished. */
  readonly created: string;
}

/** Embeddings of one split by one backbone, with targets and sample ids in the same row order. */
export interface FeatureSet {
  readonly features: Matrix;
  readonly targets: TargetArray;
  readonly ids: readonly string[];
  readonly manifest: FeatureManifest;
}
