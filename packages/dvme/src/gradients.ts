// Gradients of the kernels the fusion modules train through.
//
// `@tensorflow/tfjs-core` on its own registers no gradient at all: the `@tensorflow/tfjs` bundle does it
// by importing `tfjs-core/dist/register_all_gradients`, an ES module that Node cannot load from
// tfjs-core's CommonJS package. These are the textbook derivatives of the kernels used here, written for
// this package against tfjs-core's registry API (same kernel names and input names), registered only where
// none is registered yet, so that an application which loads the full tfjs bundle keeps its own. They are
// checked against PyTorch's autograd in model.test.ts.
import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];
/** What a gradient function returns: per input (by name, or by position for Pack and Concat), its gradient. */
type GradientMap = Record<string, () => tf.Tensor>;

/** `dy` summed over the axes a broadcast added, and shaped as the input. */
function unbroadcast(dy: tf.Tensor, inputShape: number[], outputShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(inputShape, outputShape);
  if (axes.length === 0) return tf.reshape(dy, inputShape);
  // A bias or norm gain broadcast over leading axes: sum them with a product.
  const leading = axes.every((axis, index) => axis === index) && axes.length < outputShape.length && outputShape.slice(axes.length).every((extent, index) => extent === inputShape[inputShape.length - (outputShape.length - axes.length) + index]);
  if (leading) return tf.reshape(sumLeadingAxes(dy, axes.length), inputShape);
  return tf.reshape(tf.sum(dy, axes), inputShape);
}

/**
 * The sum of `x` over its first `count` axes, as a product with a row of ones: tfjs-wasm's Sum over a
 * leading axis transposes first (13 ms against 0.4 ms for [768, 2048] here).
 */
export function sumLeadingAxes(x: tf.Tensor, count: number): tf.Tensor {
  const rows = x.shape.slice(0, count).reduce((product, extent) => product * extent, 1);
  const rest = x.shape.slice(count);
  const columns = rest.reduce((product, extent) => product * extent, 1);
  return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(x, [rows, columns])), rest);
}

const gradients: tf.GradConfig[] = [
  {
    // d(AB) by each operand, with the transposes done explicitly: tfjs-wasm's matMul with transposeA or
    // transposeB set runs a slow generic loop.
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attributes) => {
      const [a, b] = saved as Saved;
      const { transposeA, transposeB } = attributes as { transposeA: boolean; transposeB: boolean };
      const gradient = dy as tf.Tensor;
      const t = swapLastAxes;
      if (!transposeA && !transposeB) return { a: () => tf.matMul(gradient, t(b!)), b: () => tf.matMul(t(a!), gradient) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(gradient, b!), b: () => tf.matMul(t(gradient), a!) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b!, t(gradient)), b: () => tf.matMul(a!, gradient) };
      return { a: () => tf.matMul(t(b!), t(gradient)), b: () => tf.matMul(t(gradient), t(a!)) };
    },
  },
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      const shape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a!.shape, shape), b: () => unbroadcast(dy as tf.Tensor, b!.shape, shape) };
    },
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      const shape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      return { a: () => unbroadcast(dy as tf.Tensor, a!.shape, shape), b: () => tf.neg(unbroadcast(dy as tf.Tensor, b!.shape, shape)) };
    },
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      const shape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, asFloat(b!)), a!.shape, shape),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, asFloat(a!)), b!.shape, shape),
      };
    },
  },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, (saved as Saved)[0]!.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attributes) => {
      const { perm } = attributes as { perm: number[] };
      return { x: () => tf.transpose(dy as tf.Tensor, tf.backend_util.getUndoAxesPermutation(perm)) };
    },
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, _saved, attributes) => {
      const { axis } = attributes as { axis: number };
      return tf.unstack(dy as tf.Tensor, axis).map((part) => () => part) as unknown as GradientMap;
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attributes) => {
      const inputs = saved as Saved;
      const { axis } = attributes as { axis: number };
      const resolved = tf.util.parseAxisParam(axis, inputs[0]!.shape)[0]!;
      const parts = tf.split(dy as tf.Tensor, inputs.map((input) => input.shape[resolved]!), resolved);
      return parts.map((part) => () => part) as unknown as GradientMap;
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved, attributes) => {
      const [y] = saved as Saved;
      const { dim } = attributes as { dim: number };
      const dyTimesY = tf.mul(dy as tf.Tensor, y!);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y!)) };
    },
  },
  {
    kernelName: tf.Erf,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as Saved;
      return { x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.exp(tf.neg(tf.square(x!))), 2 / Math.sqrt(Math.PI))) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attributes) => {
      const [x] = saved as Saved;
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, keptShape(x!.shape, (attributes as { axis: number | number[] }).axis)), tf.ones(x!.shape, 'float32')) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attributes) => {
      const [x] = saved as Saved;
      const axes = tf.util.parseAxisParam((attributes as { axis: number | number[] }).axis, x!.shape);
      const reduced = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x!.shape, axes)[1]);
      return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, keptShape(x!.shape, axes)), tf.ones(x!.shape, 'float32')), reduced) };
    },
  },
  {
    kernelName: tf.Rsqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as Saved;
      return { x: () => tf.neg(tf.div(dy as tf.Tensor, tf.mul(tf.pow(x!, 1.5), 2))) };
    },
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as Saved;
      return { x: () => tf.mul(dy as tf.Tensor, asFloat(tf.step(x!))) };
    },
  },
];

/** Float32 as it is (tfjs-wasm's cast to the same dtype copies the data), anything else cast. */
function asFloat(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' ? x : tf.cast(x, 'float32');
}

/** The tensor with its last two axes swapped (a matrix transpose, per batch entry). */
function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, axis) => axis);
  perm[perm.length - 1] = perm.length - 2;
  perm[perm.length - 2] = perm.length - 1;
  return tf.transpose(x, perm);
}

/** The input's shape with the reduced axes kept as 1. */
function keptShape(shape: number[], axis: number | number[]): number[] {
  const kept = shape.slice();
  for (const reduced of tf.util.parseAxisParam(axis, shape)) kept[reduced] = 1;
  return kept;
}

/** Kernels whose gradients this package registers when missing (the ops of the fusion modules). */
export const GRADIENT_KERNELS: readonly string[] = gradients.map((config) => config.kernelName);

/**
 * Registers the gradients the fusion modules need, each only if none is registered for its kernel.
 * Idempotent; training calls it, so callers need not.
 */
export function registerFusionGradients(): void {
  for (const config of gradients) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
}
