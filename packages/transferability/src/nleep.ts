import type { LabelProblem } from './problems.js';

/** Share of the features' variance the principal components NLEEP works on keep (as Li et al.). */
export const NLEEP_VARIANCE_KEPT = 0.8;
/** At most this many components, to bound the mixture's cost on flat spectra (medssl's choice). */
export const NLEEP_MAX_COMPONENTS = 256;
/** Gaussians in the mixture per class (per label for multilabel tasks): medssl's choice. */
export const NLEEP_GAUSSIANS_PER_CLASS = 5;
const MAX_ITERATIONS = 100;
/** EM stops once the mean log-likelihood per row rises by less than this. */
const TOLERANCE = 1e-6;
/** Added to every variance, as a share of the mean variance of the components. */
const VARIANCE_FLOOR = 1e-6;
const GOLDEN = 0.6180339887498949;

/** How many principal components keep `NLEEP_VARIANCE_KEPT` of the variance, given the descending spectrum. */
export function nleepComponents(values: Float64Array, rank: number): number {
  let total = 0;
  for (let i = 0; i < rank; i++) total += values[i]!;
  let kept = 0;
  let count = 0;
  while (count < rank && kept < NLEEP_VARIANCE_KEPT * total) kept += values[count++]!;
  return Math.max(1, Math.min(count, NLEEP_MAX_COMPONENTS));
}

/** Gaussians in NLEEP's mixture: five per class (per label), at most half the rows. */
export function nleepGaussians(classCount: number, n: number): number {
  return Math.max(1, Math.min(NLEEP_GAUSSIANS_PER_CLASS * classCount, Math.floor(n / 2)));
}

/**
 * The posterior of each Gaussian for each row, `n × gaussians`, of a diagonal-covariance Gaussian mixture
 * fitted by EM to the principal scores. Initial means are rows picked by a golden-ratio sequence from the
 * seed (distinct rows), initial variances the components' overall variances, weights uniform.
 */
