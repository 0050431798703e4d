import type { Task } from '@medssl/spec';
import type { LabelProblem } from './problems.js';
import type { SpectralView } from './spectral.js';

/**
 * The target columns LogME scores, each as a regression target of a Bayesian linear model on the raw
 * features: one-hot columns of the classes present (binary and multiclass tasks), the grade itself for
 * an ordinal task (so that confusing distant grades costs more than neighbouring ones), one 0/1 column per
 * label for a multilabel task.
 */
export function logmeTargets(problems: readonly LabelProblem[], task: Task): Float64Array[] {
  if (task.type === 'multilabel') return problems.map((problem) => Float64Array.from(problem.labels));
  const [problem] = problems;
  if (problem === undefined) return [];
  if (task.type === 'multiclass' && task.ordinal) return [Float64Array.from(problem.labels)];
  return problem.present.map((label) => Float64Array.from(problem.labels, (value) => (value === label ? 1 : 0)));
}

const EPSILON = 1e-5;
const MAX_ITERATIONS = 11;
const RELATIVE_TOLERANCE = 1e-3;

/**
 * LogME (You, Liu, Wang and Long, ICML 2021): the log marginal evidence, per row, of `y = X w + noise`
 * with prior `w ~ N(0, α⁻¹ I_D)` and noise precision β,
 *
 *   L(α, β) = D/2 log α + N/2 log β − N/2 log 2π − β/2 ‖X m − y‖² − α/2 ‖m‖² − 1/2 log det(α I + β XᵀX),
 *
 * maximised over α and β by the fixed-point iteration of the authors' fast version (arXiv 2110.10545,
 * algorithm 2: at most 11 steps, stopping when α/β changes by at most 0.1 %, with 1e-5 added to both
 * denominators), all on the SVD: with `σᵢ²` the squared singular values and `xᵢ = uᵢᵀ y`,
 * γ = Σ σᵢ²/(σᵢ² + t), ‖m‖² = Σ σᵢ² xᵢ²/(t + σᵢ²)², ‖Xm − y‖² = Σ xᵢ²/(1 + σᵢ²/t)² + (‖y‖² − Σ xᵢ²).
 * The log-determinant runs over all D eigenvalues of `α I + β XᵀX`, the D − rank zero ones included (the
 * authors' code leaves those out when the rank is below D, e.g. with fewer rows than dimensions).
 */
export function logmeEvidence(view: SpectralView, coordinates: Float64Array, squaredNorm: number): number {
  const n = view.rows;
  const d = view.columns;
  const { values, rank } = view;
  let projected = 0;
  for (let i = 0; i < rank; i++) projected += coordinates[i]! ** 2;
  const residualOutside = Math.max(0, squaredNorm - projected);
  let alpha = 1;
  let beta = 1;
  let m2 = 0;
  let res2 = 0;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const t = alpha / beta;
    let gamma = 0;
    m2 = 0;
    res2 = residualOutside;
    for (let i = 0; i < rank; i++) {
      const sigma2 = values[i]!;
      const x2 = coordinates[i]! ** 2;
      gamma += sigma2 / (sigma2 + t);
      m2 += (sigma2 * x2) / (t + sigma2) ** 2;
      res2 += x2 / (1 + sigma2 / t) ** 2;
    }
    alpha = gamma / (m2 + EPSILON);
    beta = (n - gamma) / (res2 + EPSILON);
    if (Math.abs(alpha / beta - t) / t <= RELATIVE_TOLERANCE) break;
  }
  let logDeterminant = (d - rank) * Math.log(alpha);
  for (let i = 0; i < rank; i++) logDeterminant += Math.log(alpha + beta * values[i]!);
  const evidence =
    (d / 2) * Math.log(alpha) + (n / 2) * Math.log(beta) - 0.5 * logDeterminant - (beta / 2) * res2 - (alpha / 2) * m2 - (n / 2) * Math.log(2 * Math.PI);
  return evidence / n;
}
