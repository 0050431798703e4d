// A small model for the loop's tests: a linear classifier on seeded synthetic features, trained on the
// cpu backend. Its one layer is an `operation()`, as medssl's models write theirs.
import { createRng } from '@medssl/core';
import type { BinaryTask, Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { metricsFromLogits, classificationLoss, targetTensor } from '../loss.js';
import type { EpochLoop, EpochPlan, KeptValues, TrainingModel } from '../loop.js';
import { operation } from '../operation.js';
import { trainableParameters } from '../backbone.js';

export const TASK: BinaryTask = { type: 'binary', classes: ['negative', 'positive'], primaryMetric: 'auc' };
const FEATURES = 6;

export interface Split {
  readonly features: Float32Array;
  readonly targets: { type: 'class'; data: Int32Array; shape: [number] };
}

/** Rows whose class is the sign of a noisy sum of the first two features. */
export function syntheticSplit(rows: number, seed: number): Split {
  const rng = createRng(seed);
  const features = Float32Array.from({ length: rows * FEATURES }, () => rng.normal());
  const classes = Int32Array.from({ length: rows }, (_, row) => (features[row * FEATURES]! + features[row * FEATURES + 1]! + rng.normal() > 0 ? 1 : 0));
  return { features, targets: { type: 'class', data: classes, shape: [rows] } };
}

export interface LinearModel extends TrainingModel<{ x: tf.Tensor2D; targets: tf.Tensor }> {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  logits(x: tf.Tensor2D): tf.Tensor2D;
}

/** The classifier, from tensors or seeded initial weights; `keepOnDevice` makes it keep its best epoch with `keep()`. */
export function linearModel(tensors: ReadonlyMap<string, Tensor> | undefined, keepOnDevice: boolean): LinearModel {
  const rng = createRng(11);
  const initial = tensors?.get('weight') ?? { data: Float32Array.from({ length: FEATURES * 2 }, () => rng.normal() * 0.1), shape: [FEATURES, 2] };
  const weight = tf.tidy(() => tf.variable(tf.tensor(initial.data, [...initial.shape])));
  const bias = tf.tidy(() => tf.variable(tf.tensor(tensors?.get('bias')?.data ?? new Float32Array(2), [2])));
  const logits = (x: tf.Tensor2D) =>
    operation<tf.Tensor2D>([weight, bias], ([w, b], save) => {
      save([x]);
      return { value: tf.add(tf.matMul(x, w!), b!), gradient: (dy, [input]) => [tf.matMul(tf.transpose(input!), dy), tf.sum(dy, 0)] };
    });
  const variables = [weight, bias];
  return {
    weight,
    bias,
    logits,
    groups: [{ parameters: trainableParameters(variables), learningRate: 0.05, weightDecay: 0.01 }],
    loss: (batch) => classificationLoss(TASK, logits(batch.x), batch.targets),
    tensors: async () =>
      new Map(variables.map((variable, index) => [index === 0 ? 'weight' : 'bias', { data: variable.dataSync() as Float32Array, shape: [...variable.shape] }])),
    ...(keepOnDevice ? { keep: () => keepVariables(variables) } : {}),
    dispose: () => tf.dispose(variables),
  };
}

function keepVariables(variables: tf.Variable[]): KeptValues {
  const copies = variables.map((variable) => variable.clone());
  return { restore: () => variables.forEach((variable, index) => variable.assign(copies[index]!)), dispose: () => tf.dispose(copies) };
}

/** Logits of a split's rows, in one pass. */
export function splitLogits(model: LinearModel, split: Split): Float32Array {
  const rows = split.targets.shape[0];
  const logits = tf.tidy(() => model.logits(tf.tensor2d(split.features, [rows, FEATURES])));
  try {
    return logits.dataSync() as Float32Array;
  } finally {
    logits.dispose();
  }
}

export interface LoopSetup {
  readonly train: Split;
  readonly val: Split;
  readonly test: Split;
  readonly keepOnDevice?: boolean;
  readonly batchSize?: number;
}

/** A loop over the synthetic splits: each epoch's order from its own stream, test AUC as the outcome. */
export function linearLoop(
  setup: LoopSetup,
  overrides: Partial<EpochLoop<{ x: tf.Tensor2D; targets: tf.Tensor }, LinearModel, number>> = {},
): EpochLoop<{ x: tf.Tensor2D; targets: tf.Tensor }, LinearModel, number> {
  const rows = setup.train.targets.shape[0];
  const batchSize = setup.batchSize ?? 16;
  const epochs = overrides.epochs ?? 6;
  return {
    name: 'test loop',
    task: TASK,
    epochs,
    patience: 3,
    schedule: { totalSteps: epochs * Math.ceil(rows / batchSize), warmupSteps: 2 },
    lossReadback: 'step',
    build: async (tensors) => linearModel(tensors, setup.keepOnDevice ?? false),
    planEpoch: (epoch) => plan(setup.train, batchSize, epoch),
    validate: async (model) => metricsFromLogits(TASK, setup.val.targets, splitLogits(model, setup.val)).metrics,
    test: async (model) => metricsFromLogits(TASK, setup.test.targets, splitLogits(model, setup.test)).metrics.auc!,
    diverged: (loss, epoch, step) => new Error(`test loop: loss ${loss} at epoch ${epoch}, step ${step}`),
    ...overrides,
  };
}

function plan(split: Split, batchSize: number, epoch: number): EpochPlan<{ x: tf.Tensor2D; targets: tf.Tensor }> {
  const order = createRng(5)
    .fork(`test/epoch-${epoch}`)
    .shuffle(Int32Array.from({ length: split.targets.shape[0] }, (_, row) => row));
  return {
    batches: Array.from({ length: Math.ceil(order.length / batchSize) }, (_, index) => order.subarray(index * batchSize, (index + 1) * batchSize)),
    load: async (rows) => {
      const values = new Float32Array(rows.length * FEATURES);
      rows.forEach((row, index) => values.set(split.features.subarray(row * FEATURES, (row + 1) * FEATURES), index * FEATURES));
      return { x: tf.tensor2d(values, [rows.length, FEATURES]), targets: targetTensor(split.targets, rows) };
    },
    dispose: (batch) => tf.dispose([batch.x, batch.targets]),
  };
}
