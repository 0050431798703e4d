import { createRng, type Rng } from '@medssl/core';
import type { Matrix, TargetArray, Task, Tensor } from '@medssl/spec';
import {
  classificationLoss,
  metricsFromLogits,
  probabilitiesFromLogits,
  targetTensor,
  trainEpochs,
  type EpochPlan,
  type EpochRecord as TrainingEpoch,
  type KeptValues,
  type ParameterGroup,
  type TrainingModel,
} from '@medssl/training';
import * as tf from '@tensorflow/tfjs-core';
import type { FusionModel } from './model.js';
import type { EpochRecord, ResolvedTraining } from './options.js';

export type EvaluationSplit = 'val' | 'test';

/**
 * Where a training loop gets its batches: stored features (frozen backbones) or images through trainable
 * backbones. `load*` prepares a batch outside the gradient tape; `embed` turns it into one `[batch, d_k]`
 * tensor per source inside it (so backbone gradients flow end to end).
 */
export interface BatchSource<Batch> {
  /** Training rows (positions 0..trainCount-1 are shuffled into batches). */
  readonly trainCount: number;
  readonly evaluationCounts: Readonly<Record<EvaluationSplit, number>>;
  loadTrain(positions: Int32Array): Promise<Batch>;
  loadEvaluation(split: EvaluationSplit, rows: Int32Array): Promise<Batch>;
  embed(batch: Batch, training: boolean): tf.Tensor2D[];
  dispose(batch: Batch): void;
}

export interface TrainingRun<Batch> {
  readonly name: string;
  readonly task: Task;
  readonly model: FusionModel;
  /** Every trainable variable in groups; the model's parameters, and end to end the backbones' too. */
  readonly groups: readonly ParameterGroup[];
  readonly data: BatchSource<Batch>;
  /** Targets of the training positions, in position order. */
  readonly trainTargets: TargetArray;
  readonly evaluationTargets: Readonly<Record<EvaluationSplit, TargetArray>>;
  readonly training: ResolvedTraining;
  readonly seed: number;
  readonly signal?: AbortSignal;
  readonly onEpoch?: (record: EpochRecord) => void;
  /** Keep every test sample's attention maps or source weights. */
  readonly keepSampleAttention?: boolean;
}

/** What a model produced on one split. */
export interface SplitScores {
  /** `[n, outputs]` logits. */
  readonly logits: Float32Array;
  /** Attention averaged over the split's samples: per block, `[heads, K, K]` row-major (dvme). */
  readonly attention?: Float32Array[];
  /** Softmax source weights averaged over samples, `[K]` (dme). */
  readonly sourceWeights?: Float32Array;
  /** Per sample: `[n, blocks, heads, K, K]` (dvme) or `[n, K]` (dme), when asked for. */
  readonly sampleAttention?: Float32Array;
}

export interface TrainingOutcome {
  readonly history: EpochRecord[];
  /** 1-based epoch whose parameters were kept (the best validation primary metric). */
  readonly bestEpoch: number;
  readonly stop: 'patience' | 'epochs';
  /** Every metric on the validation split at the best epoch. */
  readonly validation: Record<string, number>;
  readonly test: SplitScores;
  readonly testMetrics: Record<string, number>;
  readonly perLabel?: Record<string, Readonly<Record<string, number | null>>>;
  /** Test probabilities `[n, outputs]`. */
  readonly scores: Matrix;
}

/** A training batch: what `BatchSource.loadTrain` gave, and the targets of its rows. */
interface TrainingBatch<Batch> {
  readonly inputs: Batch;
  readonly targets: tf.Tensor;
}

/**
 * The training loop, @medssl/training's `trainEpochs`: AdamW over shuffled batches with a warm-up + cosine
 * schedule, the validation split scored after every epoch, the best epoch's parameters kept, early stop
 * after `patience` epochs without improvement, then the kept model scored on the test split. Every tensor
 * it makes is freed by the end.
 */
