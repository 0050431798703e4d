// The differentiable operations the fusion modules are written with, each a custom-gradient operation
// of @medssl/training's `operation()`, so that nothing registers gradients with tfjs.
//
// Each mirrors one tfjs kernel and carries the gradient this package used to register for that kernel
// (the textbook derivative, with explicit transposes and leading-axis sums as products for tfjs-wasm):
// the same arithmetic in the same order, so training gives bit-identical results. One operation per
// kernel also keeps tfjs's tape as it was, and with it the order in which tfjs adds up the gradient of a
// tensor used several times (float addition is not associative). Constants (a scale, a dropout mask, the
// input standardisation) are closed over, not inputs: their gradients are never computed.
import { operation } from '@medssl/training';
import * as tf from '@tensorflow/tfjs-core';

// ----- elementwise, broadcasting -----

/** `a + b`, broadcasting. */
export function add<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  return operation<T>([a, b], ([x, y]) => ({
    value: tf.add(x!, y!) as T,
    gradient: (dy) => [unbroadcast(dy, a.shape, shape), unbroadcast(dy, b.shape, shape)],
  }));
}

/** `a − b`, broadcasting. */
export function subtract<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  return operation<T>([a, b], ([x, y]) => ({
    value: tf.sub(x!, y!) as T,
    gradient: (dy) => [unbroadcast(dy, a.shape, shape), tf.neg(unbroadcast(dy, b.shape, shape))],
  }));
}

/** `a · b` elementwise, broadcasting. */
export function multiply<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  return operation<T>([a, b], ([x, y], save) => {
    save([x!, y!]);
    return {
      value: tf.mul(x!, y!) as T,
      gradient: (dy, [savedA, savedB]) => [unbroadcast(tf.mul(dy, savedB!), a.shape, shape), unbroadcast(tf.mul(dy, savedA!), b.shape, shape)],
    };
  });
}

/** `x + constant`. */
export function addConstant<T extends tf.Tensor>(x: T, constant: number): T {
  return operation<T>([x], ([input]) => ({ value: tf.add(input!, constant) as T, gradient: (dy) => [tf.reshape(dy, x.shape)] }));
}

/** `x − constant`, the constant broadcast over `x` (e.g. a mean per feature). */
export function subtractConstant<T extends tf.Tensor>(x: T, constant: tf.Tensor): T {
  return operation<T>([x], ([input]) => ({ value: tf.sub(input!, constant) as T, gradient: (dy) => [tf.reshape(dy, x.shape)] }));
}

/** `x · factor`, the factor a number or a constant tensor broadcast over `x` (a scale per feature, a dropout mask). */
export function scale<T extends tf.Tensor>(x: T, factor: number | tf.Tensor): T {
  return operation<T>([x], ([input], save) => {
    if (typeof factor !== 'number') save([factor]);
    return {
      value: tf.mul(input!, factor) as T,
      gradient: (dy, saved) => [tf.reshape(tf.mul(dy, typeof factor === 'number' ? factor : saved[0]!), x.shape)],
    };
  });
}

/**
 * Inverted dropout as `tf.dropout` computes it (the same mask for the same seed): `x` times a mask of
 * 0 and `1 / (1 − rate)`.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  const keep = 1 - rate;
  const mask = tf.tidy(() => tf.div(tf.floor(tf.add(tf.randomUniform(x.shape, 0, 1, 'float32', seed), keep)), keep));
  try {
    return scale(x, mask);
  } finally {
    mask.dispose();
  }
}

// ----- unary -----

export function erf<T extends tf.Tensor>(x: T): T {
  return operation<T>([x], ([input], save) => {
    save([input!]);
    return {
      value: tf.erf(input!) as T,
      gradient: (dy, [savedX]) => [tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(savedX!))), 2 / Math.sqrt(Math.PI)))],
    };
  });
}

/** `1 / √x`. */
export function rsqrt<T extends tf.Tensor>(x: T): T {
  return operation<T>([x], ([input], save) => {
    save([input!]);
    return { value: tf.rsqrt(input!) as T, gradient: (dy, [savedX]) => [tf.neg(tf.div(dy, tf.mul(tf.pow(savedX!, 1.5), 2)))] };
  });
}

/** Softmax over the last axis. */
export function softmax<T extends tf.Tensor>(x: T): T {
  return operation<T>([x], ([input], save) => {
    const y = tf.softmax(input!) as T;
    save([y]);
    return {
      value: y,
      gradient: (dy, [savedY]) => {
        const dyTimesY = tf.mul(dy, savedY!);
        return [tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [x.rank - 1], true), savedY!))];
      },
    };
  });
}

// ----- reductions -----

