import { gramMatrix, tridiagonalEigenvalues, tridiagonalEigenvector, tridiagonalize } from './linear-algebra.js';

/**
 * Eigenvalues below this share of the largest are treated as zero: the rank of the features. They are
 * rounding noise of the Gram matrix (about `size · 2⁻⁵² · λmax`) or directions no estimator can use.
 */
export const RELATIVE_RANK_TOLERANCE = 1e-10;

/**
 * The singular value decomposition `X = U Σ Vᵀ` of an `n × d` feature matrix, computed once from the
 * Gram matrix of its smaller side (`Xᵀ X` when `n > d`, `X Xᵀ` otherwise) and kept in the form the
 * estimators read: the squared singular values, the coordinates `uᵢᵀ a` of chosen sample-space vectors,
 * and the leading principal scores `U_k Σ_k` on request.
 */
export interface SpectralView {
  readonly rows: number;
  readonly columns: number;
  /** `σᵢ²`, descending, `min(n, d)` of them, none negative. */
  readonly values: Float64Array;
  /** How many of `values` exceed `RELATIVE_RANK_TOLERANCE · values[0]`. */
  readonly rank: number;
  /** `coordinates[v][i] = uᵢᵀ a_v` for the requested vectors, 0 at and beyond `rank`. */
  readonly coordinates: readonly Float64Array[];
  /** `U_k Σ_k`, `n × count` row-major: the rows' coordinates on the leading `count ≤ rank` principal axes. */
  principalScores(count: number): Float64Array;
}

/**
 * The spectral view of `rows` (`n × d`, row-major float64) from its Gram matrix on the smaller side
 * (`gram`, `min(n, d)` square, overwritten), with the coordinates of `sampleVectors` (each of length n).
 */
export function spectralView(rows: Float64Array, n: number, d: number, gram: Float64Array, sampleVectors: readonly Float64Array[]): SpectralView {
  const featureSide = n > d;
  const size = featureSide ? d : n;
  const tridiagonal = tridiagonalize(gram, size);
  // Vectors in the Gram's own space: Xᵀa (feature side) or a itself (sample side).
  const carried = sampleVectors.map((vector) => (featureSide ? transposeTimes(rows, n, d, vector) : Float64Array.from(vector)));
  tridiagonal.toTridiagonalBasis(carried);
  const unsorted = tridiagonalEigenvalues(tridiagonal.diagonal, tridiagonal.offDiagonal, carried);
  const order = Array.from(unsorted.keys()).sort((a, b) => unsorted[b]! - unsorted[a]! || a - b);
  const values = Float64Array.from(order, (index) => Math.max(0, unsorted[index]!));
  const largest = values[0] ?? 0;
  let rank = 0;
  while (rank < size && values[rank]! > RELATIVE_RANK_TOLERANCE * largest) rank++;
  const coordinates = carried.map((vector) => {
    const result = new Float64Array(size);
    for (let i = 0; i < rank; i++) {
      const value = vector[order[i]!]!;
      // Feature side: vᵢᵀ Xᵀ a = σᵢ uᵢᵀ a.
      result[i] = featureSide ? value / Math.sqrt(values[i]!) : value;
    }
    return result;
  });

  return {
    rows: n,
    columns: d,
    values,
    rank,
    coordinates,
    principalScores(count) {
      if (!Number.isInteger(count) || count < 1 || count > rank) {
        throw new RangeError(`transferability: principal scores need 1 to ${rank} components (the rank), got ${count}`);
      }
      const vectors: Float64Array[] = [];
      for (let k = 0; k < count; k++) {
        // Earlier vectors of eigenvalues within 1e-3·λmax are kept orthogonal, as LAPACK's inverse iteration does.
        const near = vectors.filter((_, j) => Math.abs(values[j]! - values[k]!) <= 1e-3 * largest);
        vectors.push(tridiagonalEigenvector(tridiagonal.diagonal, tridiagonal.offDiagonal, values[k]!, near, startVector(size, k)));
      }
      tridiagonal.fromTridiagonalBasis(vectors);
      const scores = new Float64Array(n * count);
      if (featureSide) {
        // X V_k: each row against each principal direction.
        for (let r = 0; r < n; r++) {
          const offset = r * d;
          for (let k = 0; k < count; k++) {
            const direction = vectors[k]!;
            let sum = 0;
            for (let c = 0; c < d; c++) sum += rows[offset + c]! * direction[c]!;
            scores[r * count + k] = sum;
          }
        }
      } else {
        for (let k = 0; k < count; k++) {
          const sigma = Math.sqrt(values[k]!);
          const direction = vectors[k]!;
          for (let r = 0; r < n; r++) scores[r * count + k] = direction[r]! * sigma;
        }
      }
      return scores;
    },
  };
}

