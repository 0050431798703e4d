import { gramMatrix, logDeterminantOfIdentityPlus } from './linear-algebra.js';
import type { LabelProblem } from './problems.js';
import type { SpectralView } from './spectral.js';

/** TransRate's distortion ε, as in the code listed with the paper. */
export const TRANSRATE_EPSILON = 1e-4;

/**
 * TransRate (Huang, Huang, Rong, Yang and Wei, ICML 2022): the coding rate of the centred features minus
 * their mean coding rate within each class, R(Z, ε) − (1/K) Σ_c R(Z_c, ε), with
 * R(Z, ε) = ½ log det(I + ZᵀZ / (n ε)) for the n rows of Z, and ε = 1e-4, as in the code the authors list
 * (rows are centred once, on the overall mean; K counts the classes present). R(Z) is `whole`, from the
 * spectrum (`spectralCodingRate`) or by Cholesky (`choleskyCodingRate`); each class's comes from a Cholesky
 * factorisation on its smaller side (n_c × n_c or d × d).
 */
export async function transRate(
  whole: number,
  centered: Float64Array,
  d: number,
  problem: LabelProblem,
  classGrams?: ReadonlyMap<number, Float64Array>,
): Promise<number> {
  let within = 0;
  for (const label of problem.present) {
    const count = problem.counts[label]!;
    const gram = classGrams?.get(label) ?? (await classGram(centered, d, problem, label));
    within += logDeterminantOfIdentityPlus(gram, Math.min(count, d), 1 / (count * TRANSRATE_EPSILON)) / 2;
  }
  return whole - within / problem.present.length;
}

/** R(Z, ε) of all rows from the spectrum of their centred Gram matrix: ½ Σᵢ log(1 + σᵢ²/(nε)). */
export function spectralCodingRate(view: SpectralView): number {
  let whole = 0;
  for (let i = 0; i < view.rank; i++) whole += Math.log1p(view.values[i]! / (view.rows * TRANSRATE_EPSILON));
  return whole / 2;
}

/** R(Z, ε) of all rows by Cholesky of their centred Gram matrix (overwritten), when nothing else needs its spectrum. */
export function choleskyCodingRate(centeredGram: Float64Array, n: number, d: number): number {
  return logDeterminantOfIdentityPlus(centeredGram, Math.min(n, d), 1 / (n * TRANSRATE_EPSILON)) / 2;
}

/** The Gram matrix of one class's centred rows on its smaller side: `n_c × n_c`, or `d × d` when n_c > d. */
export function classGram(centered: Float64Array, d: number, problem: LabelProblem, label: number): Promise<Float64Array> {
  const count = problem.counts[label]!;
  const rows = new Float64Array(count * d);
  let next = 0;
  problem.labels.forEach((value, row) => {
    if (value === label) rows.set(centered.subarray(row * d, (row + 1) * d), d * next++);
  });
  return gramMatrix(rows, count, d, count <= d ? 'rows' : 'columns');
}
