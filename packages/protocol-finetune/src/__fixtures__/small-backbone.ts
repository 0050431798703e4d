import { createRng } from '@medssl/core';
import type { Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainableBackbone, TrainableBackboneFactory } from '@medssl/training';

/**
 * A small trainable backbone with the interface of runtime-tfjs's models (trainable variables, batch norm
 * in train and eval mode with running estimates, canonical weights, dispose), written with tf ops: the
 * NCHW image is average-pooled 4x4 and flattened, then two layers of linear map, batch norm and ReLU give a
 * 16-d embedding. Each layer is one custom-gradient operation, as runtime-tfjs writes its layers
 * (tfjs-core alone registers no gradients).
 */
const POOL = 4;
const WIDTHS = [32, 16] as const;
const MOMENTUM = 0.1;
const EPSILON = 1e-5;

function shapesFor(inputs: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  let previous = inputs;
  WIDTHS.forEach((width, index) => {
    const layer = `layer${index + 1}`;
    shapes.set(`${layer}.weight`, [previous, width]);
    shapes.set(`${layer}.norm.weight`, [width]);
    shapes.set(`${layer}.norm.bias`, [width]);
    shapes.set(`${layer}.norm.running_mean`, [width]);
    shapes.set(`${layer}.norm.running_var`, [width]);
    previous = width;
  });
  return shapes;
}

/** Initial weights for `inputSide`² images: He-scaled linear maps, unit norms, fresh running estimates. */
export function smallBackboneWeights(seed: number, inputSide = 32): Map<string, Tensor> {
  const rng = createRng(seed).fork('small-backbone');
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of shapesFor(3 * (inputSide / POOL) ** 2)) {
    const count = shape.reduce((product, extent) => product * extent, 1);
    const data = new Float32Array(count);
    if (shape.length === 2) {
      const scale = Math.sqrt(2 / shape[0]!);
      for (let index = 0; index < count; index++) data[index] = rng.normal() * scale;
    } else if (name.endsWith('norm.weight') || name.endsWith('running_var')) {
      data.fill(1);
    }
    tensors.set(name, { data, shape });
  }
  return tensors;
}

/** Builds the backbone from canonical tensors (the seed's initial weights when none are given). */
export function smallBackboneFactory(seed = 0, onCreate?: (backbone: TrainableBackbone) => void, inputSide = 32): TrainableBackboneFactory {
  return async (tensors) => {
    const backbone = createSmallBackbone(tensors ?? smallBackboneWeights(seed, inputSide));
    onCreate?.(backbone);
    return backbone;
  };
}

export function createSmallBackbone(tensors: ReadonlyMap<string, Tensor>): TrainableBackbone {
  const inputs = tensors.get('layer1.weight')?.shape[0];
  if (inputs === undefined) throw new Error('small backbone: missing tensor layer1.weight');
  const variables = new Map<string, tf.Variable>();
  for (const [name, shape] of shapesFor(inputs)) {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new Error(`small backbone: missing tensor ${name}`);
    if (tensor.shape.join('x') !== shape.join('x')) throw new Error(`small backbone: ${name} has shape [${tensor.shape}], expected [${shape}]`);
    variables.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(tensor.data, shape), !name.includes('running'))),
    );
  }
  const get = <R extends tf.Rank>(name: string) => variables.get(name)! as tf.Variable<R>;
  let disposed = false;
  return {
    id: 'test:small-backbone',
    dimension: WIDTHS[WIDTHS.length - 1]!,
    inputLayout: 'NCHW',
    trainableVariables: [...variables].filter(([name]) => !name.includes('running')).map(([, variable]) => variable),
    embed(images, training) {
      if (disposed) throw new Error('small backbone: used after dispose()');
      return tf.tidy(() => {
        // Pooling the images needs no gradient: nothing trainable comes before it.
        const pooled = tf.avgPool(tf.transpose(images, [0, 2, 3, 1]) as tf.Tensor4D, POOL, POOL, 'valid');
        let activation = tf.reshape(pooled, [images.shape[0], -1]) as tf.Tensor2D;
        WIDTHS.forEach((_, index) => {
          const layer = `layer${index + 1}`;
          activation = linearNormRelu(
            activation,
            get(`${layer}.weight`),
            get(`${layer}.norm.weight`),
            get(`${layer}.norm.bias`),
            get(`${layer}.norm.running_mean`),
            get(`${layer}.norm.running_var`),
            training,
          );
        });
        return activation;
      });
    },
    async canonicalWeights() {
      const weights = new Map<string, Tensor>();
      for (const [name, variable] of variables) weights.set(name, { data: (await variable.data()) as Float32Array, shape: [...variable.shape] });
      return { tensors: weights };
    },
    dispose() {
      disposed = true;
      for (const variable of variables.values()) variable.dispose();
    },
  };
}

/**
 * relu(batchNorm(x·W)) as one operation. Training: batch statistics, running estimates updated as PyTorch
 * does (unbiased variance); the gradient is batch norm's full one. Evaluation: running estimates.
 */
function linearNormRelu(
  x: tf.Tensor2D,
  weight: tf.Variable<tf.Rank.R2>,
  scale: tf.Variable<tf.Rank.R1>,
  shift: tf.Variable<tf.Rank.R1>,
  runningMean: tf.Variable<tf.Rank.R1>,
  runningVariance: tf.Variable<tf.Rank.R1>,
  training: boolean,
): tf.Tensor2D {
  const compute = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, kernel, gamma, beta] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const save = args[4] as tf.GradSaveFunc;
    const rows = input.shape[0];
    const projected = tf.matMul(input, kernel);
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (training) {
      ({ mean, variance } = tf.moments(projected, 0) as { mean: tf.Tensor1D; variance: tf.Tensor1D });
      runningMean.assign(tf.add(tf.mul(runningMean, 1 - MOMENTUM), tf.mul(mean, MOMENTUM)));
      runningVariance.assign(tf.add(tf.mul(runningVariance, 1 - MOMENTUM), tf.mul(variance, (MOMENTUM * rows) / Math.max(rows - 1, 1))));
    } else {
      mean = runningMean;
      variance = runningVariance;
    }
    const inverseDeviation = tf.rsqrt(tf.add(variance, EPSILON));
    const normalized = tf.mul(tf.sub(projected, mean), inverseDeviation);
    const output = tf.relu(tf.add(tf.mul(normalized, gamma), beta)) as tf.Tensor2D;
    save([input, kernel, gamma, normalized, inverseDeviation, output]);
    return {
      value: output,
      gradFunc: (upstream: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedKernel, savedGamma, savedNormalized, savedInverse, savedOutput] = saved as tf.Tensor2D[];
        const gradient = tf.mul(upstream, tf.step(savedOutput!)); // through the ReLU
        const gammaGradient = tf.sum(tf.mul(gradient, savedNormalized!), 0);
        const betaGradient = tf.sum(gradient, 0);
        // Batch norm's input gradient: (γ/σ)/N · (N·g − Σg − x̂·Σ(g·x̂)).
        const projectedGradient = training
          ? tf.mul(
              tf.div(tf.mul(savedGamma!, savedInverse!), rows),
              tf.sub(tf.sub(tf.mul(gradient, rows), betaGradient), tf.mul(savedNormalized!, gammaGradient)),
            )
          : tf.mul(gradient, tf.mul(savedGamma!, savedInverse!));
        return [tf.matMul(projectedGradient, tf.transpose(savedKernel!)), tf.matMul(tf.transpose(savedInput!), projectedGradient), gammaGradient, betaGradient];
      },
    };
  });
  return compute(x, weight, scale, shift) as tf.Tensor2D;
}
