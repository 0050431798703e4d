// Inference parity on one backend: against @medssl/runtime-onnx on the same canonical weights and
// images, and against the PyTorch outputs runtime-onnx's parity fixtures hold (torchvision's resnet50 and
// DINO's ViT-S/16, make_fixtures.py there).
import { readFileSync } from 'node:fs';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Architecture, CanonicalWeights, Matrix, Tensor } from '@medssl/spec';
import type { TestEmbedding } from '../../../runtime-onnx/src/__fixtures__/backbones.js';
import { architectures } from '@medssl/weights';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TfjsBackendName } from '../backend.js';
import { tfjsRuntime } from '../runtime.js';
import { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages, onnxFixturePath, readArrays, relativeError, testBackbone } from './reference.js';

/** The bar: embeddings within 1e-4 of the reference, relative to its largest magnitude. */
export const PARITY_TOLERANCE = 1e-4;

export interface OnnxParityCase {
  /** A canonical architecture by name, or any other (formula weights fit every architecture). */
  readonly architecture: keyof typeof architectures | { readonly name: string; readonly architecture: Architecture };
  readonly embedding: TestEmbedding;
  /** Input side; ViTs resample their positions for sizes other than 224. */
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

/** Embeddings of the tfjs runtime on `backend` against onnxruntime's, on the closed-form weights. */
export function describeOnnxParity(backend: TfjsBackendName, cases: readonly OnnxParityCase[], record: (line: string) => void): void {
  describe(`tfjs-${backend} against @medssl/runtime-onnx`, () => {
    for (const { architecture, embedding, size, batch } of cases) {
      const model = named(architecture);
      it(`${model.name} ${embedding} at ${size}x${size}, batch ${batch}`, async () => {
        const images = formulaImages(batch, size);
        const reference = await embedWith(onnxRuntime({ threads: 1 }), model, embedding, size, images);
        const actual = await embedWith(tfjsRuntime({ backend }), model, embedding, size, images);
        expect(actual.shape).toEqual(reference.shape);
        const error = relativeError(actual.data, reference.data);
        record(`${backend} vs onnx, ${model.name} ${embedding} at ${size}: ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
      });
    }
  });
}

interface PyTorchParityDescription {
  readonly formulaVersion: number;
  readonly images: number;
  readonly vitSizes: readonly number[];
  readonly imageChecksums: Readonly<Record<string, number>>;
}

/** Embeddings of the tfjs runtime on `backend` against PyTorch's (runtime-onnx's parity fixtures). */
export function describePyTorchParity(backend: TfjsBackendName, record: (line: string) => void): void {
  const description = JSON.parse(readFileSync(onnxFixturePath('parity.json'), 'utf8')) as PyTorchParityDescription;
  describe(`tfjs-${backend} against PyTorch (torchvision resnet50, DINO ViT-S/16)`, () => {
    let references: ReadonlyMap<string, Tensor>;
    const reference = (name: string) => {
      const array = references.get(name);
      if (!array) throw new Error(`parity.npz has no ${name}`);
      return array.data;
    };
    beforeAll(async () => {
      references = await readArrays(onnxFixturePath('parity.npz'));
    });

    it('regenerates the fixture images', () => {
      expect(description.formulaVersion).toBe(FORMULA_VERSION);
      for (const [size, expected] of Object.entries(description.imageChecksums)) expect(checksum(formulaImages(description.images, Number(size)).data)).toBe(expected);
    });

    const cases: [keyof typeof architectures, TestEmbedding, number, string][] = [
      ['resnet50', 'pooled', 224, 'resnet50_pooled_224'],
      ['vits16', 'cls', 224, 'vits16_cls_224'],
      ...description.vitSizes.map((size) => ['vits16', 'cls-last-4', size, `vits16_cls_last_4_${size}`] as [keyof typeof architectures, TestEmbedding, number, string]),
    ];
    for (const [architecture, embedding, size, key] of cases) {
      it(`${architecture} ${embedding} at ${size}x${size}${architecture === 'vits16' && size !== 224 ? ', positions resampled' : ''}`, async () => {
        const features = await embedWith(tfjsRuntime({ backend }), named(architecture), embedding, size, formulaImages(description.images, size));
        const error = relativeError(features.data, reference(key));
        record(`${backend} vs PyTorch, ${architecture} ${embedding} at ${size}: ${error.toExponential(2)}`);
        expect(error).toBeLessThanOrEqual(PARITY_TOLERANCE);
      });
    }
  });
}
