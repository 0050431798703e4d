import { embeddingDimension, type Architecture, type EmbeddingLayout, type Tensor } from '@medssl/spec';
import { buildResNetGraph } from './resnet.js';
import { buildVisionTransformerGraph, type VisionTransformerEmbedding } from './vision-transformer.js';

export const MODEL_INPUT_NAME = 'image';
export const MODEL_OUTPUT_NAME = 'embedding';
const PRODUCER_NAME = '@medssl/runtime-onnx';
const EXTERNAL_DATA_ABOVE = 1.5 * 2 ** 30;
const EXTERNAL_DATA_FILE = 'weights.bin';

export interface OnnxModelOptions {
  /** `[channels, height, width]` of one input image; the graph is built for exactly this size. */
  readonly inputShape: readonly [number, number, number];
  /** `pooled` for ResNets, the tokens it takes for ViTs. */
  readonly embedding: EmbeddingLayout;
  /**
   * ViTs: attention as onnxruntime's `Attention` contrib operator (one kernel) instead of standard operators;
   * default false, so that a saved model runs on any ONNX runtime.
   */
  readonly fusedAttention?: boolean;
  /**
   * Initializer bytes from which the weights go to an external data file rather than into the model
   * (protobuf cannot hold 2 GiB): default 1.5 GiB, which only ViT-g/14 and ViT-H/14 pass.
   */
  readonly externalDataAbove?: number;
}

/** The file that holds a model's weights beside it, when they are too large for the model itself. */
export interface OnnxExternalData {
  /** Its name, relative to the model's folder, as the model refers to it. */
  readonly location: string;
  readonly parts: readonly Uint8Array[];
  readonly byteLength: number;
}

export interface BuiltOnnxModel {
  /** The `.onnx` file's bytes (opset 17), with input `image` and output `embedding`. */
  readonly bytes: Uint8Array;
  /** Present for models whose weights live beside them (`externalDataAbove`): save both, load by path. */
  readonly externalData?: OnnxExternalData;
  readonly inputName: string;
  readonly outputName: string;
  readonly dimension: number;
}

/**
 * Builds the ONNX model of an architecture from canonical tensors (checked beforehand, e.g. with
 * `checkCanonicalTensors`). The bytes can be run here or saved as an `.onnx` file.
 */
export function buildOnnxModel(architecture: Architecture, tensors: ReadonlyMap<string, Tensor>, options: OnnxModelOptions): BuiltOnnxModel {
  const [channels, height, width] = options.inputShape;
  if (channels !== 3) throw new Error(`the built models take 3 input channels, not ${channels}`);
  if (architecture.family === 'model-file') throw new Error(`a model file is run as it is, not built: ${architecture.path}`);
  const dimension = embeddingDimension(architecture, options.embedding)!;
  const graph =
    architecture.family === 'resnet'
      ? buildResNetGraph(architecture, tensors, height, width)
      : buildVisionTransformerGraph(architecture, tensors, height, width, visionTransformerEmbedding(options.embedding), {
          fusedAttention: options.fusedAttention ?? false,
        });
  const names = { inputName: MODEL_INPUT_NAME, outputName: MODEL_OUTPUT_NAME, dimension };
  if (graph.initializerBytes <= (options.externalDataAbove ?? EXTERNAL_DATA_ABOVE)) return { bytes: graph.encode(PRODUCER_NAME), ...names };
  const { model, ...externalData } = graph.encodeWithExternalData(PRODUCER_NAME, EXTERNAL_DATA_FILE);
  return { bytes: model, externalData, ...names };
}

/** The token layout of a ViT's embedding (`embeddingDimension` has already refused every other kind). */
function visionTransformerEmbedding(embedding: EmbeddingLayout): VisionTransformerEmbedding {
  if (embedding.kind !== 'tokens') throw new Error(`a ViT gives a 'tokens' embedding, not '${embedding.kind}'`);
  const { classTokens, patchMean, tokenNorm, outputNorm } = embedding;
  return { classTokens, patchMean, tokenNorm, outputNorm };
}