/** A fixed start for inverse iteration that is unlikely to be orthogonal to any eigenvector. */
function startVector(size: number, index: number): Float64Array {
  const vector = new Float64Array(size);
  for (let i = 0; i < size; i++) vector[i] = 1 + 0.5 * Math.sin(1.7 * (i + 1) + 0.3 * (index + 1));
  return vector;
}

/** `Xᵀ a` for row-major `X` (`n × d`). */
export function transposeTimes(rows: Float64Array, n: number, d: number, vector: Float64Array): Float64Array {
  const result = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const weight = vector[r]!;
    if (weight === 0) continue;
    const offset = r * d;
    for (let c = 0; c < d; c++) result[c] = result[c]! + weight * rows[offset + c]!;
  }
  return result;
}

/** The float64 feature matrix with its column means, centred rows, and the Gram matrices of both. */
export interface PreparedFeatures {
  readonly rows: number;
  readonly columns: number;
  readonly raw: Float64Array;
  readonly mean: Float64Array;
  readonly centered: Float64Array;
  /** The Gram matrix of the centred features on the smaller side (a fresh copy on every call). */
  centeredGram(): Promise<Float64Array>;
  /** The Gram matrix of the raw features on the smaller side (a fresh copy on every call). */
  rawGram(): Promise<Float64Array>;
}

/**
 * Converts the features to float64, centres them, and computes one Gram matrix, of the centred rows on
 * the smaller side; the raw Gram matrix follows from it by adding the mean's terms (no cancellation).
 * `centeredGramOf`, when given, computes that Gram matrix from the centred rows instead (TransRate sums
 * its classes' Gram matrices into it rather than read the data twice).
 */
export function prepareFeatures(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  centeredGramOf?: (centered: Float64Array) => Promise<Float64Array>,
): PreparedFeatures {
  const raw = Float64Array.from(data);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) mean[c] = mean[c]! + raw[r * d + c]!;
  for (let c = 0; c < d; c++) mean[c] = mean[c]! / n;
  const centered = new Float64Array(n * d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) centered[r * d + c] = raw[r * d + c]! - mean[c]!;
  const featureSide = n > d;
  const size = featureSide ? d : n;
  let gram: Promise<Float64Array> | undefined;
  const centeredGram = (): Promise<Float64Array> => {
    gram ??= centeredGramOf?.(centered) ?? gramMatrix(centered, n, d, featureSide ? 'columns' : 'rows');
    return gram;
  };
  return {
    rows: n,
    columns: d,
    raw,
    mean,
    centered,
    centeredGram: async () => Float64Array.from(await centeredGram()),
    async rawGram() {
      const result = Float64Array.from(await centeredGram());
      if (featureSide) {
        // Xᵀ X = Xcᵀ Xc + n μ μᵀ.
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) result[i * d + j] = result[i * d + j]! + n * mean[i]! * mean[j]!;
      } else {
        // X Xᵀ = Xc Xcᵀ + Xc μ 1ᵀ + 1 μᵀ Xcᵀ + (μ·μ) 1 1ᵀ.
        const projections = new Float64Array(n);
        let meanSquare = 0;
        for (let c = 0; c < d; c++) meanSquare += mean[c]! ** 2;
        for (let r = 0; r < n; r++) {
          let sum = 0;
          for (let c = 0; c < d; c++) sum += centered[r * d + c]! * mean[c]!;
          projections[r] = sum;
        }
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) result[i * size + j] = result[i * size + j]! + projections[i]! + projections[j]! + meanSquare;
        }
      }
      return result;
    },
  };
}
