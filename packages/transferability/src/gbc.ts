import type { LabelProblem } from './problems.js';

/** Principal components GBC works on (medssl's choice; the authors reduce the features with PCA first). */
export const GBC_COMPONENTS = 64;
/** Added to every class variance, as a share of that component's overall variance, so singleton classes stay finite. */
export const GBC_VARIANCE_FLOOR = 1e-6;

/**
 * GBC, the Gaussian Bhattacharyya coefficient (Pándy, Agostinelli, Uijlings, Ferrari and Mensink, CVPR 2022):
 * each class a Gaussian with diagonal covariance on the leading principal components, and
 *
 *   GBC = − Σ_{c ≠ c'} exp(−D_B(c, c')),
 *   D_B = ⅛ (μ_c − μ_c')ᵀ Σ⁻¹ (μ_c − μ_c') + ½ ln(det Σ / √(det Σ_c det Σ_c')),  Σ = (Σ_c + Σ_c')/2,
 *
 * over ordered pairs of the classes present: the less the classes overlap, the higher (closer to 0) the score.
 * Class variances are population variances (1/n_c) plus `GBC_VARIANCE_FLOOR` times the component's variance.
 */
export function gbc(scores: Float64Array, n: number, components: number, problem: LabelProblem): number {
  const overall = new Float64Array(components);
  for (let r = 0; r < n; r++) for (let k = 0; k < components; k++) overall[k] = overall[k]! + scores[r * components + k]! ** 2 / n;
  const classes = problem.present.map((label) => {
    const count = problem.counts[label]!;
    const mean = new Float64Array(components);
    const variance = new Float64Array(components);
    problem.labels.forEach((value, row) => {
      if (value !== label) return;
      for (let k = 0; k < components; k++) mean[k] = mean[k]! + scores[row * components + k]! / count;
    });
    problem.labels.forEach((value, row) => {
      if (value !== label) return;
      for (let k = 0; k < components; k++) variance[k] = variance[k]! + (scores[row * components + k]! - mean[k]!) ** 2 / count;
    });
    for (let k = 0; k < components; k++) variance[k] = variance[k]! + GBC_VARIANCE_FLOOR * overall[k]!;
    return { mean, variance };
  });
  let total = 0;
  for (let a = 0; a < classes.length; a++) {
    for (let b = a + 1; b < classes.length; b++) {
      const first = classes[a]!;
      const second = classes[b]!;
      let distance = 0;
      for (let k = 0; k < components; k++) {
        const pooled = (first.variance[k]! + second.variance[k]!) / 2;
        distance += (first.mean[k]! - second.mean[k]!) ** 2 / (8 * pooled);
        distance += 0.5 * (Math.log(pooled) - 0.5 * (Math.log(first.variance[k]!) + Math.log(second.variance[k]!)));
      }
      // The pair counts twice: once as (c, c') and once as (c', c).
      total += 2 * Math.exp(-distance);
    }
  }
  return -total;
}
