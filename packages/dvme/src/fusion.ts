import { createRng, outputCount } from '@medssl/core';
import { metricsForTask } from '@medssl/metrics';
import type { AttentionMap, FeatureSet, Fusion, FusionInput, FusionResult, TaskType } from '@medssl/spec';
import { SPECIFICATION_VERSION } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { FusionModel, type ModuleKind, type Standardization } from './model.js';
import {
  FUSION_KINDS,
  resolveArchitecture,
  resolveTraining,
  type EpochRecord,
  type FusionKind,
  type FusionOptions,
  type ResolvedArchitecture,
  type ResolvedTraining,
} from './options.js';
import { parameterCount } from './parameters.js';
import { activeBackend, train, type BatchSource, type EvaluationSplit } from './train.js';
import { checkFusionInput, checkTrainingClasses, selectTargets } from './validation.js';

const SUPPORTED: readonly TaskType[] = ['binary', 'multiclass', 'multilabel'];

/** The `@tensorflow/tfjs-core` version this package runs on (for results documents). */
export const TFJS_CORE_VERSION: string = tf.version_core;

/** Everything a fusion run computed: the protocol result and how training went. */
export interface FusionReport {
  readonly kind: FusionKind;
  readonly result: FusionResult;
  /** Source names in input order (backbone ids; a repeated id gets `#2`, ...). */
  readonly sources: readonly string[];
  /** The tfjs backend that ran it (`tf.getBackend()`). */
  readonly backend: string;
  readonly architecture: ResolvedArchitecture;
  readonly training: ResolvedTraining;
  /** Trainable values of the (selected) model. */
  readonly parameterCount: number;
  readonly trainingRows: number;
  /** Per epoch of the (selected) model. */
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly stop: 'patience' | 'epochs';
  /** (single) The validation primary metric of each source's linear head. */
  readonly sourceScores?: Readonly<Record<string, number>>;
  /** (dvme, dme, with `sampleAttention`) Every test sample's attention maps or source weights. */
  readonly sampleAttention?: { readonly data: Float32Array; readonly shape: readonly number[] };
  readonly seconds: number;
}

/**
 * Trains one fusion on stored features (frozen backbones) and scores it on the test split.
 * `single` trains a linear head on each source alone and keeps the one best on the validation split.
 */