export function mixturePosteriors(scores: Float64Array, n: number, components: number, gaussians: number, seed: number): Float64Array {
  const overall = new Float64Array(components);
  const grand = new Float64Array(components);
  for (let r = 0; r < n; r++) for (let k = 0; k < components; k++) grand[k] = grand[k]! + scores[r * components + k]! / n;
  for (let r = 0; r < n; r++) for (let k = 0; k < components; k++) overall[k] = overall[k]! + (scores[r * components + k]! - grand[k]!) ** 2 / n;
  let meanVariance = 0;
  for (const value of overall) meanVariance += value / components;
  const floor = VARIANCE_FLOOR * meanVariance;

  const means = new Float64Array(gaussians * components);
  const variances = new Float64Array(gaussians * components);
  const logWeights = new Float64Array(gaussians).fill(-Math.log(gaussians));
  const taken = new Uint8Array(n);
  const offset = seed * GOLDEN * GOLDEN;
  for (let g = 0; g < gaussians; g++) {
    const position = 0.5 + offset + (g + 1) * GOLDEN;
    let row = Math.floor((position - Math.floor(position)) * n);
    while (taken[row]) row = (row + 1) % n;
    taken[row] = 1;
    for (let k = 0; k < components; k++) {
      means[g * components + k] = scores[row * components + k]!;
      variances[g * components + k] = overall[k]! + floor;
    }
  }

  const posteriors = new Float64Array(n * gaussians);
  const expectation = (): number => {
    const logNormalizers = new Float64Array(gaussians);
    for (let g = 0; g < gaussians; g++) {
      let sum = 0;
      for (let k = 0; k < components; k++) sum += Math.log(2 * Math.PI * variances[g * components + k]!);
      logNormalizers[g] = logWeights[g]! - 0.5 * sum;
    }
    let logLikelihood = 0;
    for (let r = 0; r < n; r++) {
      let largest = -Infinity;
      for (let g = 0; g < gaussians; g++) {
        let distance = 0;
        for (let k = 0; k < components; k++) {
          distance += (scores[r * components + k]! - means[g * components + k]!) ** 2 / variances[g * components + k]!;
        }
        const value = logNormalizers[g]! - 0.5 * distance;
        posteriors[r * gaussians + g] = value;
        if (value > largest) largest = value;
      }
      let total = 0;
      for (let g = 0; g < gaussians; g++) total += Math.exp(posteriors[r * gaussians + g]! - largest);
      const logTotal = largest + Math.log(total);
      logLikelihood += logTotal;
      for (let g = 0; g < gaussians; g++) posteriors[r * gaussians + g] = Math.exp(posteriors[r * gaussians + g]! - logTotal);
    }
    return logLikelihood / n;
  };
  const maximization = (): void => {
    const weights = new Float64Array(gaussians);
    means.fill(0);
    variances.fill(0);
    for (let r = 0; r < n; r++) {
      for (let g = 0; g < gaussians; g++) {
        const weight = posteriors[r * gaussians + g]!;
        weights[g] = weights[g]! + weight;
        for (let k = 0; k < components; k++) means[g * components + k] = means[g * components + k]! + weight * scores[r * components + k]!;
      }
    }
    for (let g = 0; g < gaussians; g++) {
      // As scikit-learn's mixtures: 10·ε keeps an empty Gaussian's weight positive.
      weights[g] = weights[g]! + 10 * 2 ** -52;
      for (let k = 0; k < components; k++) means[g * components + k] = means[g * components + k]! / weights[g]!;
    }
    for (let r = 0; r < n; r++) {
      for (let g = 0; g < gaussians; g++) {
        const weight = posteriors[r * gaussians + g]!;
        for (let k = 0; k < components; k++) {
          variances[g * components + k] = variances[g * components + k]! + weight * (scores[r * components + k]! - means[g * components + k]!) ** 2;
        }
      }
    }
    for (let g = 0; g < gaussians; g++) {
      for (let k = 0; k < components; k++) variances[g * components + k] = variances[g * components + k]! / weights[g]! + floor;
      logWeights[g] = Math.log(weights[g]! / n);
    }
  };

  let previous = -Infinity;
  let converged = false;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const logLikelihood = expectation();
    if (logLikelihood - previous < TOLERANCE) {
      converged = true;
      break;
    }
    previous = logLikelihood;
    maximization();
  }
  if (!converged) expectation();
  return posteriors;
}

/**
 * LEEP (Nguyen et al., ICML 2020) with the mixture's Gaussians as the source "labels", which makes it
 * NLEEP (Li, Jia, Xu and Wang, CVPR 2021): with γᵢᵥ the posterior of Gaussian v for row i,
 * P(y, v) = (1/n) Σᵢ γᵢᵥ [yᵢ = y], P(y | v) = P(y, v) / Σ_y' P(y', v), and the score is
 * (1/n) Σᵢ log Σᵥ γᵢᵥ P(yᵢ | v), the mean log-likelihood of the labels under the Gaussians' label distributions.
 */
export function leep(posteriors: Float64Array, n: number, gaussians: number, problem: LabelProblem): number {
  const joint = new Float64Array(problem.classCount * gaussians);
  for (let r = 0; r < n; r++) {
    const label = problem.labels[r]!;
    for (let g = 0; g < gaussians; g++) joint[label * gaussians + g] = joint[label * gaussians + g]! + posteriors[r * gaussians + g]! / n;
  }
  const marginal = new Float64Array(gaussians);
  for (let y = 0; y < problem.classCount; y++) for (let g = 0; g < gaussians; g++) marginal[g] = marginal[g]! + joint[y * gaussians + g]!;
  let score = 0;
  for (let r = 0; r < n; r++) {
    const label = problem.labels[r]!;
    let likelihood = 0;
    for (let g = 0; g < gaussians; g++) {
      if (marginal[g]! > 0) likelihood += (posteriors[r * gaussians + g]! * joint[label * gaussians + g]!) / marginal[g]!;
    }
    score += Math.log(likelihood);
  }
  return score / n;
}
