import {
  SPECIFICATION_VERSION,
  type Backbone,
  type CanonicalWeights,
  type Embedder,
  type Matrix,
  type Runtime,
  type RuntimeOptions,
  type Tensor,
} from '@medssl/spec';
import { inputShapeFromPreprocessing } from '@medssl/core';
import * as tf from '@tensorflow/tfjs-core';
import { TFJS_BACKENDS, TfjsBackendError, useTfjsBackend, type TfjsBackendName } from './backend.js';
import { checkBackboneWeights, createTfjsModel, type TfjsModel } from './model.js';

export interface TfjsRuntimeOptions {
  /** The tfjs backend, chosen explicitly and asserted: tfjs would otherwise fall back silently. */
  readonly backend: TfjsBackendName;
  /** Browsers: URL prefix (ending in `/`) where the wasm backend's `.wasm` files are served. */
  readonly wasmPaths?: string;
}

export interface TfjsRuntime extends Runtime {
  readonly id: `tfjs-${TfjsBackendName}`;
  readonly backend: TfjsBackendName;
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** A frozen tfjs model behind the `Embedder` contract. */
class TfjsEmbedder implements Embedder {
  readonly precision = 'float32';
  readonly backboneId: string;
  readonly dimension: number;
  private disposed = false;

  constructor(
    private readonly model: TfjsModel,
    readonly runtimeId: string,
    readonly provider: TfjsBackendName,
    readonly inputShape: readonly [number, number, number],
  ) {
    this.backboneId = model.id;
    this.dimension = model.dimension;
  }

  async embed(batch: Tensor): Promise<Matrix> {
    if (this.disposed) throw new Error(`${this.backboneId}: the ${this.runtimeId} embedder has been disposed`);
    const [channels, height, width] = this.inputShape;
    const { shape } = batch;
    const count = shape[0] ?? 0;
    if (shape.length !== 4 || !Number.isSafeInteger(count) || count < 0 || shape[1] !== channels || shape[2] !== height || shape[3] !== width) {
      throw new Error(`${this.backboneId}: expected a batch of shape ${describeShape(['n', channels, height, width])}, got ${describeShape(shape)}`);
    }
    const expectedValues = count * channels * height * width;
    if (batch.data.length !== expectedValues)
      throw new Error(`${this.backboneId}: a batch of shape ${describeShape(shape)} needs ${expectedValues} values, got ${batch.data.length}`);
    if (count === 0) return { data: new Float32Array(0), shape: [0, this.dimension] };
    const embeddings = tf.tidy(() => this.model.embed(tf.tensor4d(batch.data, [count, channels, height, width], 'float32'), false));
    try {
      // Asynchronous read: the only one webgpu allows in Node, and it keeps browsers responsive.
      const data = (await embeddings.data()) as Float32Array;
      return { data: new Float32Array(data), shape: [count, this.dimension] };
    } finally {
      embeddings.dispose();
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

/**
 * Runs backbones in TensorFlow.js on one backend (`wasm`, `cpu` or `webgpu`), activated and asserted when
 * an embedder is created. Each embedder holds the backbone's weights as constants, batch norm folded in,
 * and reports the backend that really runs. For training, use `createTfjsModel`.
 */
export function tfjsRuntime(options: TfjsRuntimeOptions): TfjsRuntime {
  const { backend } = options;
  if (!TFJS_BACKENDS.includes(backend))
    throw new TfjsBackendError(`unknown tfjs backend ${JSON.stringify(backend)}; expected one of ${TFJS_BACKENDS.join(', ')}`);
  const id = `tfjs-${backend}` as const;
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id,
    backend,
    async createEmbedder(backbone: Backbone, weights: CanonicalWeights, embedderOptions: RuntimeOptions = {}): Promise<Embedder> {
      if (embedderOptions.device !== undefined && embedderOptions.device !== backend) {
        throw new TfjsBackendError(
          `${id} runs on the tfjs '${backend}' backend, not device '${embedderOptions.device}'; create tfjsRuntime({ backend: ... }) for another backend`,
        );
      }
      checkBackboneWeights(backbone, weights);
      const inputShape = inputShapeFromPreprocessing(backbone.preprocessing, backbone.id);
      if (inputShape[0] !== 3) throw new Error(`${backbone.id}: the models take 3 input channels, not ${inputShape[0]}`);
      const provider = await useTfjsBackend(backend, options.wasmPaths !== undefined ? { wasmPaths: options.wasmPaths } : {});
      const model = createTfjsModel(backbone, weights, { trainable: false });
      return new TfjsEmbedder(model, id, provider, inputShape);
    },
  };
}
