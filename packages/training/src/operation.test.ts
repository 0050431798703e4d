import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from './__fixtures__/backend.js';
import { operation } from './operation.js';

beforeAll(useCpuBackend);

describe('operation', () => {
  it('gives each input a gradient of its own, even where the gradient function returns one tensor twice', () => {
    const [a, b] = [tf.tensor1d([1, 2]), tf.tensor1d([3, 4])];
    const sum = (x: tf.Tensor, y: tf.Tensor) => operation([x, y], ([p, q]) => ({ value: tf.add(p!, q!), gradient: (dy) => [dy, dy] }));
    const before = tf.memory().numTensors;
    const [gradientA, gradientB] = tf.grads((x: tf.Tensor, y: tf.Tensor) => sum(x, y))([a, b]);
    expect(gradientA).not.toBe(gradientB);
    expect([Array.from(gradientA!.dataSync()), Array.from(gradientB!.dataSync())]).toEqual([
      [1, 1],
      [1, 1],
    ]);
    tf.dispose([gradientA!, gradientB!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });
});
