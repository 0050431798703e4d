import { createRng } from '@medssl/core';
import { computeMetrics, metricsForTask } from '@medssl/metrics';
import type { Matrix, TargetArray, Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import type { FusionModel } from './model.js';
import { AdamW, classificationLoss, scheduleFactor, type ParameterGroup } from '@medssl/training';
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

/**
 * The training loop: AdamW over shuffled batches with a warm-up + cosine schedule, the validation split
 * scored after every epoch, the best epoch's parameters kept, early stop after `patience` epochs without
 * improvement, then the kept model scored on the test split. Every tensor it makes is freed by the end.
 */
export async function train<Batch>(run: TrainingRun<Batch>): Promise<TrainingOutcome> {
  const { task, model, data, training } = run;
  const primary = metricsForTask(task).find((metric) => metric.id === task.primaryMetric);
  if (primary === undefined) {
    throw new RangeError(`${run.name}: the task's primary metric '${task.primaryMetric}' is not one @medssl/metrics computes; early stopping needs it`);
  }
  const variables = run.groups.flatMap((group) => group.parameters.map((parameter) => parameter.variable));
  const optimizer = new AdamW(run.groups, training);
  const rng = createRng(run.seed);
  const shuffleRng = rng.fork('shuffle');
  const dropoutRng = rng.fork('dropout');
  const nextSeed = () => dropoutRng.nextUint32();

  const batchSize = Math.min(training.batchSize, data.trainCount);
  const stepsPerEpoch = Math.ceil(data.trainCount / batchSize);
  const totalSteps = stepsPerEpoch * training.epochs;
  const warmupSteps = training.warmupFraction > 0 ? Math.max(1, Math.round(training.warmupFraction * totalSteps)) : 0;
  const order = Int32Array.from({ length: data.trainCount }, (_, position) => position);

  const history: EpochRecord[] = [];
  let best: { score: number; epoch: number; validation: Record<string, number>; snapshot: tf.Tensor[] } | undefined;
  let stop: TrainingOutcome['stop'] = 'epochs';
  let step = 0;
  try {
    for (let epoch = 1; epoch <= training.epochs; epoch++) {
      const started = performance.now();
      shuffleRng.shuffle(order);
      let lossSum = tf.scalar(0);
      let factor = 0;
      for (let start = 0; start < order.length; start += batchSize) {
        run.signal?.throwIfAborted();
        const positions = order.subarray(start, Math.min(order.length, start + batchSize));
        const batch = await data.loadTrain(positions);
        const targets = targetTensor(task, run.trainTargets, positions);
        factor = scheduleFactor(step++, totalSteps, warmupSteps);
        try {
          const weighted = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => {
              const { logits } = model.apply(data.embed(batch, true), { training: true, nextSeed });
              return classificationLoss(task, logits, targets);
            }, variables);
            optimizer.step(grads, factor);
            return tf.mul(value, positions.length);
          });
          const next = tf.add(lossSum, weighted);
          lossSum.dispose();
          weighted.dispose();
          lossSum = next as tf.Scalar;
        } finally {
          targets.dispose();
          data.dispose(batch);
        }
      }
      const trainLoss = (await lossSum.data())[0]! / data.trainCount;
      lossSum.dispose();
      if (!Number.isFinite(trainLoss)) {
        throw new RangeError(`${run.name}: the training loss is ${trainLoss} at epoch ${epoch}; training diverged (try a lower learningRate than ${training.learningRate})`);
      }
      const validationScores = await scoreSplit(run, 'val', false);
      let validation: Record<string, number>;
      try {
        validation = computeMetrics(task, run.evaluationTargets.val, decisionScores(task, validationScores.logits, run.evaluationTargets.val.shape[0])).metrics;
      } catch (error) {
        throw new RangeError(`${run.name}: cannot score the validation split to stop early: ${(error as Error).message}`);
      }
      const score = validation[task.primaryMetric]!;
      const improved = best === undefined || (primary.higherIsBetter ? score > best.score : score < best.score);
      if (improved) {
        for (const tensor of best?.snapshot ?? []) tensor.dispose();
        // Clones share storage with the variables until the optimizer reassigns them: no copy is made.
        best = { score, epoch, validation, snapshot: variables.map((variable) => variable.clone()) };
      }
      const record: EpochRecord = {
        epoch,
        trainLoss,
        validation: score,
        learningRate: run.groups[run.groups.length - 1]!.learningRate * factor,
        seconds: (performance.now() - started) / 1000,
        tensors: tf.memory().numTensors,
      };
      history.push(record);
      run.onEpoch?.(record);
      if (epoch - best!.epoch >= training.patience && epoch < training.epochs) {
        stop = 'patience';
        break;
      }
    }
    variables.forEach((variable, index) => variable.assign(best!.snapshot[index]!));
    const test = await scoreSplit(run, 'test', true);
    const testTargets = run.evaluationTargets.test;
    const computed = computeMetrics(task, testTargets, decisionScores(task, test.logits, testTargets.shape[0]));
    return {
      history,
      bestEpoch: best!.epoch,
      stop,
      validation: best!.validation,
      test,
      testMetrics: computed.metrics,
      ...(computed.perLabel ? { perLabel: computed.perLabel } : {}),
      scores: probabilities(task, test.logits, testTargets.shape[0]),
    };
  } finally {
    for (const tensor of best?.snapshot ?? []) tensor.dispose();
    optimizer.dispose();
  }
}

