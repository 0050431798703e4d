// The fixtures ../fixtures/make_fixtures.py writes, read through this package: no runtime reaches into
// another package's folders.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpzFile } from '@medssl/arrays/node';
import type { Architecture, EmbeddingLayout, PositionResampling } from '@medssl/spec';

/** The absolute path of a fixture file (`parity.npz`, `training.json`, ...). */
export function parityFixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** One inference case: formula weights of `weights`, formula images of `size`, PyTorch's embedding. */
export interface ParityCase {
  /** Stable, for skip lists: `<weights>/<resampling rule>/<embedding>/<size>`, e.g. `reg4/size-antialias/global-pool/98`. */
  readonly id: string;
  readonly title: string;
  /** The weight set (formula weights depend only on canonical names and shapes). */
  readonly weights: string;
  readonly architecture: Architecture;
  readonly embedding: EmbeddingLayout;
  readonly size: number;
  /** The key of PyTorch's float32 embedding `[images, dimension]` in parity.npz. */
  readonly reference: string;
  readonly float32VersusFloat64RelativeError: number;
}

/** A stored position table resampled by PyTorch: the check of `positionTableForInput`. */
export interface PositionTableCase {
  readonly grid: number;
  readonly width: number;
  readonly rows: number;
  readonly columns: number;
  readonly resampling: PositionResampling;
  /** Formula name of the stored table `[1, 1 + grid², width]` (offset 0, amplitude 0.5). */
  readonly stored: string;
  readonly reference: string;
}

export interface ParityDescription {
  readonly formulaVersion: number;
  /** Images per case. */
  readonly images: number;
  readonly cases: readonly ParityCase[];
  readonly positionTables: readonly PositionTableCase[];
  readonly imageChecksums: Readonly<Record<string, number>>;
  readonly weightSets: Readonly<Record<string, Architecture>>;
  readonly weightChecksums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** One forward and the gradients of `sum(embedding ⊙ R)` (see make_fixtures.py). */
export interface TrainingCase {
  readonly architecture: Architecture;
  readonly embedding: EmbeddingLayout;
  readonly size: number;
  /** -1 none; 0 the stem (a ViT's patch embedding with class token, positions and registers); n also n stages or blocks. */
  readonly frozenStages: number;
  /** Formula name of the images (`images:<size>`, or the ResNet's series chosen away from ReLU and max-pool kinks). */
  readonly images: string;
  /** Formula name of R, `[images, dimension]`, offset 0, amplitude 1. */
  readonly projection: string;
  /** Added to every batch-norm bias of the formula weights (the ResNet's; 0 for ViTs). */
  readonly batchNormBiasOffset: number;
  /** Batch norm on batch statistics (their running estimates updated), or on the running estimates. */
  readonly train: boolean;
  /** Batch norms whose running estimates are stored after the forward. */
  readonly running: readonly string[];
  /** Canonical tensors whose gradients are stored, every `step`-th element. */
  readonly gradients: Readonly<Record<string, { readonly shape: readonly number[]; readonly step: number }>>;
  /** Per stored array: PyTorch's float32 run against the float64 reference. */
  readonly float32VersusFloat64RelativeError: Readonly<Record<string, number>>;
}

export interface ConvolutionUnitCase {
  readonly tag: string;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly size: number;
  readonly inputs: number;
  readonly outputs: number;
  readonly mode: 'train' | 'eval';
  readonly residual: boolean;
  readonly relu: boolean;
  readonly outputShape: readonly number[];
}

export interface TrainingDescription {
  readonly formulaVersion: number;
  readonly images: number;
  readonly cases: Readonly<Record<string, TrainingCase>>;
  /** ResNet units and max pooling one by one, under `ops/<tag>/...` in training.npz. */
  readonly operations: {
    readonly units: readonly ConvolutionUnitCase[];
    readonly maxpool: { readonly shape: readonly number[]; readonly outputShape: readonly number[] };
  };
}

const descriptions = new Map<string, unknown>();
function readDescription<T>(name: string): T {
  if (!descriptions.has(name)) descriptions.set(name, JSON.parse(readFileSync(parityFixturePath(name), 'utf8')));
  return descriptions.get(name) as T;
}

export const parityDescription = (): ParityDescription => readDescription('parity.json');
export const trainingDescription = (): TrainingDescription => readDescription('training.json');

/** Every array of a fixture archive as float32, by key. */
export async function readFixtureArrays(name: 'parity.npz' | 'training.npz'): Promise<ReadonlyMap<string, Float32Array>> {
  const arrays = await readNpzFile(parityFixturePath(name));
  const result = new Map<string, Float32Array>();
  for (const [key, array] of arrays) {
    if (array.dtype !== 'float32') throw new Error(`${name}: ${key} is ${array.dtype}, expected float32`);
    result.set(key, array.data);
  }
  return result;
}

/** The array `key` of a fixture archive read with `readFixtureArrays`; an error names the archive and key. */
export function fixtureArray(arrays: ReadonlyMap<string, Float32Array>, archive: string, key: string): Float32Array {
  const array = arrays.get(key);
  if (!array) throw new Error(`${archive} has no ${key}`);
  return array;
}
