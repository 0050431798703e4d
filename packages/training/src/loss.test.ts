import type { Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from './__fixtures__/backend.js';
import { classificationLoss, decisionsFromLogits, metricsFromLogits, probabilitiesFromLogits, targetTensor } from './loss.js';

const LOGITS = [2, -1, 0.5, 0.25, -3, 1.5, 0, 4, -2, 1, 1, 1];
const binary: Task = { type: 'binary', classes: ['a', 'b'], primaryMetric: 'auc' };
const multiclass: Task = { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' };
const multilabel: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };

/** The loss and its gradient by the textbook, in float64. */
function reference(task: Task, logits: number[], rows: number, targets: number[]): { loss: number; gradient: number[] } {
  const outputs = logits.length / rows;
  const gradient = new Array<number>(logits.length).fill(0);
  let loss = 0;
  for (let row = 0; row < rows; row++) {
    const values = logits.slice(row * outputs, (row + 1) * outputs);
    if (task.type === 'multilabel') {
      values.forEach((x, label) => {
        const z = targets[row * outputs + label]!;
        loss += (Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)))) / logits.length;
        gradient[row * outputs + label] = (1 / (1 + Math.exp(-x)) - z) / logits.length;
      });
      continue;
    }
    const total = values.reduce((sum, x) => sum + Math.exp(x), 0);
    loss -= Math.log(Math.exp(values[targets[row]!]!) / total) / rows;
    values.forEach((x, output) => (gradient[row * outputs + output] = (Math.exp(x) / total - (output === targets[row] ? 1 : 0)) / rows));
  }
  return { loss, gradient };
}

beforeAll(useCpuBackend);

describe('classificationLoss', () => {
  it.each([
    ['binary', binary, 6, [0, 1, 1, 0, 1, 0]],
    ['multiclass', multiclass, 4, [0, 2, 1, 2]],
    ['multilabel', multilabel, 4, [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0]],
  ] as const)('gives the %s loss and its closed-form gradient', (_, task, rows, targets) => {
    const outputs = LOGITS.length / rows;
    const logits = tf.tensor2d(LOGITS, [rows, outputs]);
    const target =
      task.type === 'multilabel' ? tf.tensor2d(targets as unknown as number[], [rows, outputs]) : tf.tensor1d(targets as unknown as number[], 'int32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => classificationLoss(task, x as tf.Tensor2D, target))(logits);
    const expected = reference(task, LOGITS, rows, targets as unknown as number[]);
    expect(value.dataSync()[0]).toBeCloseTo(expected.loss, 6);
    Array.from(grad.dataSync()).forEach((gradient, index) => expect(gradient).toBeCloseTo(expected.gradient[index]!, 6));
    tf.dispose([logits, target, value, grad]);
  });

  it('names targets that do not fit the logits', () => {
    const logits = tf.zeros([4, 3]) as tf.Tensor2D;
    expect(() => classificationLoss(multiclass, logits, tf.tensor1d([0, 1], 'int32'))).toThrow('loss: class targets have shape [2]; expected [4]');
    expect(() => classificationLoss(multilabel, logits, tf.zeros([4, 2]))).toThrow('loss: multilabel targets have shape [4,2]; the head gives [4, 3]');
  });
});

describe('targets and logits', () => {
  it('makes target tensors of some rows: class indices, or label flags', () => {
    const classes = targetTensor({ type: 'class', data: Int32Array.from([2, 0, 1]), shape: [3] }, [2, 0]);
    expect([classes.dtype, Array.from(classes.dataSync())]).toEqual(['int32', [1, 2]]);
    const labels = targetTensor({ type: 'labels', data: Uint8Array.from([1, 0, 0, 1]), shape: [2, 2] }, [1]);
    expect([labels.dtype, labels.shape, Array.from(labels.dataSync())]).toEqual(['float32', [1, 2], [0, 1]]);
    tf.dispose([classes, labels]);
  });

  it('reads logits as decisions (binary: the log-odds), probabilities and metrics', () => {
    const logits = Float32Array.from([0, 3, 1, -1]);
    expect(decisionsFromLogits(binary, logits, 2)).toEqual({ data: Float32Array.from([0, 3, 0, -2]), shape: [2, 2] });
    expect(decisionsFromLogits(multilabel, logits, 2).data).toBe(logits);
    const softmax = probabilitiesFromLogits(binary, logits, 2);
    expect(softmax.data[1]).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    expect(softmax.data[0]! + softmax.data[1]!).toBeCloseTo(1, 6);
    expect(probabilitiesFromLogits(multilabel, logits, 2).data[3]).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
    expect(metricsFromLogits(binary, { type: 'class', data: Int32Array.from([1, 0]), shape: [2] }, logits).metrics.auc).toBe(1);
  });
});