export async function train<Batch>(run: TrainingRun<Batch>): Promise<TrainingOutcome> {
  const { task, data, training } = run;
  const rng = createRng(run.seed);
  const shuffleRng = rng.fork('shuffle');
  const dropoutRng = rng.fork('dropout');
  const history: EpochRecord[] = [];
  const batchSize = Math.min(training.batchSize, data.trainCount);
  const totalSteps = Math.ceil(data.trainCount / batchSize) * training.epochs;
  const trained = await trainEpochs({
    name: run.name,
    task,
    epochs: training.epochs,
    patience: training.patience,
    schedule: { totalSteps, warmupSteps: training.warmupFraction > 0 ? Math.max(1, Math.round(training.warmupFraction * totalSteps)) : 0 },
    optimizer: { beta1: training.beta1, beta2: training.beta2, epsilon: training.epsilon },
    lossReadback: 'epoch',
    build: async (tensors) => {
      if (tensors !== undefined) throw new Error(`${run.name}: a fusion is not rebuilt from tensors; it keeps its best epoch on the device`);
      return fusionTrainee(run, dropoutRng);
    },
    planEpoch: epochPlanner(run, shuffleRng, batchSize),
    validate: () => validationMetrics(run),
    test: () => testOutcome(run),
    diverged: (loss, epoch) =>
      new RangeError(
        `${run.name}: the training loss is ${loss} at epoch ${epoch + 1}; training diverged (try a lower learningRate than ${training.learningRate})`,
      ),
    ...(run.signal ? { signal: run.signal } : {}),
    onEpoch: (record) => {
      history.push(epochRecord(run, record));
      run.onEpoch?.(history[history.length - 1]!);
    },
  });
  if (trained.fromCheckpoint) throw new Error(`${run.name}: a fusion keeps no checkpoints`);
  return {
    ...trained.outcome,
    history,
    bestEpoch: trained.bestEpoch + 1,
    // Patience that runs out at the last epoch is no early stop here.
    stop: trained.stop === 'patience' && history.length < training.epochs ? 'patience' : 'epochs',
    validation: { ...trained.history[trained.bestEpoch]!.validation },
  };
}

/** The fusion (and end to end the backbones) as the loop trains it; the caller keeps and disposes them. */
function fusionTrainee<Batch>(run: TrainingRun<Batch>, dropoutRng: Rng): TrainingModel<TrainingBatch<Batch>> {
  const variables = run.groups.flatMap((group) => group.parameters.map((parameter) => parameter.variable));
  const nextSeed = () => dropoutRng.nextUint32();
  return {
    groups: run.groups,
    loss: (batch) => classificationLoss(run.task, run.model.apply(run.data.embed(batch.inputs, true), { training: true, nextSeed }).logits, batch.targets),
    tensors: async () =>
      new Map<string, Tensor>(
        await Promise.all(
          variables.map(async (variable) => [variable.name, { data: (await variable.data()) as Float32Array, shape: [...variable.shape] }] as const),
        ),
      ),
    keep: () => keepValues(variables),
    dispose: () => undefined,
  };
}

/** Copies of the variables to put back after training. */
function keepValues(variables: readonly tf.Variable[]): KeptValues {
  // Clones share storage with the variables until the optimizer reassigns them: no copy is made.
  const copies = variables.map((variable) => variable.clone());
  return {
    restore: () => variables.forEach((variable, index) => variable.assign(copies[index]!)),
    dispose: () => tf.dispose(copies),
  };
}

/** Each epoch reshuffles the positions of the one before (one stream for the whole run) and batches them. */
function epochPlanner<Batch>(run: TrainingRun<Batch>, shuffleRng: Rng, batchSize: number): () => EpochPlan<TrainingBatch<Batch>> {
  const { data } = run;
  const order = Int32Array.from({ length: data.trainCount }, (_, position) => position);
  return () => {
    shuffleRng.shuffle(order);
    const batches = Array.from({ length: Math.ceil(order.length / batchSize) }, (_, index) =>
      order.subarray(index * batchSize, Math.min(order.length, (index + 1) * batchSize)),
    );
    return {
      batches,
      load: async (positions) => ({ inputs: await data.loadTrain(positions), targets: targetTensor(run.trainTargets, positions) }),
      dispose: (batch) => {
        batch.targets.dispose();
        data.dispose(batch.inputs);
      },
    };
  };
}

async function validationMetrics<Batch>(run: TrainingRun<Batch>): Promise<Record<string, number>> {
  const scores = await scoreSplit(run, 'val', false);
  try {
    return metricsFromLogits(run.task, run.evaluationTargets.val, scores.logits).metrics;
  } catch (error) {
    throw new RangeError(`${run.name}: cannot score the validation split to stop early: ${(error as Error).message}`);
  }
}

async function testOutcome<Batch>(run: TrainingRun<Batch>): Promise<Pick<TrainingOutcome, 'test' | 'testMetrics' | 'perLabel' | 'scores'>> {
  const test = await scoreSplit(run, 'test', true);
  const targets = run.evaluationTargets.test;
  const computed = metricsFromLogits(run.task, targets, test.logits);
  return {
    test,
    testMetrics: computed.metrics,
    ...(computed.perLabel ? { perLabel: computed.perLabel } : {}),
    scores: probabilitiesFromLogits(run.task, test.logits, targets.shape[0]),
  };
}

