// Shared by the tests: the PyTorch reference fixtures, the closed-form weights and images that
// @medssl/runtime-onnx's parity fixtures are made from (regenerated bit for bit), and the measurements.
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@medssl/spec';
import { readCheckpointFile } from '@medssl/weights/node';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsModel } from '../model.js';

export { testBackbone } from '../../../runtime-onnx/src/__fixtures__/backbones.js';
export { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages, formulaValues } from '../../../runtime-onnx/src/__fixtures__/formula-weights.js';

export const fixturePath = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
export const onnxFixturePath = (name: string) => fileURLToPath(new URL(`../../../runtime-onnx/src/__fixtures__/${name}`, import.meta.url));

/** The float32 arrays of an npz file by name. */
export async function readArrays(path: string): Promise<ReadonlyMap<string, Tensor>> {
  return (await readCheckpointFile(path)).stateDict;
}

/** Largest difference relative to the largest reference magnitude: the scale of the output, not of one element. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`comparing ${actual.length} values with ${expected.length}`);
  let difference = 0;
  let scale = 0;
  for (let index = 0; index < expected.length; index++) {
    difference = Math.max(difference, Math.abs(actual[index]! - expected[index]!));
    scale = Math.max(scale, Math.abs(expected[index]!));
  }
  return scale > 0 ? difference / scale : difference;
}

/** Every `step`-th value, as the fixtures store large gradients. */
export function everyNth(values: Float32Array, step: number): Float32Array {
  return step === 1 ? values : Float32Array.from({ length: Math.ceil(values.length / step) }, (_, index) => values[index * step]!);
}

/** NCHW values as NHWC. */
export function nchwToNhwc(values: Float32Array, [batch, channels, height, width]: readonly number[]): Float32Array {
  const result = new Float32Array(values.length);
  for (let n = 0; n < batch!; n++)
    for (let c = 0; c < channels!; c++)
      for (let y = 0; y < height!; y++)
        for (let x = 0; x < width!; x++) result[((n * height! + y) * width! + x) * channels! + c] = values[((n * channels! + c) * height! + y) * width! + x]!;
  return result;
}

/** `sum(x ⊙ projection)` with its gradient: tfjs-core registers no gradient for mul and sum by itself. */
export function weightedSum(x: tf.Tensor, projection: tf.Tensor): tf.Scalar {
  return tf.customGrad((input: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.sum(tf.mul(input as tf.Tensor, projection)) as tf.Scalar,
    gradFunc: (dy: tf.Scalar) => tf.mul(dy, projection),
  }))(x);
}

/**
 * One train- or eval-mode forward of `images` and the gradient of `sum(embedding ⊙ projection)` for every
 * trainable variable, read back under canonical names and layouts (the model's own export, fed the
 * gradients in place of the weights: the model is spent afterwards).
 */
export async function canonicalGradients(model: TfjsModel, images: tf.Tensor4D, projection: tf.Tensor2D, training: boolean): Promise<{ embedding: Float32Array; gradients: ReadonlyMap<string, Tensor> }> {
  let embedding: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    embedding = tf.keep(model.embed(images, training));
    return weightedSum(embedding, projection);
  }, [...model.trainableVariables]);
  value.dispose();
  const values = (await embedding!.data()) as Float32Array;
  embedding!.dispose();
  for (const variable of model.trainableVariables) {
    const gradient = grads[variable.name];
    if (!gradient) throw new Error(`no gradient for ${variable.name}`);
    variable.assign(gradient);
  }
  tf.dispose(grads);
  return { embedding: values, gradients: (await model.canonicalWeights()).tensors };
}

/** Measurements printed once a test file ends (vitest shows them in its output). */
export function measurements(title: string): { record(line: string): void; print(): void } {
  const lines: string[] = [];
  return { record: (line) => lines.push(line), print: () => lines.length > 0 && console.log(`${title}:\n  ${lines.join('\n  ')}`) };
}
