import { createRng } from '@medssl/core';
import { PANEL_WIDTH } from '@medssl/kernels';
import { panelIndex, type Workspace } from './workspace.js';

/**
 * The leading eigenvectors and eigenvalues of the standardised features' covariance C = Xᵀ X / n, and
 * the mean eigenvalue of the rest: C ≈ V diag(values) Vᵀ + tail (I - V Vᵀ).
 */
export interface FeatureSpectrum {
  readonly rank: number;
  readonly dimension: number;
  /** `rank` rows of `dimension`: orthonormal eigenvectors, largest eigenvalue first. */
  readonly vectors: Float64Array;
  readonly values: Float64Array;
  /** Mean eigenvalue outside the span of `vectors`. */
  readonly tail: number;
}

/** The random start of the range finder is fixed: results must not depend on the run's seed. */
const SPECTRUM_SEED = 20_210_823;
/** Training rows the covariance is estimated on at least (every k-th row), and per eigenvector. */
const SAMPLE_ROWS = 2048;
const SAMPLE_ROWS_PER_COMPONENT = 16;

/**
 * A randomised eigendecomposition (Halko, Martinsson and Tropp 2011, algorithms 4.3 and 5.3): sketch the
 * range of C with `rank` random directions, sharpen it by power iterations, then diagonalise C inside it.
 * Each multiplication by C is one pass of the feature kernels with `rank` columns.
 */
export function estimateSpectrum(workspace: Workspace, rank: number, varyingFeatures: number, powerIterations: number): FeatureSpectrum {
  const dimension = workspace.dimension;
  // C has at most min(rows - 1, varying features) nonzero eigenvalues: rows are centred.
  const largestRank = Math.min(rank, varyingFeatures, Math.max(workspace.rows - 1, 0), workspace.maximumPanels * PANEL_WIDTH);
  if (largestRank <= 0) return { rank: 0, dimension, vectors: new Float64Array(0), values: new Float64Array(0), tail: varyingFeatures > 0 ? 1 : 0 };
  // Every step-th row: a sample spread over the whole split, however it is ordered.
  const wanted = Math.max(SAMPLE_ROWS, SAMPLE_ROWS_PER_COMPONENT * largestRank);
  const step = Math.max(1, Math.floor(workspace.rows / wanted));
  const sample = { step, rows: step === 1 ? workspace.rows : Math.floor(workspace.rows / step / 4) * 4 };
  const rng = createRng(SPECTRUM_SEED);
  let basis: Float64Array = new Float64Array(largestRank * dimension);
  for (let index = 0; index < basis.length; index++) basis[index] = rng.normal();
  let count = largestRank;
  for (let pass = 0; pass <= powerIterations; pass++) {
    basis = multiplyByCovariance(workspace, basis, count, sample);
    count = orthonormalizeRows(basis, count, dimension);
    if (count === 0) break;
  }
  if (count === 0) return { rank: 0, dimension, vectors: new Float64Array(0), values: new Float64Array(0), tail: 1 };
  // Rayleigh–Ritz: diagonalise Qᵀ C Q.
  const product = multiplyByCovariance(workspace, basis, count, sample);
  const projected = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let feature = 0; feature < dimension; feature++) sum += basis[i * dimension + feature]! * product[j * dimension + feature]!;
      projected[i * count + j] = sum;
      projected[j * count + i] = sum;
    }
  }
  const { values, vectors: smallVectors } = symmetricEigen(projected, count);
  const vectors = new Float64Array(count * dimension);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      const weight = smallVectors[j * count + i]!;
      if (weight === 0) continue;
      for (let feature = 0; feature < dimension; feature++) vectors[i * dimension + feature]! += weight * basis[j * dimension + feature]!;
    }
  }
  const clipped = values.map((value) => Math.max(value, 0));
  // Standardised features have variance 1 each, so trace(C) is the number of varying features.
  const captured = clipped.reduce((sum, value) => sum + value, 0);
  const remainingDirections = varyingFeatures - count;
  const tail = remainingDirections > 0 ? Math.max(varyingFeatures - captured, 0) / remainingDirections : 0;
  return { rank: count, dimension, vectors, values: clipped, tail };
}

/**
 * C · vᵢ for each of the first `count` rows vᵢ of `rows`, through the workspace's kernels, with C
 * estimated on every `sample.step`-th training row.
 */