/** The loop's record of an epoch as this package reports it (1-based, the primary metric, the fusion's learning rate), as it ends. */
function epochRecord<Batch>(run: TrainingRun<Batch>, record: TrainingEpoch): EpochRecord {
  return {
    epoch: record.epoch + 1,
    trainLoss: record.loss,
    validation: record.validation[run.task.primaryMetric]!,
    learningRate: run.groups[run.groups.length - 1]!.learningRate * record.learningRateFactor,
    seconds: record.seconds,
    tensors: tf.memory().numTensors,
  };
}

/** Runs the model over a split in evaluation mode (no dropout), in batches, and reads the results back. */
export async function scoreSplit<Batch>(
  run: Pick<TrainingRun<Batch>, 'model' | 'data' | 'training' | 'keepSampleAttention' | 'signal'>,
  split: EvaluationSplit,
  inspect: boolean,
): Promise<SplitScores> {
  const { model, data } = run;
  const count = data.evaluationCounts[split];
  const sources = model.dimensions.length;
  const outputs = model.outputs;
  const logits = new Float32Array(count * outputs);
  const inspectsAttention = inspect && model.kind === 'dvme';
  const inspectsWeights = inspect && model.kind === 'dme';
  const blocks = inspectsAttention ? model.architecture.blocks : 0;
  const mapSize = model.architecture.heads * sources * sources;
  const attentionSums = Array.from({ length: blocks }, () => new Float64Array(mapSize));
  const weightSums = new Float64Array(inspectsWeights ? sources : 0);
  const perSample = inspectsAttention ? blocks * mapSize : inspectsWeights ? sources : 0;
  const sampleAttention = run.keepSampleAttention && perSample > 0 ? new Float32Array(count * perSample) : undefined;
  for (let start = 0; start < count; start += run.training.evaluationBatchSize) {
    run.signal?.throwIfAborted();
    const end = Math.min(count, start + run.training.evaluationBatchSize);
    const rows = Int32Array.from({ length: end - start }, (_, index) => start + index);
    const batch = await data.loadEvaluation(split, rows);
    let output: { logits: tf.Tensor2D; attention: tf.Tensor4D[]; weights: tf.Tensor2D[] };
    try {
      output = tf.tidy(() => {
        const result = model.apply(data.embed(batch, false), { training: false, inspect: inspectsAttention || inspectsWeights });
        return { logits: result.logits, attention: result.attention ?? [], weights: result.sourceWeights ? [result.sourceWeights] : [] };
      });
    } finally {
      data.dispose(batch);
    }
    try {
      logits.set(await output.logits.data(), start * outputs);
      for (let block = 0; block < output.attention.length; block++) {
        const values = await output.attention[block]!.data();
        const sums = attentionSums[block]!;
        for (let row = 0; row < rows.length; row++) {
          for (let index = 0; index < mapSize; index++) sums[index]! += values[row * mapSize + index]!;
          sampleAttention?.set(values.subarray(row * mapSize, (row + 1) * mapSize), (start + row) * perSample + block * mapSize);
        }
      }
      if (output.weights[0]) {
        const values = await output.weights[0].data();
        for (let row = 0; row < rows.length; row++) for (let source = 0; source < sources; source++) weightSums[source]! += values[row * sources + source]!;
        sampleAttention?.set(values, start * sources);
      }
    } finally {
      tf.dispose([output.logits, ...output.attention, ...output.weights]);
    }
  }
  return {
    logits,
    ...(inspectsAttention ? { attention: attentionSums.map((sums) => Float32Array.from(sums, (value) => value / count)) } : {}),
    ...(inspectsWeights ? { sourceWeights: Float32Array.from(weightSums, (value) => value / count) } : {}),
    ...(sampleAttention ? { sampleAttention } : {}),
  };
}

/** The active tfjs backend's name; an error naming the fix when none is registered (this package registers none). */
export function activeBackend(where: string): string {
  let name: string | undefined;
  try {
    name = tf.getBackend();
  } catch {
    name = undefined;
  }
  if (!name)
    throw new Error(
      `${where}: no tfjs backend is active; register one first (useTfjsBackend('wasm') of @medssl/runtime-tfjs, or import '@tensorflow/tfjs-backend-wasm' and await tf.setBackend('wasm'))`,
    );
  return name;
}
