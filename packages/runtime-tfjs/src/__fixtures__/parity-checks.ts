// Inference parity on one backend against @medssl/runtime-onnx, on the same canonical weights and images
// (parity against PyTorch is @medssl/parity's describeRuntimeParity).
import { embeddingLayout, type TestEmbedding } from '@medssl/parity';
import { onnxRuntime } from '@medssl/runtime-onnx';
import { describeEmbedding, type Architecture, type CanonicalWeights, type Matrix, type Tensor } from '@medssl/spec';
import { architectures } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import type { TfjsBackendName } from '../backend.js';
import { tfjsRuntime } from '../runtime.js';
import { formulaCanonicalWeights, formulaImages, relativeError, testBackbone } from './reference.js';

/** The bar: embeddings within 1e-4 of the reference, relative to its largest magnitude. */
export const PARITY_TOLERANCE = 1e-4;

export interface OnnxParityCase {
  /** A canonical architecture by name, or any other (formula weights fit every architecture). */
  readonly architecture: keyof typeof architectures | { readonly name: string; readonly architecture: Architecture };
  readonly embedding: TestEmbedding;
  /** Input side; ViTs resample their positions for sizes other than their stored grid's. */
  readonly size: number;
  readonly batch: number;
}

type NamedArchitecture = { readonly name: string; readonly architecture: Architecture };
const named = (architecture: OnnxParityCase['architecture']): NamedArchitecture =>
  typeof architecture === 'string' ? { name: architecture, architecture: architectures[architecture] } : architecture;

const weightsCache = new Map<string, CanonicalWeights>();
function formulaWeights({ name, architecture }: NamedArchitecture): CanonicalWeights {
  if (!weightsCache.has(name)) weightsCache.set(name, formulaCanonicalWeights(architecture));
  return weightsCache.get(name)!;
}

async function embedWith(runtime: ReturnType<typeof onnxRuntime> | ReturnType<typeof tfjsRuntime>, model: NamedArchitecture, embedding: TestEmbedding, size: number, images: Tensor): Promise<Matrix> {
  const { name, architecture } = model;
  const backbone = testBackbone(`formula:${name}`, architecture, embedding, size);
  const embedder = await runtime.createEmbedder(backbone, formulaWeights(model));
  try {
    return await embedder.embed(images);
  } finally {
    await embedder.dispose();
  }
}

const embeddingName = (embedding: TestEmbedding) => describeEmbedding(embeddingLayout(embedding));

/** Embeddings of the tfjs runtime on `backend` against onnxruntime's, on the closed-form weights. */
export function describeOnnxParity(backend: TfjsBackendName, cases: readonly OnnxParityCase[], record: (line: string) => void): void {
  describe(`tfjs-${backend} against @medssl/runtime-onnx`, () => {
    for (const { architecture, embedding, size, batch } of cases) {
      const model = named(architecture);
      it(`${model.name} ${embeddingName(embedding)} at ${size}x${size}, batch ${batch}`, async () => {
        const images = formulaImages(batch, size);
        const reference = await embedWith(onnxRuntime({ threads: 1 }), model, embedding, size, images);
        const actual = await embedWith(tfjsRuntime({ backend }), model, embedding, size, images);
        expect(actual.shape).toEqual(reference.shape);
        const error = relativeError(actual.data, reference.data);
        record(`${backend} vs onnx, ${model.name} ${embeddingName(embedding)} at ${size}: ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
      });
    }
  });
}
