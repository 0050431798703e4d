import type { Architecture, EmbeddingKind, Tensor } from '@medssl/spec';
import { buildResNetGraph } from './resnet.js';
import { buildVisionTransformerGraph } from './vision-transformer.js';

export const MODEL_INPUT_NAME = 'image';
export const MODEL_OUTPUT_NAME = 'embedding';
const PRODUCER_NAME = '@medssl/runtime-onnx';

export interface OnnxModelOptions {
  /** `[channels, height, width]` of one input image; the graph is built for exactly this size. */
  readonly inputShape: readonly [number, number, number];
  /** `pooled` for ResNets; `cls` or `cls-last-4` for ViTs. */
  readonly embedding: EmbeddingKind;
  /**
   * ViTs: attention as onnxruntime's `Attention` contrib operator (one kernel) instead of standard operators;
   * default false, so that a saved model runs on any ONNX runtime.
   */
  readonly fusedAttention?: boolean;
}

export interface BuiltOnnxModel {
  /** The `.onnx` file's bytes (opset 17), with input `image` and output `embedding`. */
  readonly bytes: Uint8Array;
  readonly inputName: string;
  readonly outputName: string;
  readonly dimension: number;
}

/** The embedding dimension an architecture gives for an embedding kind, or an error naming what fits. */
export function embeddingDimension(architecture: Architecture, embedding: EmbeddingKind): number {
  if (architecture.family === 'resnet') {
    if (embedding !== 'pooled') throw new Error(`a ResNet gives the 'pooled' embedding, not '${embedding}'`);
    return 2048 * architecture.widthMultiplier;
  }
  if (embedding === 'cls') return architecture.embedDim;
  if (embedding === 'cls-last-4') return 4 * architecture.embedDim;
  throw new Error(`a ViT gives the 'cls' or 'cls-last-4' embedding, not '${embedding}'`);
}

/**
 * Builds the ONNX model of an architecture from canonical tensors (checked beforehand, e.g. with
 * `checkCanonicalTensors`). The bytes can be run here or saved as an `.onnx` file.
 */
export function buildOnnxModel(architecture: Architecture, tensors: ReadonlyMap<string, Tensor>, options: OnnxModelOptions): BuiltOnnxModel {
  const [channels, height, width] = options.inputShape;
  if (channels !== 3) throw new Error(`the built models take 3 input channels, not ${channels}`);
  const dimension = embeddingDimension(architecture, options.embedding);
  const graph =
    architecture.family === 'resnet'
      ? buildResNetGraph(architecture, tensors, height, width)
      : buildVisionTransformerGraph(architecture, tensors, height, width, options.embedding as 'cls' | 'cls-last-4', { fusedAttention: options.fusedAttention ?? false });
  return { bytes: graph.encode(PRODUCER_NAME), inputName: MODEL_INPUT_NAME, outputName: MODEL_OUTPUT_NAME, dimension };
}
