import type { Rng } from '@medssl/core';
import * as tf from '@tensorflow/tfjs-core';
import type { FusionKind, ResolvedArchitecture } from './options.js';
import {
  add,
  addConstant,
  concat,
  dropout,
  erf,
  linear,
  matMul,
  mean,
  multiply,
  reshape,
  rsqrt,
  scale,
  softmax,
  stack,
  subtract,
  subtractConstant,
  sum,
  transpose,
} from './operations.js';
import { ParameterFactory, type Dense, type Norm, type Parameter } from './parameters.js';

/** Per-backbone input standardisation: `(x - mean) * inverseScale`, fixed before training. */
export interface Standardization {
  readonly mean: Float32Array;
  readonly inverseScale: Float32Array;
}

export interface ApplyContext {
  readonly training: boolean;
  /** Seeds for dropout masks, one per call; needed when training with dropout. */
  readonly nextSeed?: () => number;
  /** Return the attention probabilities (dvme) or source weights (dme). */
  readonly inspect?: boolean;
}

export interface ModelOutput {
  /** `[batch, outputs]`. */
  readonly logits: tf.Tensor2D;
  /** (dvme, when inspected) Per block, `[batch, heads, sources, sources]`; each row sums to 1. */
  readonly attention?: tf.Tensor4D[];
  /** (dme, when inspected) `[batch, sources]` softmax weights. */
  readonly sourceWeights?: tf.Tensor2D;
}

interface Block {
  readonly attentionNorm: Norm;
  readonly query: Dense;
  readonly key: Dense;
  readonly value: Dense;
  readonly output: Dense;
  readonly mlpNorm: Norm;
  readonly hidden: Dense;
  readonly back: Dense;
}

/** The module kind: a fusion of K sources, or a linear head on one (the single-backbone probe). */
export type ModuleKind = Exclude<FusionKind, 'single'> | 'linear';

/**
 * DVME, DME, concatenation + linear head, or a linear head on one backbone, written with tfjs-core ops.
 *
 * DVME: each backbone's embedding is projected by its own dense layer to `projection`; the K projections
 * form a sequence of K tokens (plus a learned embedding per backbone when asked) that passes through
 * `blocks` pre-norm Transformer blocks (multi-head self-attention across the backbones, then a GELU MLP,
 * each added back to the residual stream); a final layer norm, the K tokens concatenated and projected to
 * `projection`; then the classifier head: GELU, dropout, dense to the outputs.
 *
 * DME (Kiela et al. 2018): the same per-backbone projections; a softmax over backbones of `a · p_k` (one
 * learned vector `a`) weights each sample's projections, which are summed; then the same classifier head.
 */
export class FusionModel {
  readonly parameters: readonly Parameter[];
  private readonly standardization: readonly { mean: tf.Tensor1D; inverseScale: tf.Tensor1D }[] | undefined;
  private readonly projections: readonly Dense[] = [];
  private readonly blocks: readonly Block[] = [];
  private readonly finalNorm?: Norm;
  private readonly sourceEmbedding?: tf.Variable;
  private readonly fuse?: Dense;
  private readonly attentionVector?: tf.Variable;
  private readonly classifier: Dense;

