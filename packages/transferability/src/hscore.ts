import type { LabelProblem } from './problems.js';
import type { SpectralView } from './spectral.js';

/** The sample-space vectors H-score needs: one 0/1 indicator per present class of each problem. */
export function classIndicators(problems: readonly LabelProblem[]): Float64Array[] {
  return problems.flatMap((problem) => problem.present.map((label) => Float64Array.from(problem.labels, (value) => (value === label ? 1 : 0))));
}

/**
 * The Ledoit–Wolf shrinkage of the features' covariance (Ledoit and Wolf 2004), as scikit-learn's
 * `ledoit_wolf_shrinkage` computes it on centred rows: with S = XcᵀXc/n, μ = tr(S)/d,
 * δ = (‖S‖²_F − dμ²)/d and b = (Σᵣ‖xᵣ‖⁴/n − ‖S‖²_F)/(nd), the shrinkage is min(b, δ)/δ.
 */
export function ledoitWolfShrinkage(centered: Float64Array, n: number, d: number, centeredGram: Float64Array): { shrinkage: number; mu: number } {
  let trace = 0;
  let fourth = 0;
  for (let r = 0; r < n; r++) {
    let norm2 = 0;
    for (let c = 0; c < d; c++) norm2 += centered[r * d + c]! ** 2;
    trace += norm2;
    fourth += norm2 * norm2;
  }
  const mu = trace / n / d;
  // ‖XcᵀXc‖_F = ‖Xc Xcᵀ‖_F: either Gram matrix gives ‖S‖²_F.
  let frobenius2 = 0;
  for (const value of centeredGram) frobenius2 += value * value;
  const covariance2 = frobenius2 / (n * n);
  const delta = (covariance2 - d * mu * mu) / d;
  const b = Math.min((fourth / n - covariance2) / (n * d), delta);
  return { shrinkage: b === 0 ? 0 : b / delta, mu };
}

/**
 * The regularised H-score of Ibrahim, Ponomareva and Mazumder ("Newer is not always better", 2022), the
 * shrinkage form of Bao et al.'s H-score (ICIP 2019):
 *
 *   H_α = tr( Σ_α⁻¹ (1 − α) cov(E[f | y]) ),  Σ_α = (1 − α) S + α μ I,
 *
 * α and μ from Ledoit–Wolf, S the features' covariance and cov(E[f | y]) = Σ_c (n_c/n) δ_c δ_cᵀ with δ_c the
 * class mean minus the overall mean (both covariances with 1/n). On the SVD of the centred features,
 * vᵢᵀ δ_c = σᵢ uᵢᵀ 1_c / n_c, so H_α = (1 − α) Σ_c Σᵢ σᵢ² (uᵢᵀ 1_c)² / (n n_c ((1 − α) σᵢ²/n + α μ)).
 * Directions outside the features' span carry no class mean, so rank-deficient features (n < d) are exact.
 */
export function hScore(view: SpectralView, problem: LabelProblem, indicatorCoordinates: readonly Float64Array[], shrinkage: number, mu: number): number {
  const n = view.rows;
  let score = 0;
  problem.present.forEach((label, index) => {
    const coordinates = indicatorCoordinates[index]!;
    const count = problem.counts[label]!;
    for (let i = 0; i < view.rank; i++) {
      const sigma2 = view.values[i]!;
      score += (sigma2 * coordinates[i]! ** 2) / (n * count * ((1 - shrinkage) * (sigma2 / n) + shrinkage * mu));
    }
  });
  return (1 - shrinkage) * score;
}
