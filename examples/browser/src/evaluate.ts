// Embeddings + labels + splits → a linear probe or kNN, its test metrics, a ROC curve and a label-fraction
// curve. No DOM here, so Node computes the same results for the comparison with the page.
import { evaluateLabelFractions } from '@medssl/core';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import type { ClassTargets, FeatureManifest, FeatureSet, Matrix, Preprocessing, Protocol, Task } from '@medssl/spec';
import type { SplitName, SplitRows } from './labels.js';

export type ProtocolName = 'linear' | 'knn';

export const PROTOCOL_NAMES: Readonly<Record<ProtocolName, string>> = {
  linear: 'Linear probe (logistic regression, L2 chosen on val)',
  knn: 'k-nearest neighbours (cosine, k chosen on val)',
};

/** Label fractions of the training split the page also fits on, to show how the probe grows with labels. */
export const LABEL_FRACTIONS: readonly number[] = [0.1, 0.25, 0.5, 1];

export function createProtocol(name: ProtocolName): Protocol {
  if (name === 'linear') return linearProbe();
  if (name === 'knn') return knnProbe();
  throw new RangeError(`unknown protocol ${JSON.stringify(name)}; expected linear or knn`);
}

/** One point of a ROC curve: the false and true positive rates at one score threshold. */
export interface RocPoint {
  readonly falsePositiveRate: number;
  readonly truePositiveRate: number;
}

export interface LabelFractionPoint {
  readonly fraction: number;
  readonly trainCount: number;
  /** The task's primary metric on the test split. */
  readonly value: number;
}

export interface ProbeResults {
  readonly protocol: ProtocolName;
  readonly primaryMetric: string;
  /** Test metrics of the probe fitted on the whole training split, primary first. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metrics on val for the selected hyper-parameter. */
  readonly validation: Readonly<Record<string, number>>;
  /** The hyper-parameter chosen on val (`l2` or `k`). */
  readonly selected: Readonly<Record<string, number | string>>;
  /** Binary tasks: the test ROC curve of the full-data probe, from (0, 0) to (1, 1). */
  readonly roc?: readonly RocPoint[];
  readonly labelFractions: readonly LabelFractionPoint[];
  readonly seconds: number;
}

export interface EvaluateOptions {
  readonly task: Task;
  readonly features: Matrix;
  readonly targets: ClassTargets;
  readonly ids: readonly string[];
  readonly splits: SplitRows;
  readonly protocol: ProtocolName;
  readonly seed: number;
  /** What the features are, for the feature sets' manifests. */
  readonly provenance: Pick<FeatureManifest, 'backbone' | 'weightsSha256' | 'preprocessing' | 'runtime'>;
  readonly signal?: AbortSignal;
}

/**
 * Fits the protocol on train (its hyper-parameter chosen on val) and scores test; then again on nested,
 * stratified, seeded fractions of train, for the label-fraction curve.
 */
export async function evaluateEmbeddings(options: EvaluateOptions): Promise<ProbeResults> {
  const { task, protocol: protocolName, seed, signal } = options;
  const started = performance.now();
  const protocol = createProtocol(protocolName);
  const set = (split: SplitName) => featureSet(options, split);
  const input = { task, train: set('train'), val: set('val'), test: set('test'), ...(signal ? { signal } : {}) };
  const full = await protocol.evaluate({ ...input, seed });
  const smallerFractions = LABEL_FRACTIONS.filter((fraction) => fraction < 1);
  const { rows } = await evaluateLabelFractions({
    protocol,
    input,
    pool: input.train,
    dataset: 'folder',
    fractions: smallerFractions,
    seeds: [seed],
    ...(signal ? { signal } : {}),
  });
  const primary = task.primaryMetric;
  const labelFractions: LabelFractionPoint[] = [
    ...rows.map((row) => ({ fraction: row.fraction, trainCount: row.trainCount, value: row.metrics[primary]! })),
    { fraction: 1, trainCount: input.train.ids.length, value: full.metrics[primary]! },
  ];
  return {
    protocol: protocolName,
    primaryMetric: primary,
    metrics: full.metrics,
    validation: full.validation,
    selected: full.selected,
    ...(task.type === 'binary' && full.scores ? { roc: rocCurve(input.test.targets as ClassTargets, positiveScores(full.scores)) } : {}),
    labelFractions,
    seconds: (performance.now() - started) / 1000,
  };
}

function featureSet(options: EvaluateOptions, split: SplitName): FeatureSet {
  const rows = options.splits[split];
  const dimension = options.features.shape[1];
  const data = new Float32Array(rows.length * dimension);
  rows.forEach((row, index) => data.set(options.features.data.subarray(row * dimension, (row + 1) * dimension), index * dimension));
  return {
    features: { data, shape: [rows.length, dimension] },
    targets: { type: 'class', data: Int32Array.from(rows, (row) => options.targets.data[row]!), shape: [rows.length] },
    ids: Array.from(rows, (row) => options.ids[row]!),
    manifest: {
      format: 'medssl.features/v1',
      dataset: { id: 'folder', version: 'browser' },
      task: options.task,
      split,
      ...options.provenance,
      count: rows.length,
      dimension,
      created: new Date().toISOString(),
    },
  };
}

/** The positive class's score per row: the last of two columns, or the only column. */
function positiveScores(scores: Matrix): Float32Array {
  const [rows, columns] = scores.shape;
  if (columns === 1) return scores.data;
  return Float32Array.from({ length: rows }, (_, row) => scores.data[row * columns + columns - 1]!);
}

/** The ROC curve's corners: one point per distinct score, highest first, so tied scores make one diagonal step. */
export function rocCurve(targets: ClassTargets, scores: Float32Array): RocPoint[] {
  const order = Array.from(scores.keys()).sort((left, right) => scores[right]! - scores[left]!);
  const positives = targets.data.reduce((count, target) => count + (target === 1 ? 1 : 0), 0);
  const negatives = targets.data.length - positives;
  const points: RocPoint[] = [{ falsePositiveRate: 0, truePositiveRate: 0 }];
  let truePositives = 0;
  let falsePositives = 0;
  order.forEach((row, position) => {
    if (targets.data[row] === 1) truePositives++;
    else falsePositives++;
    const next = order[position + 1];
    if (next === undefined || scores[next] !== scores[row]) {
      points.push({ falsePositiveRate: falsePositives / negatives, truePositiveRate: truePositives / positives });
    }
  });
  return points;
}

/** Preprocessing in words, for the results. */
export function describePreprocessing(preprocessing: Preprocessing): string {
  const parts: string[] = [];
  if (preprocessing.resize) {
    const { size, interpolation } = preprocessing.resize;
    parts.push(typeof size === 'number' ? `shorter side to ${size} (${interpolation})` : `resize to ${size[0]}x${size[1]} (${interpolation})`);
  }
  if (preprocessing.centerCrop !== undefined) {
    const crop = preprocessing.centerCrop;
    parts.push(`centre crop ${typeof crop === 'number' ? `${crop}x${crop}` : `${crop[0]}x${crop[1]}`}`);
  }
  parts.push(preprocessing.normalize ? 'ImageNet mean/std' : '[0, 1] pixels, no mean/std');
  return parts.join(', ');
}
