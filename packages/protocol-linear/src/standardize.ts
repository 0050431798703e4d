import type { Matrix } from '@medssl/spec';

/** Per-feature mean and scale of the training rows, as scikit-learn's `StandardScaler` computes them. */
export interface FeatureScaling {
  readonly mean: Float64Array;
  /** Population standard deviation; 1 for a feature that is constant over the training rows. */
  readonly scale: Float64Array;
  /** Features that vary over the training rows (their standardised variance is 1, the others' 0). */
  readonly varyingFeatures: number;
}

/**
 * Mean and standard deviation of each feature over `rows` of `features` (every row when absent), in
 * float64 with two passes. A feature counts as constant when its variance is within the rounding error of
 * the two-pass algorithm, scikit-learn's rule (`_is_constant_feature`), and gets scale 1 so that
 * standardising leaves it at 0 instead of dividing by zero.
 */
export function fitScaling(features: Matrix, rows: Int32Array | undefined): FeatureScaling {
  const [allRows, dimension] = features.shape;
  const count = rows?.length ?? allRows;
  const data = features.data;
  const sums = new Float64Array(dimension);
  for (let index = 0; index < count; index++) {
    const start = (rows === undefined ? index : rows[index]!) * dimension;
    for (let feature = 0; feature < dimension; feature++) sums[feature]! += data[start + feature]!;
  }
  const mean = sums.map((sum) => sum / count);
  const squares = new Float64Array(dimension);
  for (let index = 0; index < count; index++) {
    const start = (rows === undefined ? index : rows[index]!) * dimension;
    for (let feature = 0; feature < dimension; feature++) {
      const centered = data[start + feature]! - mean[feature]!;
      squares[feature]! += centered * centered;
    }
  }
  const epsilon = Number.EPSILON;
  let varyingFeatures = 0;
  const scale = new Float64Array(dimension);
  for (let feature = 0; feature < dimension; feature++) {
    const variance = squares[feature]! / count;
    const roundingBound = count * epsilon * variance + (count * mean[feature]! * epsilon) ** 2;
    const constant = variance <= roundingBound;
    scale[feature] = constant ? 1 : Math.sqrt(variance);
    if (!constant) varyingFeatures++;
  }
  return { mean, scale, varyingFeatures };
}

/**
 * Writes `(x - mean) / scale` of the chosen rows as float32 into `into`, row after row with
 * `intoStride` values per row; columns past the dimension and rows past the count are left as they are
 * (zero in a fresh workspace).
 */
export function writeStandardized(features: Matrix, rows: Int32Array | undefined, scaling: FeatureScaling, into: Float32Array, intoStride: number): void {
  const [allRows, dimension] = features.shape;
  const count = rows?.length ?? allRows;
  const inverseScale = scaling.scale.map((scale) => 1 / scale);
  const { mean } = scaling;
  const data = features.data;
  for (let index = 0; index < count; index++) {
    const start = (rows === undefined ? index : rows[index]!) * dimension;
    const target = index * intoStride;
    for (let feature = 0; feature < dimension; feature++) {
      into[target + feature] = (data[start + feature]! - mean[feature]!) * inverseScale[feature]!;
    }
  }
}
