import type { Matrix, TargetArray, Task } from '@medssl/spec';
import { GBC_COMPONENTS, gbc } from './gbc.js';
import { classIndicators, hScore, ledoitWolfShrinkage } from './hscore.js';
import { KNN_NEIGHBOURS, knnScore, nearestNeighbours } from './knn.js';
import { logmeEvidence, logmeTargets } from './logme.js';
import { leep, mixturePosteriors, nleepComponents, nleepGaussians } from './nleep.js';
import { labelProblems, mean, TransferabilityInputError } from './problems.js';
import { prepareFeatures, type SpectralView, spectralView } from './spectral.js';
import { choleskyCodingRate, classGram, spectralCodingRate, transRate } from './transrate.js';

export { weightedKendallTau } from './tau.js';
export { TransferabilityInputError } from './problems.js';
export { GBC_COMPONENTS, GBC_VARIANCE_FLOOR } from './gbc.js';
export { KNN_NEIGHBOURS } from './knn.js';
export { NLEEP_GAUSSIANS_PER_CLASS, NLEEP_MAX_COMPONENTS, NLEEP_VARIANCE_KEPT } from './nleep.js';
export { TRANSRATE_EPSILON } from './transrate.js';
export { RELATIVE_RANK_TOLERANCE } from './spectral.js';

export type EstimatorId = 'logme' | 'hscore' | 'nleep' | 'transrate' | 'gbc' | 'knn';

/** Every estimator, in the order tables list them. */
export const ESTIMATOR_IDS: readonly EstimatorId[] = ['logme', 'hscore', 'nleep', 'transrate', 'gbc', 'knn'];

export interface TransferabilityEstimator {
  readonly id: EstimatorId;
  readonly title: string;
  readonly reference: string;
}

export const ESTIMATORS: readonly TransferabilityEstimator[] = [
  { id: 'logme', title: 'LogME', reference: 'You et al., ICML 2021' },
  { id: 'hscore', title: 'regularised H-score', reference: 'Bao et al., ICIP 2019; Ibrahim et al. 2022' },
  { id: 'nleep', title: 'NLEEP', reference: 'Li et al., CVPR 2021' },
  { id: 'transrate', title: 'TransRate', reference: 'Huang et al., ICML 2022' },
  { id: 'gbc', title: 'GBC', reference: 'Pándy et al., CVPR 2022' },
  { id: 'knn', title: 'leave-one-out kNN', reference: `${KNN_NEIGHBOURS} cosine neighbours` },
];

export interface TransferabilityInput {
  /** `[n, d]` features, one row per sample. */
  readonly features: Matrix;
  /** Class targets `[n]` (binary, multiclass) or label flags `[n, labels]` (multilabel). */
  readonly targets: TargetArray;
  readonly task: Task;
  /** Seeds NLEEP's mixture; 0 when absent. */
  readonly seed?: number;
}

export interface TransferabilityOptions {
  /** Estimators to run, all when absent. */
  readonly estimators?: readonly EstimatorId[];
  readonly signal?: AbortSignal;
}

/**
 * Scores of the chosen estimators (all by default; only the chosen keys are present), higher meaning
 * expected to transfer better. The features are converted to float64, centred and decomposed once, and
 * every estimator reads that decomposition. A multilabel task is scored label by label and averaged over
 * the labels with both values present. Errors name the estimator (or the input) and what is wrong.
 */
