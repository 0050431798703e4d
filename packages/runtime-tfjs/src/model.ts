import {
  embeddingDimension,
  type Architecture,
  type Backbone,
  type CanonicalWeights,
  type EmbeddingDefinition,
  type ResNetArchitecture,
  type Tensor,
  type VisionTransformerArchitecture,
} from '@medssl/spec';
import type { TrainableBackbone } from '@medssl/training';
import { canonicalTensorShapes, checkCanonicalTensors, describeArchitecture, sameArchitecture } from '@medssl/weights';
import * as tf from '@tensorflow/tfjs-core';
import { TFJS_BACKENDS, TfjsBackendError, type TfjsBackendName } from './backend.js';
import { ParameterStore } from './parameters.js';
import { ResNet } from './resnet.js';
import { VisionTransformer, type VisionTransformerEmbedding } from './vision-transformer.js';

/** What the model needs of a backbone (a `Backbone` from a `@medssl/backbone-*` package fits). */
export type TfjsModelBackbone = Pick<Backbone, 'id' | 'architecture' | 'embedding'>;

export interface TfjsModelOptions {
  /** Whether any weight trains (default true). False makes every layer a constant, its batch norm in eval mode. */
  readonly trainable?: boolean;
  /**
   * Layers, counted from the input, that keep their weights (as in mmdetection's ResNet): -1 (default)
   * none; 0 the stem (ResNet's conv1 and bn1; a ViT's patch embedding with class token and positions);
   * n the stem and the first n stages (ResNet `layer1`..`layer<n>`, at most 4) or blocks (ViT, at most
   * its depth). Frozen layers run their batch norm in eval mode and pass no gradient.
   */
  readonly frozenStages?: number;
  /** PyTorch's batch-norm `momentum` for the running estimates (default 0.1). */
  readonly batchNormMomentum?: number;
}

/**
 * A backbone in TensorFlow.js whose weights can train: the interface end-to-end DVME and finetuning use.
 * Tensors live on the tfjs backend active when the model was created.
 */
