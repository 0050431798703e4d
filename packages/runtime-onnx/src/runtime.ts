import { SPECIFICATION_VERSION, type Backbone, type CanonicalWeights, type Embedder, type Runtime, type RuntimeOptions } from '@medssl/spec';
import { checkCanonicalTensors, describeArchitecture, sameArchitecture } from '@medssl/weights';
import { embeddingDimension } from '@medssl/spec';
import { onnxModelEmbedder } from './model-file.js';
import { inputShapeFromPreprocessing } from '@medssl/core';
import { buildOnnxModel } from './model.js';
import { createBuiltModelSession } from './model-files.js';
import { OnnxEmbedder, type GraphOptimizationLevel } from './session.js';

export interface OnnxRuntimeOptions {
  /** Default intra-op threads for every embedder; `createEmbedder`'s `threads` wins. */
  readonly threads?: number;
  /** Spin-waiting of idle inference threads (onnxruntime's default: on); off when decoding shares the cores. */
  readonly spinning?: boolean;
  /** Default `all`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** onnxruntime execution providers in order, e.g. `['cuda']`; overrides the `device` of `createEmbedder`. */
  readonly executionProviders?: readonly string[];
  /**
   * ViTs: attention as onnxruntime's `Attention` contrib operator (default) rather than standard operators:
   * 3-5 % more images/s for ViT-S/16 on a CPU, the same embeddings within 2e-6.
   */
  readonly fusedAttention?: boolean;
}

export interface OnnxRuntime extends Runtime {
  readonly id: 'onnx';
}

/**
 * Runs backbones on onnxruntime-node. Each embedder builds an ONNX graph of the backbone's architecture
 * (ResNet-50 at 1x/2x/4x width, DINO-layout ViTs) from canonical weights, for the input size the
 * backbone's preprocessing produces, and reports the execution provider it runs on.
 */
export function onnxRuntime(options: OnnxRuntimeOptions = {}): OnnxRuntime {
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: 'onnx',
    async createEmbedder(backbone: Backbone, weights: CanonicalWeights, embedderOptions: RuntimeOptions = {}): Promise<Embedder> {
      const architecture = backbone.architecture;
      const threads = embedderOptions.threads ?? options.threads;
      const sessionOptions = {
        ...(threads !== undefined ? { threads } : {}),
        ...(embedderOptions.device !== undefined ? { device: embedderOptions.device } : {}),
        ...(options.graphOptimizationLevel ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
        ...(options.executionProviders ? { executionProviders: options.executionProviders } : {}),
        ...(options.spinning !== undefined ? { spinning: options.spinning } : {}),
      };
      if (architecture.family === 'model-file') {
        if (backbone.embedding.kind !== 'output')
          throw new Error(`${backbone.id}: a model file gives a named output as its embedding, not '${backbone.embedding.kind}'`);
        return onnxModelEmbedder(architecture.path, {
          ...sessionOptions,
          backboneId: backbone.id,
          outputName: backbone.embedding.output,
          preprocessing: backbone.preprocessing,
          ...(architecture.input ? { inputName: architecture.input } : {}),
          ...(backbone.embedding.dimension !== undefined ? { dimension: backbone.embedding.dimension } : {}),
        });
      }
      if (!sameArchitecture(weights.architecture, architecture)) {
        throw new Error(
          `${backbone.id} is a ${describeArchitecture(architecture)}, but the weights from ${weights.source} are for a ${describeArchitecture(weights.architecture)}`,
        );
      }
      checkCanonicalTensors(architecture, weights.tensors, weights.source);
      const dimension = embeddingDimension(architecture, backbone.embedding);
      if (dimension !== backbone.embedding.dimension) {
        throw new Error(
          `${backbone.id}: its embedding is ${dimension}-d for a ${describeArchitecture(architecture)}, but the backbone declares ${backbone.embedding.dimension}`,
        );
      }
      const inputShape = inputShapeFromPreprocessing(backbone.preprocessing, backbone.id);
      const model = buildOnnxModel(architecture, weights.tensors, {
        inputShape,
        embedding: backbone.embedding,
        fusedAttention: options.fusedAttention ?? true,
      });
      const session = await createBuiltModelSession(model, sessionOptions);
      return new OnnxEmbedder({
        session,
        backboneId: backbone.id,
        inputName: model.inputName,
        outputName: model.outputName,
        inputShape,
        dimension: dimension!,
      });
    },
  };
}
