import { createRng, outputCount } from '@medssl/core';
import type { TrainableParameter } from '@medssl/training';
import type { Task, Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';

/** Where a batch keeps its channels: `NCHW` as medssl preprocesses, `NHWC` as tfjs convolutions run. */
export type ImageLayout = 'NCHW' | 'NHWC';

/**
 * A backbone that trains: a structural interface, so a `@medssl/runtime-tfjs` trainable model fits it
 * as it is, and so does any small model written with tf ops.
 */
export interface FinetuneBackbone {
  /** Width of the embeddings `embed` returns. */
  readonly dimension: number;
  /** The layout `embed` takes its images in; default `NCHW` (medssl's, and runtime-tfjs models'). */
  readonly inputLayout?: ImageLayout;
  /** The variables finetuning updates, at the backbone's learning rate (frozen stages left out). */
  readonly trainableVariables: readonly tf.Variable[];
  /**
   * Embeddings `[batch, dimension]`. `training` selects batch statistics (and updates the running ones)
   * in batch norms; called inside the gradient tape when true.
   */
  embed(images: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Every value the model needs to be rebuilt exactly (weights and running statistics), by canonical name. */
  canonicalWeights(): Promise<{ readonly tensors: ReadonlyMap<string, Tensor> }>;
  dispose(): void;
}

/**
 * Builds the backbone to finetune: from its pretrained weights when `tensors` is undefined, or from
 * `tensors` (what `canonicalWeights()` returned) when a run resumes or keeps its best epoch.
 */
export type FinetuneBackboneFactory = (tensors?: ReadonlyMap<string, Tensor>) => Promise<FinetuneBackbone>;

/** Decay applies to weight matrices and kernels, not to biases and normalisation scales (rank 1). */
export function trainableParameters(variables: readonly tf.Variable[]): TrainableParameter[] {
  return variables.map((variable) => ({ variable, decay: variable.rank > 1 }));
}

/** Standard deviation of the head's initial weights (as DINO's and MAE's linear heads). */
const HEAD_INIT_STD = 0.01;

/**
 * The linear classifier on the embeddings: one logit per class (softmax cross-entropy, binary tasks
 * included) or per label (one sigmoid each).
 */
export class LinearHead {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  private constructor(weight: tf.Variable<tf.Rank.R2>, bias: tf.Variable<tf.Rank.R1>) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Weights drawn from N(0, 0.01²) with the seed's `finetune/head` stream, biases 0. */
  static initial(dimension: number, outputs: number, seed: number): LinearHead {
    const rng = createRng(seed).fork('finetune/head');
    const values = new Float32Array(dimension * outputs);
    for (let index = 0; index < values.length; index++) values[index] = rng.normal() * HEAD_INIT_STD;
    return LinearHead.fromValues({ data: values, shape: [dimension, outputs] }, { data: new Float32Array(outputs), shape: [outputs] });
  }

  static fromValues(weight: Tensor, bias: Tensor): LinearHead {
    const [dimension, outputs] = weight.shape;
    if (weight.shape.length !== 2 || bias.shape.length !== 1 || bias.shape[0] !== outputs) {
      throw new RangeError(`head: weight [${weight.shape}] and bias [${bias.shape}] do not fit together; expected [dimension, outputs] and [outputs]`);
    }
    // Inside tidy, so that the initial values do not outlive the variables' copies.
    return new LinearHead(
      tf.tidy(() => tf.variable(tf.tensor2d(weight.data, [dimension!, outputs!]), true)),
      tf.tidy(() => tf.variable(tf.tensor1d(bias.data), true)),
    );
  }

  get dimension(): number {
    return this.weight.shape[0];
  }

  get outputs(): number {
    return this.weight.shape[1];
  }

  get variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  logits(embeddings: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(embeddings, this.weight), this.bias);
  }

  async values(): Promise<{ weight: Tensor; bias: Tensor }> {
    return {
      weight: { data: (await this.weight.data()) as Float32Array, shape: [...this.weight.shape] },
      bias: { data: (await this.bias.data()) as Float32Array, shape: [...this.bias.shape] },
    };
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** Checks that a head gives the task's outputs; the error names both counts. */
export function checkHeadFits(task: Task, head: Pick<LinearHead, 'outputs' | 'dimension'>, embeddingDimension: number): void {
  const expected = outputCount(task);
  const unit = task.type === 'multilabel' ? 'labels' : 'classes';
  if (head.outputs !== expected) {
    throw new RangeError(`head: a ${task.type} task with ${expected} ${unit} needs ${expected} outputs, the head has ${head.outputs}`);
  }
  if (head.dimension !== embeddingDimension) {
    throw new RangeError(`head: takes ${head.dimension}-d embeddings, the backbone gives ${embeddingDimension}-d`);
  }
}

/**
 * Mean loss of a batch, from the embeddings through the head: softmax cross-entropy over classes (binary and
 * multiclass), or the mean over labels of one sigmoid cross-entropy each (multilabel). `targets` are class
 * indices `[n]` or 0/1 flags `[n, L]`.
 *
 * One custom-gradient operation with the closed-form gradient (softmax or sigmoid minus the targets):
 * `@tensorflow/tfjs-core` alone registers no gradient functions, and runtime-tfjs models bring only their own.
 */
export function headLoss(task: Task, embeddings: tf.Tensor2D, head: LinearHead, targets: tf.Tensor): tf.Scalar {
  const [rows, outputs] = [embeddings.shape[0], head.outputs];
  if (embeddings.rank !== 2 || embeddings.shape[1] !== head.dimension) {
    throw new RangeError(`loss: the backbone gave embeddings of shape [${embeddings.shape}], the head takes ${head.dimension}-d ones`);
  }
  if (task.type === 'multilabel') {
    if (targets.rank !== 2 || targets.shape[0] !== rows || targets.shape[1] !== outputs) {
      throw new RangeError(`loss: multilabel targets have shape [${targets.shape}]; the head gives [${rows}, ${outputs}]`);
    }
  } else if (targets.rank !== 1 || targets.shape[0] !== rows) {
    throw new RangeError(`loss: class targets have shape [${targets.shape}]; expected [${rows}]`);
  }
  const compute = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weight, bias] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const logits = tf.add(tf.matMul(input, weight), bias);
    let value: tf.Scalar;
    let logitGradient: tf.Tensor2D;
    if (task.type === 'multilabel') {
      const labels = tf.cast(targets, 'float32');
      // max(x, 0) - x·y + log(1 + exp(-|x|)): the stable form of sigmoid cross-entropy.
      const perValue = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      value = tf.mean(perValue) as tf.Scalar;
      logitGradient = tf.div(tf.sub(tf.sigmoid(logits), labels), rows * outputs) as tf.Tensor2D;
    } else {
      const oneHot = tf.oneHot(tf.cast(targets, 'int32') as tf.Tensor1D, outputs);
      const logProbabilities = tf.logSoftmax(logits);
      value = tf.div(tf.neg(tf.sum(tf.mul(oneHot, logProbabilities))), rows) as tf.Scalar;
      logitGradient = tf.div(tf.sub(tf.exp(logProbabilities), oneHot), rows) as tf.Tensor2D;
    }
    save([input, weight, logitGradient]);
    return {
      value,
      gradFunc: (upstream: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedWeight, savedGradient] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const scaled = tf.mul(savedGradient, upstream);
        // Explicit transposes: tfjs-wasm runs transposed matrix products in a slow reference loop.
        return [tf.matMul(scaled, tf.transpose(savedWeight)), tf.matMul(tf.transpose(savedInput), scaled), tf.sum(scaled, 0)];
      },
    };
  });
  return compute(embeddings, head.weight, head.bias) as tf.Scalar;
}

