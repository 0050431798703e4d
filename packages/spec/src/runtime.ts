import type { Backbone, CanonicalWeights } from './backbone.js';
import type { Matrix, Tensor } from './image.js';
import type { SpecificationVersion } from './version.js';

export interface RuntimeOptions {
  /** Intra-op threads; default: what the runtime thinks best for this machine. */
  readonly threads?: number;
  /** Device asked for, e.g. `cpu`, `cuda`, `wasm`, `webgpu`. The embedder reports what really runs. */
  readonly device?: string;
}

/** Runs backbones: onnxruntime, TensorFlow.js, or anything else that turns NCHW tensors into embeddings. */
export interface Runtime {
  readonly specificationVersion: SpecificationVersion;
  /** e.g. `onnx`, `tfjs-wasm`, `tfjs-webgpu`. */
  readonly id: string;
  createEmbedder(backbone: Backbone, weights: CanonicalWeights, options?: RuntimeOptions): Promise<Embedder>;
}

/** A backbone loaded into a runtime, ready to embed batches. */
export interface Embedder {
  readonly backboneId: string;
  readonly runtimeId: string;
  /** The execution provider or backend that actually runs (asserted by the runtime, never assumed). */
  readonly provider: string;
  readonly precision: 'float32' | 'float16';
  /** `[channels, height, width]` of one input image. */
  readonly inputShape: readonly [number, number, number];
  readonly dimension: number;
  /** `batch` is `[n, channels, height, width]`; the result is `[n, dimension]`. */
  embed(batch: Tensor): Promise<Matrix>;
  dispose(): Promise<void>;
}
