// Shared by the tests: what they take from @medssl/parity (closed-form weights and images, backbones,
// the error measure) and helpers of their own for gradients and measurements.
import type { Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsModel } from '../model.js';

export { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages, formulaValues, relativeError, testBackbone } from '@medssl/parity';

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
export async function canonicalGradients(
  model: TfjsModel,
  images: tf.Tensor4D,
  projection: tf.Tensor2D,
  training: boolean,
): Promise<{ embedding: Float32Array; gradients: ReadonlyMap<string, Tensor> }> {
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
