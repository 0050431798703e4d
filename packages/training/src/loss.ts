import { computeMetrics, type ComputedMetrics } from '@medssl/metrics';
import type { Matrix, TargetArray, Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { operation } from './operation.js';

// What a classification head's training needs from the task: its loss, its targets as a tensor, and its
// logits read as the scores metrics take and as probabilities. Shared by finetuning and DVME.

/**
 * Mean loss of a batch of logits `[n, outputs]`: softmax cross-entropy over classes (binary, two outputs,
 * and multiclass), or the mean over rows and labels of one sigmoid cross-entropy each (multilabel).
 * `targets` are class indices `[n]` or 0/1 flags `[n, labels]` (`targetTensor`).
 *
 * One custom-gradient operation with the closed-form gradient, `(softmax(x) − onehot) / n` or
 * `(σ(x) − z) / (n·labels)`. The softmax one is evaluated in the order tfjs's chain of kernel gradients
 * evaluates it (the target's share `−dy/n`, minus its row sum times the softmax), which keeps DVME's
 * results bit-identical to those of its earlier registered gradients.
 */
export function classificationLoss(task: Task, logits: tf.Tensor2D, targets: tf.Tensor): tf.Scalar {
  const [rows, outputs] = logits.shape;
  if (logits.rank !== 2) throw new RangeError(`loss: logits have shape [${logits.shape}]; expected [rows, outputs]`);
  if (task.type === 'multilabel') {
    if (targets.rank !== 2 || targets.shape[0] !== rows || targets.shape[1] !== outputs) {
      throw new RangeError(`loss: multilabel targets have shape [${targets.shape}]; the head gives [${rows}, ${outputs}]`);
    }
    return sigmoidCrossEntropy(logits, targets.dtype === 'float32' ? targets : tf.cast(targets, 'float32'));
  }
  if (targets.rank !== 1 || targets.shape[0] !== rows) throw new RangeError(`loss: class targets have shape [${targets.shape}]; expected [${rows}]`);
  return softmaxCrossEntropy(logits, targets.dtype === 'int32' ? (targets as tf.Tensor1D) : (tf.cast(targets, 'int32') as tf.Tensor1D));
}

// The loss is what callers differentiate, possibly with a gradient of their own: keep it.
const KEEP_OUTPUT_GRADIENT = { releaseOutputGradient: false } as const;

function softmaxCrossEntropy(logits: tf.Tensor2D, classes: tf.Tensor1D): tf.Scalar {
  const [rows, outputs] = logits.shape;
  return operation<tf.Scalar>(
    [logits],
    ([input], save) => {
      const oneHot = tf.cast(tf.oneHot(classes, outputs), 'float32');
      const logProbabilities = tf.logSoftmax(input!);
      save([logProbabilities, oneHot]);
      return {
        value: tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbabilities), 1))) as tf.Scalar,
        gradient: (dy, [savedLogProbabilities, savedOneHot]) => {
          const targetShare = tf.mul(savedOneHot!, tf.div(tf.neg(dy), rows));
          return [tf.sub(targetShare, tf.mul(tf.sum(targetShare, 1, true), tf.exp(savedLogProbabilities!)))];
        },
      };
    },
    KEEP_OUTPUT_GRADIENT,
  );
}

/** max(x, 0) − x·z + log(1 + exp(−|x|)): sigmoid cross-entropy without overflow for large logits. */
function sigmoidCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return operation<tf.Scalar>(
    [logits],
    ([input], save) => {
      save([input!, labels]);
      return {
        value: tf.mean(tf.add(tf.sub(tf.relu(input!), tf.mul(input!, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(input!)))))) as tf.Scalar,
        gradient: (dy, [x, z]) => [tf.mul(dy, tf.div(tf.sub(tf.sigmoid(x!), z!), x!.size))],
      };
    },
    KEEP_OUTPUT_GRADIENT,
  );
}

/** The targets of some rows as a tensor: class indices `[n]` (int32), or 0/1 flags `[n, labels]` (float32). */
export function targetTensor(targets: TargetArray, rows: ArrayLike<number>): tf.Tensor {
  if (targets.type === 'class')
    return tf.tensor1d(
      Int32Array.from(rows, (row) => targets.data[row]!),
      'int32',
    );
  const labels = targets.shape[1];
  const values = new Float32Array(rows.length * labels);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!;
    for (let label = 0; label < labels; label++) values[index * labels + label] = targets.data[row * labels + label]!;
  }
  return tf.tensor2d(values, [rows.length, labels]);
}

/**
 * What metrics score, from logits `[rows, outputs]` (rows in place): for binary tasks `[0, l₁ − l₀]`,
 * whose argmax is the predicted class and whose second column orders rows as the positive-class
 * probability does without rounding to ties near 0 and 1; otherwise the logits themselves.
 */
export function decisionsFromLogits(task: Task, logits: Float32Array, rows: number): Matrix {
  const outputs = logits.length / Math.max(rows, 1);
  if (task.type !== 'binary') return { data: logits, shape: [rows, outputs] };
  const decisions = new Float32Array(rows * 2);
  for (let row = 0; row < rows; row++) decisions[row * 2 + 1] = logits[row * 2 + 1]! - logits[row * 2]!;
  return { data: decisions, shape: [rows, 2] };
}

/** The task's metrics of logits (through `decisionsFromLogits`). */
export function metricsFromLogits(task: Task, targets: TargetArray, logits: Float32Array): ComputedMetrics {
  return computeMetrics(task, targets, decisionsFromLogits(task, logits, targets.shape[0]));
}

/** Probabilities from logits, in float64 then stored as float32: softmax per row for single-label tasks, a sigmoid per value for multilabel. */
export function probabilitiesFromLogits(task: Task, logits: Float32Array, rows: number): Matrix {
  const outputs = logits.length / Math.max(rows, 1);
  const probabilities = new Float32Array(logits.length);
  if (task.type === 'multilabel') {
    for (let index = 0; index < logits.length; index++) probabilities[index] = 1 / (1 + Math.exp(-logits[index]!));
    return { data: probabilities, shape: [rows, outputs] };
  }
  for (let row = 0; row < rows; row++) {
    const offset = row * outputs;
    let largest = -Infinity;
    for (let column = 0; column < outputs; column++) largest = Math.max(largest, logits[offset + column]!);
    let total = 0;
    for (let column = 0; column < outputs; column++) total += Math.exp(logits[offset + column]! - largest);
    for (let column = 0; column < outputs; column++) probabilities[offset + column] = Math.exp(logits[offset + column]! - largest) / total;
  }
  return { data: probabilities, shape: [rows, outputs] };
}
