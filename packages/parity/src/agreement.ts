// Two runtimes against each other on the same closed-form weights and images: for architectures the
// PyTorch fixtures do not hold (DINO's patch-8 ViTs, the wider SimCLR ResNets). Parity with PyTorch is
// `describeRuntimeParity`'s.
import { describeEmbedding, type Architecture, type CanonicalWeights, type Matrix, type Runtime, type Tensor } from '@medssl/spec';
import { architectures } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { embeddingLayout, testBackbone, type TestEmbedding } from './backbones.js';
import { formulaCanonicalWeights, formulaImages } from './formula-weights.js';
import { PARITY_TOLERANCE, relativeError } from './parity.js';

export interface AgreementCase {
  /** A named architecture of `@medssl/weights`, or any other with a name for the test. */
  readonly architecture: keyof typeof architectures | { readonly name: string; readonly architecture: Architecture };
  readonly embedding: TestEmbedding;
  /** Input side; ViTs resample their positions for sizes other than their stored grid's. */
  readonly size: number;
  readonly batch: number;
}

type NamedArchitecture = { readonly name: string; readonly architecture: Architecture };
const named = (architecture: AgreementCase['architecture']): NamedArchitecture =>
  typeof architecture === 'string' ? { name: architecture, architecture: architectures[architecture] } : architecture;

const weightsCache = new Map<string, CanonicalWeights>();
function formulaWeights({ name, architecture }: NamedArchitecture): CanonicalWeights {
  if (!weightsCache.has(name)) weightsCache.set(name, formulaCanonicalWeights(architecture));
  return weightsCache.get(name)!;
}

async function embedWith(runtime: Runtime, model: NamedArchitecture, embedding: TestEmbedding, size: number, images: Tensor): Promise<Matrix> {
  const embedder = await runtime.createEmbedder(testBackbone(`formula:${model.name}`, model.architecture, embedding, size), formulaWeights(model));
  try {
    return await embedder.embed(images);
  } finally {
    await embedder.dispose();
  }
}

/** Embeddings of `runtime` against `reference`'s, case by case, within the parity tolerance. */
export function describeRuntimeAgreement(
  names: { readonly runtime: string; readonly reference: string },
  runtime: () => Runtime,
  reference: () => Runtime,
  cases: readonly AgreementCase[],
  record: (line: string) => void = () => {},
): void {
  describe(`${names.runtime} against ${names.reference}`, () => {
    for (const { architecture, embedding, size, batch } of cases) {
      const model = named(architecture);
      const embeddingName = describeEmbedding(embeddingLayout(embedding));
      it(`${model.name} ${embeddingName} at ${size}x${size}, batch ${batch}`, async () => {
        const images = formulaImages(batch, size);
        const expected = await embedWith(reference(), model, embedding, size, images);
        const actual = await embedWith(runtime(), model, embedding, size, images);
        expect(actual.shape).toEqual(expected.shape);
        const error = relativeError(actual.data, expected.data);
        record(`${names.runtime} vs ${names.reference}, ${model.name} ${embeddingName} at ${size}: ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
      });
    }
  });
}
