// The synthetic fusion task of the tests: K backbones that each see a different part of the signal,
// plus one that sees pure noise. Seeded (core's createRng), so every run builds the same data.
//
// Each sample has three latent factors u1, u2, u3 ~ N(0, 1); its class is 1 when u1 + u2 + u3 > 0
// (binary), or the tercile of u1 + u2 + u3 (3 ordinal classes). Source k < 3 holds u_k along a fixed
// random direction of its own feature space, plus unit Gaussian noise in every dimension, so alone it
// predicts the class only as well as one of three summed factors allows (AUC about 0.7 at best), while
// the three together determine it up to their noise. The last source is Gaussian noise only.
import { createRng } from '@medssl/core';
import type { FeatureSet, Task } from '@medssl/spec';

export const SOURCE_NAMES = ['synthetic:part-a', 'synthetic:part-b', 'synthetic:part-c', 'synthetic:noise'] as const;

export const binaryTask: Task = { type: 'binary', classes: ['negative', 'positive'], primaryMetric: 'auc' };
export const ordinalTask: Task = { type: 'multiclass', classes: ['low', 'middle', 'high'], ordinal: true, primaryMetric: 'kappa' };

export interface SyntheticSourcesOptions {
  readonly task?: Task;
  readonly rows: number;
  readonly split: 'train' | 'val' | 'test';
  /** Seed of the samples; the feature directions depend on `worldSeed` only, shared by every split. */
  readonly seed: number;
  readonly worldSeed?: number;
  /** Dimension of every source; default 16. */
  readonly dimension?: number;
  /** Length of a factor's direction, in units of the per-dimension noise; default 3. */
  readonly strength?: number;
}

/** One feature set per source (three informative, then the noise source), same ids and targets. */
export function syntheticSources(options: SyntheticSourcesOptions): FeatureSet[] {
  const task = options.task ?? binaryTask;
  const dimension = options.dimension ?? 16;
  const strength = options.strength ?? 3;
  const { rows, split } = options;
  const world = createRng(options.worldSeed ?? 2021);
  const directions = [0, 1, 2].map(() => {
    const direction = Float64Array.from({ length: dimension }, () => world.normal());
    const norm = Math.hypot(...direction);
    return direction.map((value) => (value / norm) * strength);
  });
  const rng = createRng(options.seed);
  const latent = Array.from({ length: rows }, () => [rng.normal(), rng.normal(), rng.normal()] as const);
  const sums = latent.map(([a, b, c]) => a + b + c);
  // Terciles of N(0, 3): ±0.4307·√3.
  const cut = 0.430727 * Math.sqrt(3);
  const classes = Int32Array.from(sums, (sum) => (task.type === 'binary' ? (sum > 0 ? 1 : 0) : sum < -cut ? 0 : sum < cut ? 1 : 2));
  const noise = rng.fork('noise');
  return SOURCE_NAMES.map((backbone, source) => {
    const features = new Float32Array(rows * dimension);
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < dimension; column++) {
        const signal = source < 3 ? latent[row]![source]! * directions[source]![column]! : 0;
        features[row * dimension + column] = signal + noise.normal();
      }
    }
    return {
      features: { data: features, shape: [rows, dimension] },
      targets: { type: 'class', data: classes, shape: [rows] },
      ids: Array.from({ length: rows }, (_, row) => `${split}-${row}`),
      manifest: {
        format: 'medssl.features/v1',
        dataset: { id: 'synthetic:fusion', version: `seed-${options.seed}` },
        task,
        split,
        backbone,
        weightsSha256: String(source).repeat(64),
        preprocessing: { channels: 3 },
        runtime: { id: 'synthetic', provider: 'none', precision: 'float32' },
        count: rows,
        dimension,
        created: '1970-01-01T00:00:00.000Z',
      },
    } satisfies FeatureSet;
  });
}
