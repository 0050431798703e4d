// End-to-end mode with two tiny convolutional backbones written with tfjs-core ops (stand-ins for
// @medssl/runtime-tfjs's trainable models): a patch convolution (stride = kernel size, computed as one
// matrix product over the image's patches), ReLU, flattened; one custom-gradient operation of
// @medssl/training, as runtime-tfjs writes its layers.
import { createRng } from '@medssl/core';
import type { Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from './__fixtures__/backend.js';
import { operation, type TrainableBackbone } from '@medssl/training';
import { trainEndToEnd, type EndToEndInput, type ImageSplit } from './index.js';

const SIZE = 8;
const task: Task = { type: 'binary', classes: ['left', 'right'], primaryMetric: 'auc' };

function patchConvNet(id: string, patch: number, filters: number, seed: number): TrainableBackbone {
  const rng = createRng(seed);
  const inputs = patch * patch;
  const kernel = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: inputs * filters }, () => rng.normal() * Math.sqrt(2 / inputs)),
      [inputs, filters],
    ),
    true,
    `${id}/kernel`,
  );
  const bias = tf.variable(tf.zeros([filters]), true, `${id}/bias`);
  const patches = (SIZE / patch) ** 2;
  return {
    id,
    dimension: patches * filters,
    inputLayout: 'NHWC',
    trainableVariables: [kernel, bias],
    embed(images) {
      const batch = images.shape[0];
      const blocks = SIZE / patch;
      // [B, H, W, 1] → [B, H/p, p, W/p, p] → [B, H/p, W/p, p, p] → one row per patch.
      const rows = tf.reshape(tf.transpose(tf.reshape(images, [batch, blocks, patch, blocks, patch]), [0, 1, 3, 2, 4]), [
        batch * patches,
        inputs,
      ]) as tf.Tensor2D;
      // relu(rows · kernel + bias), flattened per image; the images need no gradient.
      return operation<tf.Tensor2D>([kernel, bias], ([weight, offset], save) => {
        const activations = tf.relu(tf.add(tf.matMul(rows, weight!), offset!));
        save([rows, activations]);
        return {
          value: tf.reshape(activations, [batch, patches * filters]),
          gradient: (dy, [savedRows, savedActivations]) => {
            const gradient = tf.mul(tf.reshape(dy, savedActivations!.shape), tf.step(savedActivations!));
            return [tf.matMul(tf.transpose(savedRows!), gradient), tf.sum(gradient, 0)];
          },
        };
      });
    },
    async canonicalWeights() {
      return {
        tensors: new Map([
          ['kernel', { data: (await kernel.data()) as Float32Array, shape: [...kernel.shape] }],
          ['bias', { data: (await bias.data()) as Float32Array, shape: [...bias.shape] }],
        ]),
      };
    },
    dispose() {
      tf.dispose([kernel, bias]);
    },
  };
}

/** 8×8 grey images: class 1 when the right half is brighter than the left, under pixel noise. */
function imageSplit(rows: number, seed: number): ImageSplit {
  const rng = createRng(seed);
  const pixels = new Float32Array(rows * SIZE * SIZE);
  const classes = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const contrast = rng.normal() * 0.6;
    classes[row] = contrast > 0 ? 1 : 0;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) pixels[(row * SIZE + y) * SIZE + x] = (x < SIZE / 2 ? -contrast : contrast) + rng.normal();
    }
  }
  return {
    targets: { type: 'class', data: classes, shape: [rows] },
    async images(batchRows) {
      const values = new Float32Array(batchRows.length * SIZE * SIZE);
      batchRows.forEach((row, index) => values.set(pixels.subarray(row * SIZE * SIZE, (row + 1) * SIZE * SIZE), index * SIZE * SIZE));
      return tf.tensor4d(values, [batchRows.length, SIZE, SIZE, 1]);
    },
  };
}

const options = { projection: 16, heads: 2, mlpRatio: 2, epochs: 12, batchSize: 32, learningRate: 3e-3, patience: 12 };

