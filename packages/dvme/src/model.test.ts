// The TypeScript modules against the PyTorch modules of bench/dvme_reference.py, from the same
// parameters (fixture: __fixtures__/make_fixtures.py): outputs, attention, loss, and the gradient of the
// loss for every parameter and input. This also checks the custom-gradient operations of operations.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@medssl/core';
import type { Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from './__fixtures__/backend.js';
import { FusionModel, type ModuleKind } from './model.js';
import { AdamW, classificationLoss as lossOf, scheduleFactor } from '@medssl/training';
import { DEFAULT_ARCHITECTURE, type ResolvedArchitecture } from './options.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface Case {
  task: 'binary' | 'multiclass' | 'multilabel';
  outputs: number;
  dimensions: number[];
  parameters: Record<string, Stored>;
  gradients: Record<string, Stored>;
  inputs: Stored[];
  inputGradients: Stored[];
  targets: number[];
  logits: Stored;
  loss: number;
  attention?: Stored[];
  sourceWeights?: Stored;
}
interface AdamWCase {
  learningRate: number;
  weightDecay: number;
  totalSteps: number;
  warmupSteps: number;
  initial: Record<'weight' | 'bias', Stored>;
  steps: { gradients: Record<'weight' | 'bias', Stored>; factor: number; weight: Stored; bias: Stored }[];
}
const fixtures = JSON.parse(readFileSync(join(import.meta.dirname, '__fixtures__/parity.json'), 'utf8')) as Record<'dvme' | 'dme' | 'concat', Case> & {
  adamw: AdamWCase;
};

const architectures: Record<ModuleKind, ResolvedArchitecture> = {
  dvme: { projection: 8, blocks: 2, heads: 2, mlpRatio: 2, dropout: 0, sourceEmbeddings: true },
  dme: { ...DEFAULT_ARCHITECTURE, projection: 8, dropout: 0 },
  concat: DEFAULT_ARCHITECTURE,
  linear: DEFAULT_ARCHITECTURE,
};

/** This package's parameter name → PyTorch's (bench/dvme_reference.py). */
function torchName(name: string): string {
  if (name === 'attention') return 'attention.weight';
  return name
    .replace(/^projection(\d+)/, 'projections.$1')
    .replace(/^block(\d+)/, 'blocks.$1')
    .replace(/\.gain$/, '.weight')
    .replace(/\.shift$/, '.bias');
}

/** PyTorch keeps linear weights as [out, in]; this package as [in, out]. */
function fromTorch(stored: Stored, name: string): tf.Tensor {
  const tensor = tf.tensor(stored.data, stored.shape);
  if (stored.shape.length !== 2 || name === 'sourceEmbedding') return tensor;
  const transposed = tf.transpose(tensor);
  tensor.dispose();
  return transposed;
}

function taskOf(fixture: Case): Task {
  const names = Array.from({ length: fixture.outputs }, (_, index) => `c${index}`);
  if (fixture.task === 'multilabel') return { type: 'multilabel', labels: names, primaryMetric: 'mean_auc' };
  if (fixture.task === 'binary') return { type: 'binary', classes: names as [string, string], primaryMetric: 'auc' };
  return { type: 'multiclass', classes: names, ordinal: false, primaryMetric: 'accuracy' };
}

function largestDifference(actual: ArrayLike<number>, expected: readonly number[]): { difference: number; scale: number } {
  expect(actual.length).toBe(expected.length);
  let difference = 0;
  let scale = 0;
  expected.forEach((value, index) => {
    difference = Math.max(difference, Math.abs(value - actual[index]!));
    scale = Math.max(scale, Math.abs(value));
  });
  return { difference, scale };
}

beforeAll(useWasmBackend);