export async function fitFusion(input: FusionInput, kind: FusionKind, options: FusionOptions = {}): Promise<FusionReport> {
  if (!FUSION_KINDS.includes(kind)) throw new RangeError(`unknown fusion ${JSON.stringify(kind)}; expected one of ${FUSION_KINDS.join(', ')}`);
  const started = performance.now();
  const architecture = resolveArchitecture(options);
  const training = resolveTraining(options);
  const checked = checkFusionInput(input, kind);
  const { task } = input;
  const trainTargets = selectTargets(input.train[0]!.targets, checked.trainRows);
  checkTrainingClasses(kind, task, trainTargets);
  const backend = activeBackend(kind);

  const runOne = async (sourceIndices: readonly number[], moduleKind: ModuleKind, seedPurpose: string) => {
    const standardization = training.standardize ? sourceIndices.map((source) => standardizationOf(input.train[source]!, checked.trainRows)) : undefined;
    const rng = createRng(input.seed);
    const model = new FusionModel(
      moduleKind,
      sourceIndices.map((source) => checked.dimensions[source]!),
      outputCount(task),
      architecture,
      rng.fork(`${seedPurpose}:init`),
      standardization,
    );
    try {
      const outcome = await train({
        name: kind,
        task,
        model,
        groups: [{ parameters: model.parameters, learningRate: training.learningRate, weightDecay: training.weightDecay }],
        data: featureBatches(input, sourceIndices, checked.trainRows),
        trainTargets,
        evaluationTargets: { val: input.val[0]!.targets, test: input.test[0]!.targets },
        training,
        seed: rng.fork(`${seedPurpose}:training`).nextUint32(),
        ...(input.signal ? { signal: input.signal } : {}),
        ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
        ...(options.sampleAttention ? { keepSampleAttention: true } : {}),
      });
      return { outcome, parameters: parameterCount(model.parameters), blocks: moduleKind === 'dvme' ? architecture.blocks : 0 };
    } finally {
      model.dispose();
    }
  };

  let chosen: Awaited<ReturnType<typeof runOne>>;
  let chosenSource: number | undefined;
  let sourceScores: Record<string, number> | undefined;
  if (kind === 'single') {
    const higherIsBetter = metricsForTask(task).find((metric) => metric.id === task.primaryMetric)?.higherIsBetter ?? true;
    sourceScores = {};
    let best: { run: Awaited<ReturnType<typeof runOne>>; source: number } | undefined;
    for (let source = 0; source < checked.sources.length; source++) {
      const run = await runOne([source], 'linear', `single:${source}`);
      const score = run.outcome.validation[task.primaryMetric]!;
      sourceScores[checked.sources[source]!] = score;
      const bestScore = best?.run.outcome.validation[task.primaryMetric];
      if (bestScore === undefined || (higherIsBetter ? score > bestScore : score < bestScore)) best = { run, source };
    }
    chosen = best!.run;
    chosenSource = best!.source;
  } else {
    chosen = await runOne(
      checked.sources.map((_, source) => source),
      kind,
      kind,
    );
  }

  const { outcome } = chosen;
  const sources = checked.sources;
  const attention: AttentionMap[] | undefined = outcome.test.attention?.map((weights) => ({ sources, heads: architecture.heads, weights }));
  const sourceWeights = outcome.test.sourceWeights
    ? Object.fromEntries(sources.map((source, index) => [source, outcome.test.sourceWeights![index]!]))
    : undefined;
  const result: FusionResult = {
    metrics: outcome.testMetrics,
    validation: outcome.validation,
    selected: {
      epoch: outcome.bestEpoch,
      epochsRun: outcome.history.length,
      stop: outcome.stop,
      ...(chosenSource !== undefined ? { source: sources[chosenSource]! } : {}),
    },
    scores: outcome.scores,
    ...(outcome.perLabel ? { perLabel: outcome.perLabel } : {}),
    ...(attention ? { attention } : {}),
    ...(sourceWeights ? { sourceWeights } : {}),
  };
  const testRows = input.test[0]!.ids.length;
  const sampleShape = kind === 'dvme' ? [testRows, chosen.blocks, architecture.heads, sources.length, sources.length] : [testRows, sources.length];
  return {
    kind,
    result,
    sources,
    backend,
    architecture,
    training,
    parameterCount: chosen.parameters,
    trainingRows: checked.trainRows.length,
    history: outcome.history,
    bestEpoch: outcome.bestEpoch,
    stop: outcome.stop,
    ...(sourceScores ? { sourceScores } : {}),
    ...(outcome.test.sampleAttention ? { sampleAttention: { data: outcome.test.sampleAttention, shape: sampleShape } } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Mean and population standard deviation of each feature over the training rows, in float64; a feature
 * constant over them gets scale 1 (it stays 0 after centring).
 */
export function standardizationOf(set: FeatureSet, rows: Int32Array): Standardization {
  const dimension = set.features.shape[1];
  const { data } = set.features;
  const sum = new Float64Array(dimension);
  for (const row of rows) {
    const offset = row * dimension;
    for (let column = 0; column < dimension; column++) sum[column]! += data[offset + column]!;
  }
  const mean = sum.map((value) => value / rows.length);
  const squares = new Float64Array(dimension);
  for (const row of rows) {
    const offset = row * dimension;
    for (let column = 0; column < dimension; column++) {
      const centered = data[offset + column]! - mean[column]!;
      squares[column]! += centered * centered;
    }
  }
  const inverseScale = new Float32Array(dimension);
  for (let column = 0; column < dimension; column++) {
    const deviation = Math.sqrt(squares[column]! / rows.length);
    inverseScale[column] = deviation > 1e-12 * Math.max(1, Math.abs(mean[column]!)) ? 1 / deviation : 1;
  }
  return { mean: Float32Array.from(mean), inverseScale };
}

/** Batches of stored features: rows copied into fresh arrays and uploaded per batch (memory stays bounded). */
function featureBatches(input: FusionInput, sourceIndices: readonly number[], trainRows: Int32Array): BatchSource<tf.Tensor2D[]> {
  const gather = (sets: readonly FeatureSet[], rows: ArrayLike<number>) =>
    sourceIndices.map((source) => {
      const { data, shape } = sets[source]!.features;
      const dimension = shape[1];
      // A fresh array per batch: some backends keep a reference to the values they are given.
      const values = new Float32Array(rows.length * dimension);
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        values.set(data.subarray(row * dimension, (row + 1) * dimension), index * dimension);
      }
      return tf.tensor2d(values, [rows.length, dimension]);
    });
  return {
    trainCount: trainRows.length,
    evaluationCounts: { val: input.val[0]!.ids.length, test: input.test[0]!.ids.length },
    loadTrain: async (positions) =>
      gather(
        input.train,
        Int32Array.from(positions, (position) => trainRows[position]!),
      ),
    loadEvaluation: async (split: EvaluationSplit, rows) => gather(input[split], rows),
    embed: (batch) => batch,
    dispose: (batch) => tf.dispose(batch),
  };
}

function fusionProtocol(kind: FusionKind, options: FusionOptions): Fusion {
  // Checked when the fusion is made, so that a bad option fails before any data is read.
  resolveArchitecture(options);
  resolveTraining(options);
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: kind,
    supports: SUPPORTED,
    async evaluate(input) {
      return (await fitFusion(input, kind, options)).result;
    },
  };
}

/**
 * DVME: per-backbone projections, self-attention across the backbone tokens, concatenation, classifier.
 * The result's `attention` holds each block's `[heads, K, K]` attention averaged over the test samples.
 */
export function dvme(options: FusionOptions = {}): Fusion {
  return fusionProtocol('dvme', options);
}

/** DME (Kiela et al. 2018): per-backbone projections weighted per sample by a softmax and summed; `sourceWeights` averages the weights over test samples. */
export function dme(options: FusionOptions = {}): Fusion {
  return fusionProtocol('dme', options);
}

/** The standardised features of all backbones side by side, and a linear head. */
export function concatenation(options: FusionOptions = {}): Fusion {
  return fusionProtocol('concat', options);
}

/** A linear head on each backbone alone, trained by the same loop; the best on the validation split is kept. */
export function bestSingleSource(options: FusionOptions = {}): Fusion {
  return fusionProtocol('single', options);
}

/** The fusion of a kind, e.g. from a command-line option. */
export function fusionOf(kind: FusionKind, options: FusionOptions = {}): Fusion {
  if (!FUSION_KINDS.includes(kind)) throw new RangeError(`unknown fusion ${JSON.stringify(kind)}; expected one of ${FUSION_KINDS.join(', ')}`);
  return fusionProtocol(kind, options);
}