beforeAll(useWasmBackend);

describe('trainEndToEnd', () => {
  it('trains the backbones with the fusion, the backbones at their own (lower) learning rate', async () => {
    const sources = [patchConvNet('tiny:patch4', 4, 6, 1), patchConvNet('tiny:patch2', 2, 3, 2)];
    const initial = sources.flatMap((source) => source.trainableVariables.map((variable) => Array.from(variable.dataSync())));
    const input: EndToEndInput = { task, sources, train: imageSplit(400, 1), val: imageSplit(120, 2), test: imageSplit(200, 3), seed: 0 };
    const tensorsBefore = tf.memory().numTensors;
    const epochTensors: number[] = [];
    const report = await trainEndToEnd(input, { ...options, sourceLearningRate: 1e-3, onEpoch: (record) => epochTensors.push(record.tensors) });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(new Set(epochTensors).size).toBe(1);
    expect(report.result.metrics.auc).toBeGreaterThan(0.85);
    expect(report.learningRates).toEqual({ sources: 1e-3, fusion: 3e-3 });
    expect(report.parameterCount.sources).toBe(16 * 6 + 6 + 4 * 3 + 3);
    expect(report.sources).toEqual(['tiny:patch4', 'tiny:patch2']);
    expect(report.result.attention![0]!.weights).toHaveLength(2 * 2 * 2);
    expect(report.backend).toBe('wasm');
    // Gradients reached every backbone variable: all of them moved.
    sources
      .flatMap((source) => source.trainableVariables)
      .forEach((variable, index) => {
        const moved = Math.max(...Array.from(variable.dataSync(), (value, position) => Math.abs(value - initial[index]![position]!)));
        expect(moved, variable.name).toBeGreaterThan(1e-4);
      });
    sources.forEach((source) => source.dispose());
  });

  it('leaves the backbones as they are at a backbone learning rate of 0, and repeats itself for a seed', async () => {
    const run = async () => {
      const sources = [patchConvNet('tiny:a', 4, 4, 1), patchConvNet('tiny:b', 2, 2, 2)];
      const initial = sources.flatMap((source) => source.trainableVariables.map((variable) => Array.from(variable.dataSync())));
      const report = await trainEndToEnd(
        { task, sources, train: imageSplit(200, 1), val: imageSplit(80, 2), test: imageSplit(80, 3), seed: 4 },
        { ...options, epochs: 3, fusion: 'dme', sourceLearningRate: 0 },
      );
      const after = sources.flatMap((source) => source.trainableVariables.map((variable) => Array.from(variable.dataSync())));
      sources.forEach((source) => source.dispose());
      return { report, initial, after };
    };
    const first = await run();
    expect(first.after).toEqual(first.initial);
    expect(Object.keys(first.report.result.sourceWeights!)).toEqual(['tiny:a', 'tiny:b']);
    const second = await run();
    expect(second.report.result.metrics).toEqual(first.report.result.metrics);
  });

  it('names what is wrong', async () => {
    const one = patchConvNet('tiny:one', 4, 2, 1);
    const base = { task, train: imageSplit(40, 1), val: imageSplit(20, 2), test: imageSplit(20, 3), seed: 0 };
    await expect(trainEndToEnd({ ...base, sources: [one] })).rejects.toThrow(/fuses at least 2 backbones, got 1 \(K = 1\)/);
    const lying = { ...patchConvNet('tiny:lying', 2, 2, 3), dimension: 5 };
    await expect(trainEndToEnd({ ...base, sources: [one, lying] }, options)).rejects.toThrow(
      /source 2 \(tiny:lying\) embedded 40 images as \[40, 32\], expected \[40, 5\]/,
    );
    await expect(trainEndToEnd({ ...base, sources: [one, one] }, options)).rejects.toThrow(/a variable appears in the trainableVariables of two sources/);
    one.dispose();
    lying.dispose();
  });
});
