import type { Tensor } from '@medssl/spec';
import type * as tf from '@tensorflow/tfjs-core';
import type { TrainableParameter } from './optimizer.js';

/** Where a batch keeps its channels: `NCHW` as medssl preprocesses, `NHWC` as tfjs convolutions run. */
export type ImageLayout = 'NCHW' | 'NHWC';

/**
 * A backbone that trains: what finetuning and end-to-end DVME take. `@medssl/runtime-tfjs`'s models
 * implement it; so can any small model written with tf ops whose operations carry their gradients
 * (see `operation`).
 */
export interface TrainableBackbone {
  /** Backbone id, e.g. `dino:vits16`; names it in results and messages. */
  readonly id: string;
  /** Width of the embeddings `embed` returns. */
  readonly dimension: number;
  /** The layout `embed` takes its images in (runtime-tfjs models: `NCHW`, as medssl preprocesses). */
  readonly inputLayout: ImageLayout;
  /** The variables training updates (frozen stages left out). */
  readonly trainableVariables: readonly tf.Variable[];
  /**
   * Embeddings `[batch, dimension]`. `training` selects batch statistics (and updates the running ones)
   * in batch norms and dropout, as the backbone defines them; called inside the gradient tape when true.
   * It must not dispose `images` (other backbones may read the same tensor).
   */
  embed(images: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Every value the backbone needs to be rebuilt exactly (weights and running statistics), by canonical name. */
  canonicalWeights(): Promise<{ readonly tensors: ReadonlyMap<string, Tensor> }>;
  dispose(): void;
}

/**
 * Builds a backbone to train: from its pretrained weights when `tensors` is undefined, or from `tensors`
 * (what `canonicalWeights()` returned) when a run resumes or comes back to its best epoch.
 */
export type TrainableBackboneFactory = (tensors?: ReadonlyMap<string, Tensor>) => Promise<TrainableBackbone>;

/** AdamW's parameters for variables: decay on weight matrices and kernels, not on biases and norms (rank 1). */
export function trainableParameters(variables: readonly tf.Variable[]): TrainableParameter[] {
  return variables.map((variable) => ({ variable, decay: variable.rank > 1 }));
}

/**
 * Checks the members of a backbone that TypeScript cannot (it may come from JavaScript or a cast). `which`
 * names it in errors, e.g. `finetune: the backbone` or `dvme end to end: source 2 (dino:vits16)`.
 */
export function checkTrainableBackbone(backbone: TrainableBackbone, which: string): void {
  if (!Number.isSafeInteger(backbone.dimension) || backbone.dimension < 1) throw new RangeError(`${which} has dimension ${String(backbone.dimension)}`);
  if (backbone.inputLayout !== 'NCHW' && backbone.inputLayout !== 'NHWC')
    throw new RangeError(`${which} takes images in layout ${JSON.stringify(backbone.inputLayout)}; inputLayout must be NCHW or NHWC`);
  if (typeof backbone.embed !== 'function') throw new TypeError(`${which} has no embed(images, training) method`);
}
