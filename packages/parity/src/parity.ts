// The runtime parity suite: every runtime embeds the formula images with the formula weights of each case
// and is compared with PyTorch's embedding. Plain async checks, and `describeRuntimeParity`, the vitest
// suite both runtime packages run with their own skip lists.
import type { CanonicalWeights, Matrix, Runtime, Tensor } from '@medssl/spec';
import { canonicalTensorShapes } from '@medssl/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackbone } from './backbones.js';
import { fixtureArray, parityDescription, readFixtureArrays, type ParityCase } from './fixtures.js';
import { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages } from './formula-weights.js';

/** The bar for every runtime: the largest difference within 1e-4 of the largest reference magnitude. */
export const PARITY_TOLERANCE = 1e-4;

/** Largest difference relative to the largest reference magnitude: the scale of the output, not of one element. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`comparing ${actual.length} values with ${expected.length}`);
  let difference = 0;
  let scale = 0;
  for (let index = 0; index < expected.length; index++) {
    difference = Math.max(difference, Math.abs(actual[index]! - expected[index]!));
    scale = Math.max(scale, Math.abs(expected[index]!));
  }
  return scale > 0 ? difference / scale : difference;
}

/** Formula tensors by weight set, so cases that differ only in resampling or embedding share them. */
export type FormulaWeightCache = Map<string, ReadonlyMap<string, Tensor>>;

/** The formula weights of a case, labelled with the case's own architecture (its resampling rule included). */
export function parityCaseWeights(parityCase: ParityCase, cache?: FormulaWeightCache): CanonicalWeights {
  let tensors = cache?.get(parityCase.weights);
  if (!tensors) {
    tensors = formulaCanonicalWeights(parityCase.architecture).tensors;
    cache?.set(parityCase.weights, tensors);
  }
  return { architecture: parityCase.architecture, tensors, sha256: `formula-v${FORMULA_VERSION}`, source: `formula(v${FORMULA_VERSION})` };
}

/** A case's embedding of its formula images on a runtime. */
export async function embedParityCase(runtime: Runtime, parityCase: ParityCase, cache?: FormulaWeightCache): Promise<Matrix> {
  const backbone = testBackbone(`parity:${parityCase.id}`, parityCase.architecture, parityCase.embedding, parityCase.size);
  const embedder = await runtime.createEmbedder(backbone, parityCaseWeights(parityCase, cache));
  try {
    return await embedder.embed(formulaImages(parityDescription().images, parityCase.size));
  } finally {
    await embedder.dispose();
  }
}

export interface ParityMeasurement {
  readonly id: string;
  /** Max |difference| / max |reference|. */
  readonly error: number;
  /** PyTorch's own float32 result against its float64 one, for scale. */
  readonly pytorchFloat32Error: number;
}

/** Embeds one case and measures it against PyTorch; a wrong embedding shape is an error naming both shapes. */
export async function checkParityCase(
  runtime: Runtime,
  parityCase: ParityCase,
  references: ReadonlyMap<string, Float32Array>,
  cache?: FormulaWeightCache,
): Promise<ParityMeasurement> {
  const expected = fixtureArray(references, 'parity.npz', parityCase.reference);
  const actual = await embedParityCase(runtime, parityCase, cache);
  const images = parityDescription().images;
  if (actual.shape[0] !== images || actual.shape[0]! * actual.shape[1]! !== expected.length) {
    throw new Error(`${runtime.id}, ${parityCase.id}: embedding of shape [${actual.shape.join(', ')}], PyTorch's is [${images}, ${expected.length / images}]`);
  }
  return { id: parityCase.id, error: relativeError(actual.data, expected), pytorchFloat32Error: parityCase.float32VersusFloat64RelativeError };
}

/**
 * Regenerates every weight set and image size of the fixtures and compares them with the checksums
 * make_fixtures.py recorded: the formulas of the two languages must agree exactly. Errors name the tensor.
 */
export function checkFormulaFixtures(): void {
  const description = parityDescription();
  if (description.formulaVersion !== FORMULA_VERSION)
    throw new Error(`parity.json was made with formula version ${description.formulaVersion}, this is ${FORMULA_VERSION}`);
  for (const [name, architecture] of Object.entries(description.weightSets)) {
    const expected = description.weightChecksums[name]!;
    const names = [...canonicalTensorShapes(architecture).keys()];
    if (names.sort().join() !== Object.keys(expected).sort().join())
      throw new Error(`weight set ${name}: canonical tensors [${names.join(', ')}], PyTorch's [${Object.keys(expected).join(', ')}]`);
    for (const [tensorName, tensor] of formulaCanonicalWeights(architecture).tensors) {
      if (checksum(tensor.data) !== expected[tensorName])
        throw new Error(`weight set ${name}: formula tensor ${tensorName} has checksum ${checksum(tensor.data)}, make_fixtures.py's ${expected[tensorName]}`);
    }
  }
  for (const [size, expected] of Object.entries(description.imageChecksums)) {
    const actual = checksum(formulaImages(description.images, Number(size)).data);
    if (actual !== expected) throw new Error(`formula images of ${size}x${size} have checksum ${actual}, make_fixtures.py's ${expected}`);
  }
}

export interface RuntimeParityOptions {
  /** Case ids left out on this runtime, each with its reason (shown as a skipped test). */
  readonly skip?: Readonly<Record<string, string>>;
  /** Default `PARITY_TOLERANCE`. */
  readonly tolerance?: number;
}

/**
 * Registers one vitest test per parity case for a runtime (`makeRuntime` is called once, in the first
 * test that runs) and prints the measured errors when the suite ends. A skip-list id that names no
 * case is an error, so a renamed case cannot be skipped silently.
 */
export function describeRuntimeParity(runtimeName: string, makeRuntime: () => Runtime | Promise<Runtime>, options: RuntimeParityOptions = {}): void {
  const { cases } = parityDescription();
  const skip = options.skip ?? {};
  const unknown = Object.keys(skip).filter((id) => !cases.some((parityCase) => parityCase.id === id));
  if (unknown.length > 0)
    throw new Error(
      `${runtimeName}: the skip list names no parity case ${unknown.join(', ')}; cases are ${cases.map((parityCase) => parityCase.id).join(', ')}`,
    );
  const tolerance = options.tolerance ?? PARITY_TOLERANCE;

  describe(`${runtimeName} against PyTorch (@medssl/parity)`, () => {
    let references: ReadonlyMap<string, Float32Array>;
    let runtime: Promise<Runtime> | undefined;
    const cache: FormulaWeightCache = new Map();
    const measured: string[] = [];
    beforeAll(async () => {
      references = await readFixtureArrays('parity.npz');
    });
    afterAll(() => {
      cache.clear();
      if (measured.length > 0)
        console.log(
          `${runtimeName} against PyTorch (max |difference| / max |reference|; PyTorch float32 against float64 in brackets):\n  ${measured.join('\n  ')}`,
        );
    });

    for (const parityCase of cases) {
      const reason = skip[parityCase.id];
      if (reason !== undefined) {
        it.skip(`${parityCase.id}: ${parityCase.title} (skipped: ${reason})`, () => {});
        continue;
      }
      it(`${parityCase.id}: ${parityCase.title}`, async () => {
        runtime ??= Promise.resolve(makeRuntime());
        const { error, pytorchFloat32Error } = await checkParityCase(await runtime, parityCase, references, cache);
        measured.push(`${parityCase.id}: ${error.toExponential(2)} (${pytorchFloat32Error.toExponential(1)})`);
        expect(error, parityCase.id).toBeLessThanOrEqual(tolerance);
      });
    }
  });
}