describe.each(['dvme', 'dme', 'concat'] as const)('%s module against PyTorch', (kind) => {
  it('computes the same outputs, loss and gradients from the same parameters', () => {
    const fixture = fixtures[kind];
    const task = taskOf(fixture);
    const tensorsBefore = tf.memory().numTensors;
    const model = new FusionModel(kind, fixture.dimensions, fixture.outputs, architectures[kind], createRng(0), undefined, true);
    try {
      expect(model.parameters.map((parameter) => torchName(parameter.name)).sort()).toEqual(Object.keys(fixture.parameters).sort());
      for (const parameter of model.parameters) {
        const value = fromTorch(fixture.parameters[torchName(parameter.name)]!, parameter.name);
        parameter.variable.assign(value);
        value.dispose();
      }
      const inputs = fixture.inputs.map((input) => tf.tensor2d(input.data, input.shape as [number, number]));
      const targets =
        task.type === 'multilabel' ? tf.tensor2d(fixture.targets, [fixture.inputs[0]!.shape[0]!, fixture.outputs]) : tf.tensor1d(fixture.targets, 'int32');
      const output = tf.tidy(() => {
        const result = model.apply(inputs, { training: false, inspect: true });
        return { logits: result.logits, attention: result.attention ?? [], weights: result.sourceWeights ? [result.sourceWeights] : [] };
      });
      const logits = largestDifference(output.logits.dataSync(), fixture.logits.data);
      expect(logits.difference).toBeLessThan(1e-5 * Math.max(1, logits.scale));
      expect(output.attention.length).toBe(fixture.attention?.length ?? 0);
      output.attention.forEach((map, block) => {
        expect(map.shape).toEqual(fixture.attention![block]!.shape);
        expect(largestDifference(map.dataSync(), fixture.attention![block]!.data).difference).toBeLessThan(1e-6);
      });
      if (fixture.sourceWeights) expect(largestDifference(output.weights[0]!.dataSync(), fixture.sourceWeights.data).difference).toBeLessThan(1e-6);

      const variables = model.parameters.map((parameter) => parameter.variable);
      const lossFor = (...xs: tf.Tensor[]) => lossOf(task, model.apply(xs as tf.Tensor2D[], { training: true, nextSeed: () => 0 }).logits, targets);
      const { value, grads } = tf.variableGrads(() => lossFor(...inputs), variables);
      expect(Math.abs(value.dataSync()[0]! - fixture.loss)).toBeLessThan(1e-6);
      for (const parameter of model.parameters) {
        const gradient = grads[parameter.variable.name];
        expect(gradient, `gradient of ${parameter.name}`).toBeDefined();
        const expected = fromTorch(fixture.gradients[torchName(parameter.name)]!, parameter.name);
        const { difference, scale } = largestDifference(gradient!.dataSync(), Array.from(expected.dataSync()));
        expect(difference, `gradient of ${parameter.name}`).toBeLessThan(1e-5 * Math.max(1e-3, scale) + 1e-8);
        expected.dispose();
      }
      const inputGradients = tf.grads(lossFor)(inputs);
      inputGradients.forEach((gradient, source) => {
        const { difference, scale } = largestDifference(gradient.dataSync(), fixture.inputGradients[source]!.data);
        expect(difference, `gradient of input ${source}`).toBeLessThan(1e-5 * Math.max(1e-3, scale) + 1e-8);
      });
      tf.dispose([output.logits, ...output.attention, ...output.weights, value, ...Object.values(grads), ...inputGradients, ...inputs, targets]);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

describe('modules', () => {
  it('give attention rows that sum to 1 and a gradient to every projection, from random initial parameters', () => {
    const dimensions = [6, 3, 5, 4];
    const model = new FusionModel(
      'dvme',
      dimensions,
      2,
      { projection: 16, blocks: 2, heads: 4, mlpRatio: 2, dropout: 0.1, sourceEmbeddings: false },
      createRng(5),
    );
    const rng = createRng(6);
    const inputs = dimensions.map((dimension) =>
      tf.tensor2d(
        Float32Array.from({ length: 9 * dimension }, () => rng.normal()),
        [9, dimension],
      ),
    );
    const targets = tf.tensor1d([0, 1, 0, 1, 1, 0, 0, 1, 1], 'int32');
    const task: Task = { type: 'binary', classes: ['a', 'b'], primaryMetric: 'auc' };
    let seed = 0;
    const { attention } = tf.tidy(() => ({ attention: model.apply(inputs, { training: false, inspect: true }).attention! }));
    expect(attention.map((map) => map.shape)).toEqual([
      [9, 4, 4, 4],
      [9, 4, 4, 4],
    ]);
    for (const map of attention) {
      const values = map.dataSync();
      for (let row = 0; row < values.length / 4; row++) {
        const sum = values[row * 4]! + values[row * 4 + 1]! + values[row * 4 + 2]! + values[row * 4 + 3]!;
        expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
      }
    }
    const { grads } = tf.variableGrads(
      () => lossOf(task, model.apply(inputs, { training: true, nextSeed: () => seed++ }).logits, targets),
      model.parameters.map((parameter) => parameter.variable),
    );
    expect(model.projectionWeights).toHaveLength(4);
    for (const weight of model.projectionWeights) {
      const gradient = grads[weight.name]!;
      expect(gradient.shape).toEqual(weight.shape);
      expect(tf.max(tf.abs(gradient)).dataSync()[0]).toBeGreaterThan(1e-6);
    }
    tf.dispose([...attention, ...Object.values(grads), ...inputs, targets]);
    model.dispose();
  });

  it('refuses inputs that do not match the sources', () => {
    const model = new FusionModel('dme', [3, 4], 2, { ...DEFAULT_ARCHITECTURE, projection: 8 }, createRng(0));
    expect(() => tf.tidy(() => model.apply([tf.zeros([2, 3]) as tf.Tensor2D], { training: false }).logits)).toThrow(/takes 2 inputs, got 1/);
    expect(() => tf.tidy(() => model.apply([tf.zeros([2, 3]), tf.zeros([2, 5])] as tf.Tensor2D[], { training: false }).logits)).toThrow(
      /input 2 is \[2, 5\], the model expects \[batch, 4\]/,
    );
    expect(() => new FusionModel('dvme', [3], 2, DEFAULT_ARCHITECTURE, createRng(0))).toThrow(/dvme fuses at least 2 sources, got 1/);
    model.dispose();
  });
});

describe('AdamW and the schedule', () => {
  it('step as torch.optim.AdamW with a LambdaLR warm-up + cosine schedule', () => {
    const { initial, steps, learningRate, weightDecay, totalSteps, warmupSteps } = fixtures.adamw;
    const weight = tf.variable(tf.tensor(initial.weight.data, initial.weight.shape));
    const bias = tf.variable(tf.tensor(initial.bias.data, initial.bias.shape));
    const optimizer = new AdamW(
      [
        {
          parameters: [
            { variable: weight, decay: true },
            { variable: bias, decay: false },
          ],
          learningRate,
          weightDecay,
        },
      ],
      { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    );
    steps.forEach((step, index) => {
      const factor = scheduleFactor(index, totalSteps, warmupSteps);
      expect(factor).toBeCloseTo(step.factor, 12);
      const gradients = {
        [weight.name]: tf.tensor(step.gradients.weight.data, step.gradients.weight.shape),
        [bias.name]: tf.tensor(step.gradients.bias.data, step.gradients.bias.shape),
      };
      optimizer.step(gradients, factor);
      tf.dispose(Object.values(gradients));
      expect(largestDifference(weight.dataSync(), step.weight.data).difference).toBeLessThan(2e-6);
      expect(largestDifference(bias.dataSync(), step.bias.data).difference).toBeLessThan(2e-6);
    });
    optimizer.dispose();
    tf.dispose([weight, bias]);
  });

  it('warms up linearly and decays along a cosine to 0', () => {
    expect([0, 1, 2, 3].map((step) => scheduleFactor(step, 10, 4))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(scheduleFactor(7, 10, 4)).toBeCloseTo(0.5, 12);
    expect(scheduleFactor(10, 10, 4)).toBeCloseTo(0, 12);
    expect(scheduleFactor(0, 10, 0)).toBe(1);
  });
});