  constructor(
    readonly kind: ModuleKind,
    readonly dimensions: readonly number[],
    readonly outputs: number,
    readonly architecture: ResolvedArchitecture,
    rng: Rng,
    standardization?: readonly Standardization[],
    /** Whether gradients flow back into the inputs (end to end); stored features need none. */
    private readonly inputGradients = false,
  ) {
    if (kind === 'linear' && dimensions.length !== 1) throw new RangeError(`a linear head takes one source, got ${dimensions.length}`);
    if (kind !== 'linear' && dimensions.length < 2) throw new RangeError(`${kind} fuses at least 2 sources, got ${dimensions.length}`);
    const factory = new ParameterFactory(rng);
    const width = architecture.projection;
    const sources = dimensions.length;
    if (kind === 'linear' || kind === 'concat') {
      const total = dimensions.reduce((sum, dimension) => sum + dimension, 0);
      this.classifier = factory.dense('classifier', total, outputs);
    } else {
      this.projections = dimensions.map((dimension, source) => factory.dense(`projection${source}`, dimension, width));
      if (kind === 'dvme') {
        if (architecture.sourceEmbeddings) this.sourceEmbedding = factory.embedding('sourceEmbedding', sources, width);
        const hiddenWidth = width * architecture.mlpRatio;
        this.blocks = Array.from({ length: architecture.blocks }, (_, index) => ({
          attentionNorm: factory.norm(`block${index}.attentionNorm`, width),
          query: factory.dense(`block${index}.attention.query`, width, width),
          key: factory.dense(`block${index}.attention.key`, width, width),
          value: factory.dense(`block${index}.attention.value`, width, width),
          output: factory.dense(`block${index}.attention.output`, width, width),
          mlpNorm: factory.norm(`block${index}.mlpNorm`, width),
          hidden: factory.dense(`block${index}.mlp.hidden`, width, hiddenWidth),
          back: factory.dense(`block${index}.mlp.output`, hiddenWidth, width),
        }));
        this.finalNorm = factory.norm('finalNorm', width);
        this.fuse = factory.dense('fuse', sources * width, width);
      } else {
        this.attentionVector = factory.vector('attention', width);
      }
      this.classifier = factory.dense('classifier', width, outputs);
    }
    this.parameters = factory.parameters;
    if (standardization) {
      if (standardization.length !== sources) throw new RangeError(`standardisation for ${standardization.length} sources, the model has ${sources}`);
      this.standardization = standardization.map(({ mean, inverseScale }) => ({ mean: tf.tensor1d(mean), inverseScale: tf.tensor1d(inverseScale) }));
    }
  }

  /** Projections of each source (for tests that check every one gets a gradient). */
  get projectionWeights(): readonly tf.Variable[] {
    return this.projections.map((projection) => projection.weight);
  }

  /** The forward pass. Call inside `tf.tidy` (or a gradient function): intermediate tensors are not freed here. */
  apply(inputs: readonly tf.Tensor2D[], context: ApplyContext): ModelOutput {
    if (inputs.length !== this.dimensions.length) throw new RangeError(`the model takes ${this.dimensions.length} inputs, got ${inputs.length}`);
    inputs.forEach((input, source) => {
      if (input.shape[1] !== this.dimensions[source]) {
        throw new RangeError(`input ${source + 1} is [${input.shape.join(', ')}], the model expects [batch, ${this.dimensions[source]}]`);
      }
    });
    const standardized = inputs.map((input, source) => {
      const scaling = this.standardization?.[source];
      return scaling ? scale(subtractConstant(input, scaling.mean), scaling.inverseScale) : input;
    });
    switch (this.kind) {
      case 'linear':
      case 'concat': {
        const joined = standardized.length === 1 ? standardized[0]! : (concat(standardized, 1) as tf.Tensor2D);
        return { logits: dense(joined, this.classifier, this.inputGradients) };
      }
      case 'dme':
        return this.applyDme(standardized, context);
      case 'dvme':
        return this.applyDvme(standardized, context);
    }
  }

  private dropout(x: tf.Tensor2D, context: ApplyContext): tf.Tensor2D {
    const rate = this.architecture.dropout;
    if (!context.training || rate === 0) return x;
    if (!context.nextSeed) throw new Error('training with dropout needs a seed source (context.nextSeed)');
    return dropout(x, rate, context.nextSeed());
  }

  /** GELU, dropout, dense: the classifier head on the fused `[batch, projection]` vector. */
  private head(fused: tf.Tensor2D, context: ApplyContext): tf.Tensor2D {
    return dense(this.dropout(gelu(fused), context), this.classifier);
  }