function multiplyByCovariance(workspace: Workspace, rows: Float64Array, count: number, sample: { step: number; rows: number }): Float64Array {
  const { dimension, paddedDimension, weights, gradients } = workspace;
  const panels = Math.ceil(count / PANEL_WIDTH);
  weights.fill(0, 0, panels * paddedDimension * PANEL_WIDTH);
  for (let column = 0; column < count; column++) {
    for (let feature = 0; feature < dimension; feature++) weights[panelIndex(feature, column, paddedDimension)] = rows[column * dimension + feature]!;
  }
  if (sample.step === 1) {
    workspace.forward(panels);
    workspace.backward(panels);
  } else {
    workspace.sampledCovarianceProduct(sample.step, sample.rows, panels);
  }
  const result = new Float64Array(rows.length);
  const inverseRows = 1 / sample.rows;
  for (let column = 0; column < count; column++) {
    for (let feature = 0; feature < dimension; feature++) {
      result[column * dimension + feature] = gradients[panelIndex(feature, column, paddedDimension)]! * inverseRows;
    }
  }
  return result;
}

/**
 * Gram–Schmidt, twice per row for stability; rows that vanish (a rank-deficient C) are dropped and the
 * rest moved up. Returns the number of rows kept.
 */
function orthonormalizeRows(rows: Float64Array, count: number, dimension: number): number {
  let kept = 0;
  for (let row = 0; row < count; row++) {
    const start = row * dimension;
    let originalNorm = 0;
    for (let feature = 0; feature < dimension; feature++) originalNorm += rows[start + feature]! ** 2;
    originalNorm = Math.sqrt(originalNorm);
    for (let pass = 0; pass < 2; pass++) {
      for (let previous = 0; previous < kept; previous++) {
        const previousStart = previous * dimension;
        let dot = 0;
        for (let feature = 0; feature < dimension; feature++) dot += rows[start + feature]! * rows[previousStart + feature]!;
        for (let feature = 0; feature < dimension; feature++) rows[start + feature]! -= dot * rows[previousStart + feature]!;
      }
    }
    let norm = 0;
    for (let feature = 0; feature < dimension; feature++) norm += rows[start + feature]! ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 1e-9 * originalNorm) || norm === 0) continue;
    const target = kept * dimension;
    for (let feature = 0; feature < dimension; feature++) rows[target + feature] = rows[start + feature]! / norm;
    kept++;
  }
  rows.fill(0, kept * dimension);
  return kept;
}

/**
 * Eigenvalues (descending) and eigenvectors (columns of `vectors`, `size × size`) of a symmetric
 * matrix, by cyclic Jacobi rotations: slow for large matrices, exact and simple for the small ones here.
 */
export function symmetricEigen(matrix: Float64Array, size: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(size * size);
  for (let i = 0; i < size; i++) v[i * size + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let offDiagonal = 0;
    let diagonal = 0;
    for (let i = 0; i < size; i++) {
      diagonal += a[i * size + i]! ** 2;
      for (let j = i + 1; j < size; j++) offDiagonal += a[i * size + j]! ** 2;
    }
    if (offDiagonal <= 1e-30 * diagonal || offDiagonal === 0) break;
    for (let p = 0; p < size; p++) {
      for (let q = p + 1; q < size; q++) {
        const apq = a[p * size + q]!;
        if (apq === 0) continue;
        const app = a[p * size + p]!;
        const aqq = a[q * size + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < size; k++) {
          const akp = a[k * size + p]!;
          const akq = a[k * size + q]!;
          a[k * size + p] = c * akp - s * akq;
          a[k * size + q] = s * akp + c * akq;
        }
        for (let k = 0; k < size; k++) {
          const apk = a[p * size + k]!;
          const aqk = a[q * size + k]!;
          a[p * size + k] = c * apk - s * aqk;
          a[q * size + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < size; k++) {
          const vkp = v[k * size + p]!;
          const vkq = v[k * size + q]!;
          v[k * size + p] = c * vkp - s * vkq;
          v[k * size + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: size }, (_, index) => index).sort((left, right) => a[right * size + right]! - a[left * size + left]!);
  const values = Float64Array.from(order, (index) => a[index * size + index]!);
  const vectors = new Float64Array(size * size);
  order.forEach((source, target) => {
    for (let k = 0; k < size; k++) vectors[k * size + target] = v[k * size + source]!;
  });
  return { values, vectors };
}