/** Runs the model over a split in evaluation mode (no dropout), in batches, and reads the results back. */
export async function scoreSplit<Batch>(run: Pick<TrainingRun<Batch>, 'model' | 'data' | 'training' | 'keepSampleAttention' | 'signal'>, split: EvaluationSplit, inspect: boolean): Promise<SplitScores> {
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
  if (!name) throw new Error(`${where}: no tfjs backend is active; register one first (useTfjsBackend('wasm') of @medssl/runtime-tfjs, or import '@tensorflow/tfjs-backend-wasm' and await tf.setBackend('wasm'))`);
  return name;
}

function targetTensor(task: Task, targets: TargetArray, positions: Int32Array): tf.Tensor {
  if (targets.type === 'class') return tf.tensor1d(Int32Array.from(positions, (position) => targets.data[position]!), 'int32');
  const labels = targets.shape[1];
  const values = new Float32Array(positions.length * labels);
  positions.forEach((position, row) => {
    for (let label = 0; label < labels; label++) values[row * labels + label] = targets.data[position * labels + label]!;
  });
  return tf.tensor2d(values, [positions.length, labels]);
}

/**
 * Scores the metrics read: multilabel logits as they are; for single-label tasks each class's logit minus
 * class 0's, which keeps the argmax and makes a binary task's column 1 the log-odds (probabilities near
 * 0 or 1 round to ties in float32; log-odds do not).
 */
export function decisionScores(task: Task, logits: Float32Array, rows: number): Matrix {
  const outputs = logits.length / rows;
  if (task.type === 'multilabel') return { data: logits, shape: [rows, outputs] };
  const data = new Float32Array(logits.length);
  for (let row = 0; row < rows; row++) {
    const base = logits[row * outputs]!;
    for (let output = 0; output < outputs; output++) data[row * outputs + output] = logits[row * outputs + output]! - base;
  }
  return { data, shape: [rows, outputs] };
}

/** Softmax (single-label) or sigmoid (multilabel) probabilities of logits, computed in float64. */
export function probabilities(task: Task, logits: Float32Array, rows: number): Matrix {
  const outputs = logits.length / rows;
  const data = new Float32Array(logits.length);
  for (let row = 0; row < rows; row++) {
    const offset = row * outputs;
    if (task.type === 'multilabel') {
      for (let output = 0; output < outputs; output++) data[offset + output] = 1 / (1 + Math.exp(-logits[offset + output]!));
      continue;
    }
    let largest = -Infinity;
    for (let output = 0; output < outputs; output++) largest = Math.max(largest, logits[offset + output]!);
    let sum = 0;
    for (let output = 0; output < outputs; output++) sum += Math.exp(logits[offset + output]! - largest);
    for (let output = 0; output < outputs; output++) data[offset + output] = Math.exp(logits[offset + output]! - largest) / sum;
  }
  return { data, shape: [rows, outputs] };
}
