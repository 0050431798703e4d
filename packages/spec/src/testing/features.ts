import type { FeatureSet, TargetArray } from '../features.js';
import type { Task } from '../task.js';
import { seededUniform } from './assert.js';

export interface SyntheticFeatureOptions {
  readonly rows: number;
  readonly dimension: number;
  readonly seed: number;
  /** Distance between class centres in units of the noise's standard deviation. */
  readonly separation?: number;
  readonly split?: string;
}

/**
 * Seeded Gaussian blobs that a linear model separates well: a class (or label) moves the features along
 * its own random direction. For protocol conformance tests and examples, not for experiments.
 */
export function syntheticFeatureSet(task: Task, options: SyntheticFeatureOptions): FeatureSet {
  const { rows, dimension, seed } = options;
  const separation = options.separation ?? 4;
  const uniform = seededUniform(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  // Directions depend only on the task and dimension, so train, val and test sets share them.
  const directionSource = seededUniform(dimension * 7919 + 17);
  const outputs = task.type === 'multilabel' ? task.labels.length : task.classes.length;
  const directions = Array.from({ length: outputs }, () => {
    const direction = Float64Array.from({ length: dimension }, () => directionSource() * 2 - 1);
    const norm = Math.hypot(...direction);
    return direction.map((value) => value / norm);
  });
  const features = new Float32Array(rows * dimension);
  let targets: TargetArray;
  if (task.type === 'multilabel') {
    const flags = new Uint8Array(rows * outputs);
    for (let row = 0; row < rows; row++) {
      for (let label = 0; label < outputs; label++) flags[row * outputs + label] = uniform() < 0.35 ? 1 : 0;
    }
    targets = { type: 'labels', data: flags, shape: [rows, outputs] };
  } else {
    const classes = Int32Array.from({ length: rows }, (_, row) => row % outputs);
    targets = { type: 'class', data: classes, shape: [rows] };
  }
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < dimension; column++) {
      let value = normal();
      for (let output = 0; output < outputs; output++) {
        const active = targets.type === 'labels' ? targets.data[row * outputs + output] === 1 : targets.data[row] === output;
        if (active) value += separation * directions[output]![column]!;
      }
      features[row * dimension + column] = value;
    }
  }
  const split = options.split ?? 'train';
  return {
    features: { data: features, shape: [rows, dimension] },
    targets,
    ids: Array.from({ length: rows }, (_, row) => `${split}-${row}`),
    manifest: {
      format: 'medssl.features/v1',
      dataset: { id: 'synthetic', version: `seed-${seed}` },
      task,
      split,
      backbone: 'synthetic:blobs',
      weightsSha256: '0'.repeat(64),
      preprocessing: { channels: 3 },
      runtime: { id: 'synthetic', provider: 'none', precision: 'float32' },
      count: rows,
      dimension,
      created: '1970-01-01T00:00:00.000Z',
    },
  };
}