  private applyDme(inputs: readonly tf.Tensor2D[], context: ApplyContext): ModelOutput {
    const batch = inputs[0]!.shape[0];
    const sources = inputs.length;
    const width = this.architecture.projection;
    const projected = stack(
      inputs.map((input, source) => dense(input, this.projections[source]!, this.inputGradients)),
      1,
    ) as tf.Tensor3D; // [B, K, D]
    const scores = reshape<tf.Tensor2D>(matMul(reshape<tf.Tensor2D>(projected, [batch * sources, width]), this.attentionVector!), [batch, sources]);
    const weights = softmax(scores);
    const fused = sum(multiply(projected, reshape(weights, [batch, sources, 1])), 1) as tf.Tensor2D;
    return { logits: this.head(fused, context), ...(context.inspect ? { sourceWeights: weights } : {}) };
  }

  private applyDvme(inputs: readonly tf.Tensor2D[], context: ApplyContext): ModelOutput {
    const batch = inputs[0]!.shape[0];
    const sources = inputs.length;
    const { projection: width, heads } = this.architecture;
    const headWidth = width / heads;
    let tokens = stack(
      inputs.map((input, source) => dense(input, this.projections[source]!, this.inputGradients)),
      1,
    ) as tf.Tensor3D; // [B, K, D]
    if (this.sourceEmbedding) tokens = add(tokens, this.sourceEmbedding);
    let stream = reshape<tf.Tensor2D>(tokens, [batch * sources, width]);
    const attention: tf.Tensor4D[] = [];
    // [B·K, D] → [B·H, K, D/H]: one attention problem per sample and head.
    const splitHeads = (x: tf.Tensor2D) =>
      reshape<tf.Tensor3D>(transpose(reshape<tf.Tensor4D>(x, [batch, sources, heads, headWidth]), [0, 2, 1, 3]), [batch * heads, sources, headWidth]);
    for (const block of this.blocks) {
      const normed = layerNorm(stream, block.attentionNorm);
      const query = splitHeads(dense(normed, block.query));
      const key = splitHeads(dense(normed, block.key));
      const value = splitHeads(dense(normed, block.value));
      const scores = scale(matMul(query, transpose(key, [0, 2, 1])), 1 / Math.sqrt(headWidth));
      const probabilities = softmax(scores); // [B·H, K, K]
      if (context.inspect) attention.push(tf.reshape(probabilities, [batch, heads, sources, sources]) as tf.Tensor4D);
      const mixed = matMul(probabilities, value); // [B·H, K, D/H]
      const merged = reshape<tf.Tensor2D>(transpose(reshape<tf.Tensor4D>(mixed, [batch, heads, sources, headWidth]), [0, 2, 1, 3]), [batch * sources, width]);
      stream = add(stream, this.dropout(dense(merged, block.output), context));
      const hidden = this.dropout(gelu(dense(layerNorm(stream, block.mlpNorm), block.hidden)), context);
      stream = add(stream, this.dropout(dense(hidden, block.back), context));
    }
    const joined = reshape<tf.Tensor2D>(layerNorm(stream, this.finalNorm!), [batch, sources * width]);
    const fused = dense(joined, this.fuse!);
    return { logits: this.head(fused, context), ...(context.inspect ? { attention } : {}) };
  }

  dispose(): void {
    for (const parameter of this.parameters) parameter.variable.dispose();
    for (const scaling of this.standardization ?? []) {
      scaling.mean.dispose();
      scaling.inverseScale.dispose();
    }
  }
}

function dense(x: tf.Tensor2D, layer: Dense, inputGradient = true): tf.Tensor2D {
  return linear(x, layer.weight as tf.Tensor2D, layer.bias as tf.Tensor1D, inputGradient);
}

/** GELU with the exact error function (PyTorch's `nn.GELU()` default). */
function gelu(x: tf.Tensor2D): tf.Tensor2D {
  return multiply(scale(x, 0.5), addConstant(erf(scale(x, Math.SQRT1_2)), 1));
}

/** Layer norm over the last axis, epsilon 1e-5 as PyTorch's `nn.LayerNorm`. */
function layerNorm(x: tf.Tensor2D, norm: Norm): tf.Tensor2D {
  const centered = subtract(x, mean(x, 1, true));
  const variance = mean(multiply(centered, centered), 1, true);
  return add(multiply(multiply(centered, rsqrt(addConstant(variance, 1e-5))), norm.gain), norm.shift);
}