/**
 * What metrics score, from logits `[n, outputs]` (rows in place): for binary tasks `[0, l₁ - l₀]`, whose
 * argmax is the predicted class and whose second column orders rows as the positive-class probability
 * does without rounding near 0 and 1; otherwise the logits themselves.
 */
export function decisionsFromLogits(task: Task, logits: Float32Array, rows: number): Float32Array {
  if (task.type !== 'binary') return logits;
  const decisions = new Float32Array(rows * 2);
  for (let row = 0; row < rows; row++) decisions[row * 2 + 1] = logits[row * 2 + 1]! - logits[row * 2]!;
  return decisions;
}

/** Probabilities from logits: softmax per row for single-label tasks, a sigmoid per value for multilabel. */
export function probabilitiesFromLogits(task: Task, logits: Float32Array, rows: number): Float32Array {
  const outputs = logits.length / rows;
  const probabilities = new Float32Array(logits.length);
  if (task.type === 'multilabel') {
    for (let index = 0; index < logits.length; index++) probabilities[index] = 1 / (1 + Math.exp(-logits[index]!));
    return probabilities;
  }
  for (let row = 0; row < rows; row++) {
    let largest = -Infinity;
    for (let column = 0; column < outputs; column++) largest = Math.max(largest, logits[row * outputs + column]!);
    let total = 0;
    for (let column = 0; column < outputs; column++) total += Math.exp(logits[row * outputs + column]! - largest);
    for (let column = 0; column < outputs; column++) probabilities[row * outputs + column] = Math.exp(logits[row * outputs + column]! - largest) / total;
  }
  return probabilities;
}