export async function estimateTransferability(
  input: TransferabilityInput,
  options: TransferabilityOptions = {},
): Promise<Readonly<Record<EstimatorId, number>>> {
  const chosen = options.estimators ?? ESTIMATOR_IDS;
  const unknown = chosen.find((id) => !ESTIMATOR_IDS.includes(id));
  if (unknown !== undefined)
    throw new TransferabilityInputError(`transferability: unknown estimator ${JSON.stringify(unknown)}; known: ${ESTIMATOR_IDS.join(', ')}`);
  if (chosen.length === 0) throw new TransferabilityInputError('transferability: no estimator chosen');
  const { features, targets, task } = input;
  const seed = input.seed ?? 0;
  const [n, d] = features.shape;
  if (features.data.length !== n * d) {
    throw new TransferabilityInputError(`transferability: the features claim shape [${n}, ${d}] but hold ${features.data.length} values`);
  }
  if (n < 3) throw new TransferabilityInputError(`transferability: needs at least 3 rows, got ${n}`);
  const bad = features.data.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new TransferabilityInputError(`transferability: feature [${Math.floor(bad / d)}, ${bad % d}] is ${features.data[bad]}, not a finite number`);
  }
  const { problems } = labelProblems(targets, task, n);
  const signal = options.signal;
  const step = async (): Promise<void> => {
    signal?.throwIfAborted();
    // Lets an abort (or a progress line) through between the heavy parts.
    await new Promise((resolve) => setTimeout(resolve, 0));
    signal?.throwIfAborted();
  };
  const wants = (id: EstimatorId): boolean => chosen.includes(id);
  const scores: Partial<Record<EstimatorId, number>> = {};
  const run = (id: EstimatorId, compute: () => number): void => {
    let value: number;
    try {
      value = compute();
    } catch (error) {
      if (error instanceof TransferabilityInputError) throw error;
      throw new Error(`transferability: ${id} failed on [${n}, ${d}] features: ${(error as Error).message}`, { cause: error });
    }
    if (!Number.isFinite(value)) throw new Error(`transferability: ${id} gave ${value} on [${n}, ${d}] features; are they constant?`);
    scores[id] = value;
  };

  // TransRate needs each class's Gram matrix; when every class has more rows than dimensions (the d × d
  // side), they sum to the centred Gram matrix the other estimators read, so the data is read once.
  const [single] = problems;
  let classGrams: Map<number, Float64Array> | undefined;
  const sharedClassGrams = wants('transrate') && problems.length === 1 && single!.present.every((label) => single!.counts[label]! > d);
  const prepared = prepareFeatures(
    features.data,
    n,
    d,
    sharedClassGrams
      ? async (rows) => {
          classGrams = new Map();
          for (const label of single!.present) classGrams.set(label, await classGram(rows, d, single!, label));
          const sum = new Float64Array(d * d);
          for (const gram of classGrams.values()) for (let index = 0; index < sum.length; index++) sum[index] = sum[index]! + gram[index]!;
          return sum;
        }
      : undefined,
  );
  // The class Gram matrices are read (and overwritten by Cholesky) once, after everything else used them.
  const runTransRate = async (whole: number): Promise<void> => {
    const rates: number[] = [];
    try {
      for (const problem of problems) rates.push(await transRate(whole, prepared.centered, d, problem, classGrams));
    } catch (error) {
      throw new Error(`transferability: transrate failed on [${n}, ${d}] features: ${(error as Error).message}`, { cause: error });
    }
    run('transrate', () => mean(rates));
    await step();
  };
  await step();
  if (wants('logme')) {
    const columns = logmeTargets(problems, task);
    const view = spectralView(prepared.raw, n, d, await prepared.rawGram(), columns);
    run('logme', () => mean(columns.map((column, index) => logmeEvidence(view, view.coordinates[index]!, squaredNorm(column)))));
    await step();
  }
  let centered: SpectralView | undefined;
  if (wants('transrate') && !(wants('hscore') || wants('nleep') || wants('gbc'))) {
    // TransRate alone needs log-determinants, not a spectrum: Cholesky costs a third of the reduction.
    const whole = choleskyCodingRate(await prepared.centeredGram(), n, d);
    await runTransRate(whole);
  } else if (wants('hscore') || wants('transrate') || wants('nleep') || wants('gbc')) {
    const gram = await prepared.centeredGram();
    const indicators = wants('hscore') ? classIndicators(problems) : [];
    const lw = wants('hscore') ? ledoitWolfShrinkage(prepared.centered, n, d, gram) : undefined;
    centered = spectralView(prepared.centered, n, d, gram, indicators);
    if (centered.rank === 0) throw new TransferabilityInputError(`transferability: all ${n} feature rows are equal; no estimator can rank them`);
    await step();
    const view = centered;
    if (lw !== undefined) {
      let offset = 0;
      const perProblem = problems.map((problem) => {
        const coordinates = view.coordinates.slice(offset, offset + problem.present.length);
        offset += problem.present.length;
        return { problem, coordinates };
      });
      run('hscore', () => mean(perProblem.map(({ problem, coordinates }) => hScore(view, problem, coordinates, lw.shrinkage, lw.mu))));
    }
    if (wants('transrate')) await runTransRate(spectralCodingRate(view));
    // GBC and NLEEP read the leading principal scores: computed once, for the larger of their two counts.
    const gbcComponents = wants('gbc') ? Math.min(GBC_COMPONENTS, view.rank) : 0;
    const nleepCount = wants('nleep') ? nleepComponents(view.values, view.rank) : 0;
    const computed = Math.max(gbcComponents, nleepCount);
    const principal = computed > 0 ? view.principalScores(computed) : new Float64Array(0);
    if (wants('gbc')) {
      const scores = leadingColumns(principal, n, computed, gbcComponents);
      run('gbc', () => mean(problems.map((problem) => gbc(scores, n, gbcComponents, problem))));
      await step();
    }
    if (wants('nleep')) {
      const components = nleepCount;
      const scores = leadingColumns(principal, n, computed, components);
      const classCount = task.type === 'multilabel' ? task.labels.length : task.classes.length;
      const gaussians = nleepGaussians(classCount, n);
      const posteriors = mixturePosteriors(scores, n, components, gaussians, seed);
      run('nleep', () => mean(problems.map((problem) => leep(posteriors, n, gaussians, problem))));
      await step();
    }
  }
  if (wants('knn')) {
    const k = Math.min(KNN_NEIGHBOURS, n - 1);
    const neighbours = await nearestNeighbours(prepared.raw, n, d, k);
    run('knn', () => mean(problems.map((problem) => knnScore(neighbours, n, k, problem, task.type === 'multilabel'))));
  }
  // In the order asked for, whatever order they were computed in.
  return Object.fromEntries(chosen.map((id) => [id, scores[id]])) as Record<EstimatorId, number>;
}

/** The first `count` columns of a row-major `n × width` matrix (the matrix itself when it has no more). */
function leadingColumns(matrix: Float64Array, n: number, width: number, count: number): Float64Array {
  if (count === width) return matrix;
  const result = new Float64Array(n * count);
  for (let r = 0; r < n; r++) result.set(matrix.subarray(r * width, r * width + count), r * count);
  return result;
}

function squaredNorm(vector: Float64Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return sum;
}