export interface TfjsModel extends TrainableBackbone {
  /** The backbone id, e.g. `dino:vits16`. */
  readonly id: string;
  readonly architecture: Architecture;
  readonly embedding: EmbeddingDefinition;
  /** Width of the embeddings `embed` returns. */
  readonly dimension: number;
  /** The tfjs backend the model's tensors live on. */
  readonly backend: TfjsBackendName;
  /** The layout `embed` takes images in: NCHW, as medssl's preprocessing produces them. */
  readonly inputLayout: 'NCHW';
  /**
   * Embeddings `[batch, dimension]` of NCHW float32 images `[batch, 3, height, width]` (the layout the
   * medssl preprocessing produces). `training`: batch norm on batch statistics, its running estimates
   * updated (ResNet; a ViT behaves the same either way). Call it inside a gradient tape (e.g.
   * `tf.variableGrads`) to train `trainableVariables`. `images` is not disposed.
   */
  embed(images: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Convolution kernels (HWIO), linear weights (`[inputs, outputs]`), norms' weights and biases, class token and positions. */
  readonly trainableVariables: readonly tf.Variable[];
  /** State that changes without gradients: batch-norm running means and variances. */
  readonly stateVariables: readonly tf.Variable[];
  /** The current weights under canonical names and layouts (for checkpoints and `@medssl/runtime-onnx`). */
  canonicalWeights(): Promise<CanonicalWeights>;
  dispose(): void;
}

/** Checks weights against a backbone: architecture, every canonical tensor, the embedding's dimension. */
export function checkBackboneWeights(backbone: TfjsModelBackbone, weights: CanonicalWeights): number {
  const { architecture } = backbone;
  if (architecture.family === 'model-file')
    throw new Error(`${backbone.id}: TensorFlow.js cannot run a model file (${architecture.path}); use @medssl/runtime-onnx`);
  if (!sameArchitecture(weights.architecture, architecture)) {
    throw new Error(
      `${backbone.id} is a ${describeArchitecture(architecture)}, but the weights from ${weights.source} are for a ${describeArchitecture(weights.architecture)}`,
    );
  }
  checkCanonicalTensors(architecture, weights.tensors, weights.source);
  const dimension = embeddingDimension(architecture, backbone.embedding)!;
  if (dimension !== backbone.embedding.dimension) {
    throw new Error(
      `${backbone.id}: its embedding is ${dimension}-d for a ${describeArchitecture(architecture)}, but the backbone declares ${backbone.embedding.dimension}`,
    );
  }
  return dimension;
}

/** The tfjs backend that is active, if it is one medssl runs on. */
export function activeBackend(owner: string): TfjsBackendName {
  const active = tf.getBackend() as string | undefined;
  if (!active || !(TFJS_BACKENDS as readonly string[]).includes(active)) {
    throw new TfjsBackendError(
      `${owner}: no medssl tfjs backend is active (active: ${active ?? 'none'}); call useTfjsBackend('wasm' | 'cpu' | 'webgpu') first`,
    );
  }
  return active as TfjsBackendName;
}

/** SHA-256 (hex) of canonical tensors: names, shapes and float32 bytes in order. */
async function tensorsDigest(tensors: ReadonlyMap<string, Tensor>): Promise<string> {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [encoder.encode('medssl-canonical-weights/v1\n')];
  for (const [name, tensor] of tensors) {
    parts.push(encoder.encode(`${name} [${tensor.shape.join(',')}]\n`));
    parts.push(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Builds a backbone in TensorFlow.js from canonical weights on the active backend (see
 * `useTfjsBackend`): torchvision's ResNet (any block counts and width) or a ViT in DINO's, DINOv2's or
 * MAE's layout, with the embedding the backbone defines. Weights become variables (`trainableVariables`),
 * except in frozen stages, which hold constants with batch norm folded in.
 */
export function createTfjsModel(backbone: TfjsModelBackbone, weights: CanonicalWeights, options: TfjsModelOptions = {}): TfjsModel {
  const dimension = checkBackboneWeights(backbone, weights);
  const backend = activeBackend(backbone.id);
  const architecture = backbone.architecture as ResNetArchitecture | VisionTransformerArchitecture;
  const trainable = options.trainable ?? true;
  const stages = architecture.family === 'resnet' ? 4 : architecture.depth;
  const frozenStages = options.frozenStages ?? -1;
  if (!Number.isSafeInteger(frozenStages) || frozenStages < -1 || frozenStages > stages) {
    throw new RangeError(`${backbone.id}: frozenStages must be an integer from -1 (none) to ${stages}, got ${String(options.frozenStages)}`);
  }
  const momentum = options.batchNormMomentum ?? 0.1;
  if (!(momentum >= 0 && momentum <= 1)) throw new RangeError(`${backbone.id}: batchNormMomentum must lie in [0, 1], got ${String(options.batchNormMomentum)}`);
  const firstTrainableStage = trainable ? frozenStages + 1 : stages + 1;

  const parameters = new ParameterStore(weights.tensors);
  let network: ResNet | VisionTransformer;
  try {
    network =
      architecture.family === 'resnet'
        ? new ResNet(architecture, parameters, { firstTrainableStage, batchNormMomentum: momentum, name: backbone.id })
        : new VisionTransformer(architecture, parameters, {
            firstTrainableStage,
            trainableNorm: trainable,
            embedding: visionTransformerEmbedding(backbone.embedding),
            name: backbone.id,
          });
  } catch (error) {
    parameters.dispose();
    throw error;
  }
  let disposed = false;

  return {
    id: backbone.id,
    architecture,
    embedding: backbone.embedding,
    dimension,
    backend,
    inputLayout: 'NCHW',
    trainableVariables: parameters.trainable,
    stateVariables: parameters.state,
    embed(images: tf.Tensor4D, training: boolean): tf.Tensor2D {
      if (disposed) throw new Error(`${backbone.id}: the tfjs model has been disposed`);
      const active = tf.getBackend();
      if (active !== backend) throw new TfjsBackendError(`${backbone.id}: the model lives on tfjs backend '${backend}', but '${active}' is active now`);
      if (images.rank !== 4 || images.shape[1] !== 3)
        throw new Error(`${backbone.id}: expected NCHW images of shape [n, 3, height, width], got [${images.shape.join(', ')}]`);
      if (images.dtype !== 'float32') throw new Error(`${backbone.id}: expected float32 images, got ${images.dtype}`);
      return tf.tidy(() => network.forward(images, training));
    },
    async canonicalWeights(): Promise<CanonicalWeights> {
      if (disposed) throw new Error(`${backbone.id}: the tfjs model has been disposed`);
      const tensors = await parameters.export(canonicalTensorShapes(architecture).keys());
      if (!trainable) return { architecture, tensors, sha256: weights.sha256, source: weights.source };
      return { architecture, tensors, sha256: await tensorsDigest(tensors), source: `${weights.source}, trained with @medssl/runtime-tfjs` };
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      parameters.dispose();
    },
  };
}

/** The token layout of a ViT's embedding (`checkBackboneWeights` has already refused every other kind). */
function visionTransformerEmbedding(embedding: EmbeddingDefinition): VisionTransformerEmbedding {
  if (embedding.kind !== 'tokens') throw new Error(`a ViT gives a 'tokens' embedding, not '${embedding.kind}'`);
  const { classTokens, patchMean, tokenNorm, outputNorm } = embedding;
  return { classTokens, patchMean, tokenNorm, outputNorm };
}