/** The sum over `axes`. */
export function sum(x: tf.Tensor, axes: number | number[], keepDims = false): tf.Tensor {
  return operation([x], ([input]) => ({
    value: tf.sum(input!, axes, keepDims),
    gradient: (dy) => [tf.mul(tf.reshape(dy, keptShape(x.shape, axes)), tf.ones(x.shape, 'float32'))],
  }));
}

/** The mean over `axes`. */
export function mean(x: tf.Tensor, axes: number | number[], keepDims = false): tf.Tensor {
  const reduced = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, tf.util.parseAxisParam(axes, x.shape))[1]);
  return operation([x], ([input]) => ({
    value: tf.mean(input!, axes, keepDims),
    gradient: (dy) => [tf.div(tf.mul(tf.reshape(dy, keptShape(x.shape, axes)), tf.ones(x.shape, 'float32')), reduced)],
  }));
}

// ----- products -----

/**
 * `a · b` (matrices, or batches of them), its gradient with explicitly transposed operands: tfjs-wasm's
 * matMul with `transposeA` or `transposeB` set runs a slow generic loop.
 */
export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  return operation<T>([a, b], ([x, y], save) => {
    save([x!, y!]);
    return {
      value: tf.matMul(x!, y!) as unknown as T,
      gradient: (dy, [savedA, savedB]) => [tf.matMul(dy, swapLastAxes(savedB!)), tf.matMul(swapLastAxes(savedA!), dy)],
    };
  });
}

/**
 * `x · weight + bias` for `[rows, inputs]`·`[inputs, outputs]`. With `inputGradient` false, `x` is a
 * constant (stored features): it gets no gradient, which saves a product and a transpose per step.
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, inputGradient = true): tf.Tensor2D {
  const inputs = inputGradient ? [x, weight, bias] : [weight, bias];
  return operation<tf.Tensor2D>(inputs, (_, save) => {
    save([x, weight]);
    return {
      value: tf.add(tf.matMul(x, weight), bias) as tf.Tensor2D,
      gradient: (dy, [input, kernel]) => {
        const parameterGradients = [tf.matMul(tf.transpose(input!), dy), sumLeadingAxes(dy, 1)];
        return inputGradient ? [tf.matMul(dy, tf.transpose(kernel!)), ...parameterGradients] : parameterGradients;
      },
    };
  });
}

// ----- shapes -----

export function reshape<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  return operation<T>([x], ([input]) => ({ value: tf.reshape(input!, shape) as T, gradient: (dy) => [tf.reshape(dy, x.shape)] }));
}

export function transpose<T extends tf.Tensor>(x: T, perm: number[]): T {
  return operation<T>([x], ([input]) => ({
    value: tf.transpose(input!, perm) as T,
    gradient: (dy) => [tf.transpose(dy, tf.backend_util.getUndoAxesPermutation(perm))],
  }));
}

/** The tensors stacked along a new axis. */
export function stack(parts: tf.Tensor[], axis: number): tf.Tensor {
  return operation(parts, (inputs) => ({ value: tf.stack(inputs, axis), gradient: (dy) => tf.unstack(dy, axis) }));
}

/** The tensors joined along an existing axis. */
export function concat(parts: tf.Tensor[], axis: number): tf.Tensor {
  const resolved = tf.util.parseAxisParam(axis, parts[0]!.shape)[0]!;
  return operation(parts, (inputs) => ({
    value: tf.concat(inputs, axis),
    gradient: (dy) =>
      tf.split(
        dy,
        parts.map((part) => part.shape[resolved]!),
        resolved,
      ),
  }));
}

// ----- helpers of the gradients -----

/** `dy` summed over the axes a broadcast added, and shaped as the input. */
function unbroadcast(dy: tf.Tensor, inputShape: number[], outputShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(inputShape, outputShape);
  if (axes.length === 0) return tf.reshape(dy, inputShape);
  // A bias or norm gain broadcast over leading axes: sum them with a product.
  const leading =
    axes.every((axis, index) => axis === index) &&
    axes.length < outputShape.length &&
    outputShape.slice(axes.length).every((extent, index) => extent === inputShape[inputShape.length - (outputShape.length - axes.length) + index]);
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

/** The tensor with its last two axes swapped (a matrix transpose, per batch entry). */
function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, axis) => axis);
  perm[perm.length - 1] = perm.length - 2;
  perm[perm.length - 2] = perm.length - 1;
  return tf.transpose(x, perm);
}

/** The input's shape with the reduced axes kept as 1. */
function keptShape(shape: number[], axes: number | number[]): number[] {
  const kept = shape.slice();
  for (const reduced of tf.util.parseAxisParam(axes, shape)) kept[reduced] = 1;
  return kept;
}
