import { createRng, outputCount } from '@medssl/core';
import { operation } from '@medssl/training';
import type { Task, Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';

/** Standard deviation of the head's initial weights (as DINO's and MAE's linear heads). */
const HEAD_INIT_STD = 0.01;

/**
 * The linear classifier on the embeddings: one logit per class (softmax cross-entropy, binary tasks
 * included) or per label (one sigmoid each).
 */
export class LinearHead {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  private constructor(weight: tf.Variable<tf.Rank.R2>, bias: tf.Variable<tf.Rank.R1>) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Weights drawn from N(0, 0.01²) with the seed's `finetune/head` stream, biases 0. */
  static initial(dimension: number, outputs: number, seed: number): LinearHead {
    const rng = createRng(seed).fork('finetune/head');
    const values = new Float32Array(dimension * outputs);
    for (let index = 0; index < values.length; index++) values[index] = rng.normal() * HEAD_INIT_STD;
    return LinearHead.fromValues({ data: values, shape: [dimension, outputs] }, { data: new Float32Array(outputs), shape: [outputs] });
  }

  static fromValues(weight: Tensor, bias: Tensor): LinearHead {
    const [dimension, outputs] = weight.shape;
    if (weight.shape.length !== 2 || bias.shape.length !== 1 || bias.shape[0] !== outputs) {
      throw new RangeError(`head: weight [${weight.shape}] and bias [${bias.shape}] do not fit together; expected [dimension, outputs] and [outputs]`);
    }
    // Inside tidy, so that the initial values do not outlive the variables' copies.
    return new LinearHead(
      tf.tidy(() => tf.variable(tf.tensor2d(weight.data, [dimension!, outputs!]), true)),
      tf.tidy(() => tf.variable(tf.tensor1d(bias.data), true)),
    );
  }

  get dimension(): number {
    return this.weight.shape[0];
  }

  get outputs(): number {
    return this.weight.shape[1];
  }

  get variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  /**
   * `embeddings · weight + bias`, with its gradient (to the embeddings, weight and bias): one
   * custom-gradient operation, so that training needs no registered gradients.
   */
  logits(embeddings: tf.Tensor2D): tf.Tensor2D {
    return operation<tf.Tensor2D>([embeddings, this.weight, this.bias], ([input, weight, bias], save) => {
      save([input!, weight!]);
      return {
        value: tf.add(tf.matMul(input!, weight!), bias!),
        gradient: (dy, [savedInput, savedWeight]) => [
          // Explicit transposes: tfjs-wasm runs transposed matrix products in a slow reference loop.
          tf.matMul(dy, tf.transpose(savedWeight!)),
          tf.matMul(tf.transpose(savedInput!), dy),
          tf.sum(dy, 0),
        ],
      };
    });
  }

  async values(): Promise<{ weight: Tensor; bias: Tensor }> {
    return {
      weight: { data: (await this.weight.data()) as Float32Array, shape: [...this.weight.shape] },
      bias: { data: (await this.bias.data()) as Float32Array, shape: [...this.bias.shape] },
    };
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** Checks that a head gives the task's outputs; the error names both counts. */
export function checkHeadFits(task: Task, head: Pick<LinearHead, 'outputs' | 'dimension'>, embeddingDimension: number): void {
  const expected = outputCount(task);
  const unit = task.type === 'multilabel' ? 'labels' : 'classes';
  if (head.outputs !== expected) {
    throw new RangeError(`head: a ${task.type} task with ${expected} ${unit} needs ${expected} outputs, the head has ${head.outputs}`);
  }
  if (head.dimension !== embeddingDimension) {
    throw new RangeError(`head: takes ${head.dimension}-d embeddings, the backbone gives ${embeddingDimension}-d`);
  }
}

/** Checks that a batch's embeddings fit the head; the error names both widths. */
export function checkEmbeddings(embeddings: tf.Tensor, head: Pick<LinearHead, 'dimension'>): void {
  if (embeddings.rank !== 2 || embeddings.shape[1] !== head.dimension) {
    throw new RangeError(`loss: the backbone gave embeddings of shape [${embeddings.shape}], the head takes ${head.dimension}-d ones`);
  }
}
