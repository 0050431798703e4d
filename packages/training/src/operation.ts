// The one way medssl gives tfjs operations their gradients: `tf.customGrad` operations made by
// `operation()`. `@tensorflow/tfjs-core` on its own registers no gradient functions (the
// `@tensorflow/tfjs` bundle does, through a module Node cannot load from tfjs-core's CommonJS build), and
// registering kernel gradients globally would change every other tfjs user in the process. So every
// operation on a path to a trainable variable carries its own gradient, and nothing registers anything
// by import or call.
import * as tf from '@tensorflow/tfjs-core';

/** Keeps tensors for the gradient: everything a gradient reads must be saved or closed over. */
export type SaveTensors = (tensors: tf.Tensor[]) => void;

/** The inputs' gradients (one per input, in order) from the output's gradient `dy` and the saved tensors. */
export type OperationGradient = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

export interface OperationOptions {
  /**
   * Dispose the output's gradient once the inputs' gradients exist (default). Off for an operation whose
   * output may be what a caller differentiates with a gradient of its own (a model's embedding, a loss).
   */
  readonly releaseOutputGradient?: boolean;
}

/**
 * One custom-gradient operation: `forward` gets the inputs and a save function and returns the value
 * and the gradient, which must return one tensor per input, in order. Tensors that need no gradient
 * (images, running statistics, constants) are closed over rather than passed as inputs.
 */
export function operation<T extends tf.Tensor>(
  inputs: tf.Tensor[],
  forward: (inputs: tf.Tensor[], save: SaveTensors) => { value: T; gradient: OperationGradient },
  options: OperationOptions = {},
): T {
  const release = options.releaseOutputGradient ?? true;
  const custom = tf.customGrad<T>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const { value, gradient } = forward(args as tf.Tensor[], save);
    return {
      value,
      gradFunc: (dy: T, saved: tf.Tensor[]) => {
        // tfjs calls gradient functions outside any scope of their own: without this tidy, every
        // intermediate of every gradient would live until the whole backward pass ends.
        const gradients = tf.tidy(() => gradient(dy, saved));
        // tfjs files each returned tensor as an input's gradient and disposes it when that input's own
        // gradient is released: each must be a tensor of its own, and not dy when dy is released.
        const distinct = gradients.map((grad, index) => ((release && grad === dy) || gradients.indexOf(grad) < index ? grad.clone() : grad));
        if (release) dy.dispose();
        return distinct;
      },
    };
  });
  return custom(...inputs);
}
