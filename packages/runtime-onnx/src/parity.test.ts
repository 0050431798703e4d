// Parity with PyTorch: torchvision's resnet50 and DINO's ViT-S/16, filled with the closed-form weights
// of __fixtures__/make_fixtures.py, whose outputs __fixtures__/parity.npz holds.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpzFile } from '@medssl/arrays/node';
import type { Architecture, Matrix } from '@medssl/spec';
import { architectures, canonicalTensorShapes } from '@medssl/weights';
import { beforeAll, describe, expect, it } from 'vitest';
import { testBackbone } from './__fixtures__/backbones.js';
import { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages } from './__fixtures__/formula-weights.js';
import { onnxRuntime } from './runtime.js';

/** Largest difference relative to the largest reference magnitude: the scale of the output, not of one element. */
const TOLERANCE = 1e-4;

interface ParityDescription {
  readonly formulaVersion: number;
  readonly images: number;
  readonly vitSizes: readonly number[];
  readonly imageChecksums: Readonly<Record<string, number>>;
  readonly weightChecksums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

const fixture = (name: string) => fileURLToPath(new URL(`./__fixtures__/${name}`, import.meta.url));
const description = JSON.parse(readFileSync(fixture('parity.json'), 'utf8')) as ParityDescription;
let references: Map<string, { data: ArrayLike<number>; shape: readonly number[] }>;

function reference(name: string): Float32Array {
  const array = references.get(name);
  if (!array) throw new Error(`parity.npz has no ${name}`);
  return Float32Array.from(array.data);
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let difference = 0;
  let scale = 0;
  for (let index = 0; index < expected.length; index++) {
    difference = Math.max(difference, Math.abs(actual[index]! - expected[index]!));
    scale = Math.max(scale, Math.abs(expected[index]!));
  }
  return difference / scale;
}

/** The last `width` columns of every row: DINO's `cls` is the last block's part of `cls-last-4`. */
function lastColumns(matrix: Matrix, width: number): Float32Array {
  const [rows, columns] = matrix.shape;
  const result = new Float32Array(rows * width);
  for (let row = 0; row < rows; row++) result.set(matrix.data.subarray((row + 1) * columns - width, (row + 1) * columns), row * width);
  return result;
}

const measured: string[] = [];

async function embedFormulaImages(id: string, architecture: Architecture, kind: 'pooled' | 'cls' | 'cls-last-4', _dimension: number, size: number, fusedAttention = true): Promise<Matrix> {
  const embedder = await onnxRuntime({ fusedAttention }).createEmbedder(testBackbone(id, architecture, kind, size), formulaCanonicalWeights(architecture));
  try {
    return await embedder.embed(formulaImages(description.images, size));
  } finally {
    await embedder.dispose();
  }
}

beforeAll(async () => {
  references = (await readNpzFile(fixture('parity.npz'))) as typeof references;
  return () => console.log(`parity with PyTorch (max |difference| / max |reference|):\n  ${measured.join('\n  ')}`);
});

describe('parity with PyTorch', () => {
  it('regenerates the fixture weights and images exactly', () => {
    expect(description.formulaVersion).toBe(FORMULA_VERSION);
    for (const [name, architecture] of [['resnet50', architectures.resnet50], ['vits16', architectures.vits16]] as const) {
      const expected = description.weightChecksums[name]!;
      const weights = formulaCanonicalWeights(architecture);
      expect([...weights.tensors.keys()].sort()).toEqual(Object.keys(expected).sort());
      expect([...canonicalTensorShapes(architecture).keys()].length).toBe(Object.keys(expected).length);
      for (const [tensorName, tensor] of weights.tensors) expect(checksum(tensor.data), tensorName).toBe(expected[tensorName]);
    }
    for (const [size, expected] of Object.entries(description.imageChecksums)) expect(checksum(formulaImages(description.images, Number(size)).data)).toBe(expected);
  });

  it('ResNet-50 pooled features match torchvision', async () => {
    const features = await embedFormulaImages('test:resnet50', architectures.resnet50, 'pooled', 2048, 224);
    const error = relativeError(features.data, reference('resnet50_pooled_224'));
    measured.push(`ResNet-50 pooled at 224: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });

  it('ViT-S/16 cls matches DINO at 224', async () => {
    const features = await embedFormulaImages('test:vits16', architectures.vits16, 'cls', 384, 224);
    const error = relativeError(features.data, reference('vits16_cls_224'));
    measured.push(`ViT-S/16 cls at 224: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });

  it('ViT-S/16 cls-last-4 matches DINO at 224 with attention from standard operators (as exported models have it)', async () => {
    const features = await embedFormulaImages('test:vits16', architectures.vits16, 'cls-last-4', 1536, 224, false);
    const error = relativeError(features.data, reference('vits16_cls_last_4_224'));
    measured.push(`ViT-S/16 cls-last-4 at 224, standard-operator attention: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(TOLERANCE);
  });

  for (const size of description.vitSizes) {
    it(`ViT-S/16 cls-last-4 matches DINO at ${size}${size === 224 ? '' : ', with interpolated positions'}`, async () => {
      const features = await embedFormulaImages('test:vits16', architectures.vits16, 'cls-last-4', 1536, size);
      const error = relativeError(features.data, reference(`vits16_cls_last_4_${size}`));
      const classTokenError = relativeError(lastColumns(features, 384), reference(`vits16_cls_${size}`));
      measured.push(`ViT-S/16 cls-last-4 at ${size}: ${error.toExponential(2)} (its last block against cls: ${classTokenError.toExponential(2)})`);
      expect(error).toBeLessThanOrEqual(TOLERANCE);
      expect(classTokenError).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
