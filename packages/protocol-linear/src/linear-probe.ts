import { computeMetrics, metricsForTask } from '@medssl/metrics';
import type { FeatureSet, Matrix, Protocol, ProtocolInput, ProtocolResult, Task } from '@medssl/spec';
import { SPECIFICATION_VERSION } from '@medssl/spec';
import { DEFAULT_L2_GRID, sklearnC } from './grid.js';
import { createKernels, type KernelChoice, PANEL_WIDTH } from '@medssl/kernels';
import { sigmoid } from './objective.js';
import { layOutProblems, type Problem, type ProblemLayout } from './problems.js';
import { solveProblems, type Solution, type StopReason } from './solver.js';
import { estimateSpectrum } from './spectrum.js';
import { fitScaling, writeStandardized, type FeatureScaling } from './standardize.js';
import { checkClassesPresent, checkInput, selectTargets } from './validation.js';
import { panelIndex, Workspace } from './workspace.js';

export interface LinearProbeOptions {
  /** L2 strengths λ to choose from on the validation split; default `logspace(-6, 5, 45)`. */
  readonly l2Grid?: readonly number[];
  /** L-BFGS iterations per fit at most; default 1000. */
  readonly maximumIterations?: number;
  /**
   * A fit has converged when every component of the gradient of mean log-loss + (λ/2)‖W‖² is at most
   * this; default 1e-6 (scikit-learn's `tol` is on the summed loss: rows times larger).
   */
  readonly tolerance?: number;
  /** Matrix-product kernels; default `auto` (WebAssembly SIMD where available). */
  readonly kernels?: KernelChoice;
  /** Eigenvectors of the feature covariance in the preconditioner; default 64, 0 for none. */
  readonly preconditionerRank?: number;
  /** Step pairs L-BFGS remembers; default 10. */
  readonly historySize?: number;
}

export const DEFAULT_MAXIMUM_ITERATIONS = 1000;
export const DEFAULT_TOLERANCE = 1e-6;
const DEFAULT_PRECONDITIONER_RANK = 64;
const DEFAULT_HISTORY_SIZE = 10;
/** Power iterations of the range finder: one sharpens the leading eigenvectors enough to precondition. */
const POWER_ITERATIONS = 1;
/** Output columns evaluated together at most: bounds the memory of the solver (history) and workspace. */
const COLUMN_BUDGET = 256;

/** The fit at one L2 strength of the grid. */
export interface GridFit {
  readonly l2: number;
  /** scikit-learn's C for the same objective, 1 / (training rows · λ). */
  readonly sklearnC: number;
  /** The primary metric on the validation split. */
  readonly validationScore: number;
  /** Largest over the fit's problems (one per label for multilabel tasks). */
  readonly iterations: number;
  readonly evaluations: number;
  readonly gradientNorm: number;
  /** The worst stop over its problems: `iteration-limit` over `float32-precision` over `converged`. */
  readonly stop: StopReason;
}

/**
 * The logistic regression at the selected L2 strength. Logits are `weights · standardised(x) + intercepts`
 * with standardised(x) = (x - featureMean) / featureScale: one logit for a binary task (the positive
 * class, through a sigmoid), one per class for a multiclass task (through a softmax), one per label for a
 * multilabel task (each through a sigmoid). A class absent from the training rows has intercept
 * -Infinity; a label with one class only, zero weights and intercept -Infinity or +Infinity.
 */
export interface LinearModel {
  readonly l2: number;
  /** `[logits, dimension]` row-major. */
  readonly weights: Float64Array;
  readonly intercepts: Float64Array;
  readonly featureMean: Float64Array;
  readonly featureScale: Float64Array;
}

/** Everything a linear-probe run computed: the protocol result, each grid value's fit, the chosen model. */
export interface LinearProbeReport {
  readonly result: ProtocolResult;
  readonly model: LinearModel;
  readonly grid: readonly GridFit[];
  readonly selectedIndex: number;
  readonly kernels: 'wasm-simd' | 'javascript';
  /** Eigenvectors the preconditioner used. */
  readonly preconditionerRank: number;
  readonly trainingRows: number;
  /** Where the time went, in seconds: checks and standardisation, the spectrum, the fits, scoring. */
  readonly seconds: { readonly preparation: number; readonly spectrum: number; readonly fits: number; readonly scoring: number };
}

function checkOptions(options: LinearProbeOptions): Required<Omit<LinearProbeOptions, 'l2Grid'>> & { l2Grid: readonly number[] } {
  const l2Grid = [...(options.l2Grid ?? DEFAULT_L2_GRID)];
  if (l2Grid.length === 0 || l2Grid.some((value) => !(value > 0) || !Number.isFinite(value))) {
    throw new RangeError(`linear: l2Grid must hold positive finite L2 strengths, got [${l2Grid.join(', ')}]`);
  }
  const maximumIterations = options.maximumIterations ?? DEFAULT_MAXIMUM_ITERATIONS;
  if (!Number.isSafeInteger(maximumIterations) || maximumIterations < 1) {
    throw new RangeError(`linear: maximumIterations must be a positive integer, got ${maximumIterations}`);
  }
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) throw new RangeError(`linear: tolerance must be positive, got ${tolerance}`);
  const preconditionerRank = options.preconditionerRank ?? DEFAULT_PRECONDITIONER_RANK;
  if (!Number.isSafeInteger(preconditionerRank) || preconditionerRank < 0) {
    throw new RangeError(`linear: preconditionerRank must be a non-negative integer, got ${preconditionerRank}`);
  }
  const historySize = options.historySize ?? DEFAULT_HISTORY_SIZE;
  if (!Number.isSafeInteger(historySize) || historySize < 1) {
    throw new RangeError(`linear: historySize must be a positive integer, got ${historySize}`);
  }
  const kernels = options.kernels ?? 'auto';
  if (!['auto', 'wasm-simd', 'javascript'].includes(kernels)) {
    throw new RangeError(`linear: kernels must be 'auto', 'wasm-simd' or 'javascript', got ${JSON.stringify(kernels)}`);
  }
  return { l2Grid, maximumIterations, tolerance, preconditionerRank, historySize, kernels };
}

/**
 * Logistic regression on frozen features, the linear evaluation of self-supervised representations: for
 * every L2 strength λ of a grid, minimise mean log-loss over the training rows + (λ/2)‖W‖² (intercepts
 * not penalised) on standardised features; choose λ by the task's primary metric on the validation split
 * (ties to the stronger regularisation); report the test metrics of that fit. Binary tasks fit one
 * sigmoid, multiclass tasks a multinomial softmax, multilabel tasks one independent sigmoid per label.
 * The whole grid is fitted together, sharing each matrix product.
 */
export function linearProbe(options: LinearProbeOptions = {}): Protocol {
  const settings = checkOptions(options);
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: 'linear',
    supports: ['binary', 'multiclass', 'multilabel'],
    async evaluate(input: ProtocolInput): Promise<ProtocolResult> {
      return (await fitLinearProbe(input, settings)).result;
    },
  };
}

/** `linearProbe(options).evaluate(input)` with the fits of every grid value in the answer. */
export async function fitLinearProbe(input: ProtocolInput, options: LinearProbeOptions = {}): Promise<LinearProbeReport> {
  const settings = checkOptions(options);
  const { task, trainRows, signal } = input;
  const clock = [performance.now()];
  signal?.throwIfAborted();
  const dimension = checkInput(input);
  const primaryMetric = metricsForTask(task).find((metric) => metric.id === task.primaryMetric);
  if (primaryMetric === undefined) {
    throw new RangeError(
      `linear: the task's primary metric '${task.primaryMetric}' is not one @medssl/metrics computes for a ${task.type} task ` +
        `(${metricsForTask(task)
          .map((metric) => metric.id)
          .join(', ')}); λ is chosen on it`,
    );
  }
  const trainTargets = selectTargets(input.train.targets, trainRows);
  const trainingRows = trainTargets.shape[0];
  const grid = settings.l2Grid;
  const layout = layOutProblems(task, trainTargets, grid);
  checkClassesPresent(task, trainTargets, layout.presentClasses);
  if (task.type === 'multilabel' && layout.problems.length === 0) {
    throw new RangeError(`linear: every label has one class only in the ${trainingRows} training rows; there is nothing to learn`);
  }

  const kernels = await createKernels(settings.kernels);
  const outputsPerGridValue = layout.problems.filter((problem) => problem.gridIndex === 0).reduce((sum, problem) => sum + problem.outputs, 0);
  const largestProblem = Math.max(...layout.problems.map((problem) => problem.outputs));
  const workspace = new Workspace(kernels, {
    trainRows: trainingRows,
    dimension,
    // A problem whose weights are split in two (see ProblemRun.precise) needs twice its columns.
    columns: Math.max(Math.min(outputsPerGridValue * grid.length, COLUMN_BUDGET), 2 * largestProblem, Math.min(settings.preconditionerRank, dimension)),
    evaluationRows: Math.max(input.val.features.shape[0], input.test.features.shape[0]),
  });
  const scaling = fitScaling(input.train.features, trainRows);
  writeStandardized(input.train.features, trainRows, scaling, workspace.features, workspace.paddedDimension);
  workspace.transposeFeatures();
  signal?.throwIfAborted();

  clock.push(performance.now());
  const spectrum = estimateSpectrum(workspace, settings.preconditionerRank, scaling.varyingFeatures, POWER_ITERATIONS);
  clock.push(performance.now());
  const solutions = await solveProblems(workspace, layout.problems, spectrum, {
    maximumIterations: settings.maximumIterations,
    tolerance: settings.tolerance,
    historySize: settings.historySize,
    columnBudget: Math.max(COLUMN_BUDGET, largestProblem),
    ...(signal ? { signal } : {}),
  });
  const fitsByGrid = grid.map((): { problem: Problem; solution: Solution }[] => []);
  layout.problems.forEach((problem, index) => fitsByGrid[problem.gridIndex]!.push({ problem, solution: solutions[index]! }));

  clock.push(performance.now());
  // Selection on the validation split, strongest regularisation first so that ties keep it.
  const validationScores = scoreGrid(
    workspace,
    input.val,
    scaling,
    task,
    layout,
    fitsByGrid,
    grid.map((_, index) => index),
  );
  const byStrength = grid.map((_, index) => index).sort((left, right) => grid[right]! - grid[left]! || left - right);
  let selectedIndex = byStrength[0]!;
  let bestScore: number | undefined;
  let validation: Record<string, number> = {};
  const validationPrimary = new Float64Array(grid.length);
  for (const index of byStrength) {
    let metrics: Record<string, number>;
    try {
      metrics = computeMetrics(task, input.val.targets, validationScores[index]!.decisions).metrics;
    } catch (error) {
      throw new RangeError(`linear: cannot score the validation split to choose λ: ${(error as Error).message}`);
    }
    const score = metrics[task.primaryMetric]!;
    validationPrimary[index] = score;
    const better = bestScore === undefined || (primaryMetric.higherIsBetter ? score > bestScore : score < bestScore);
    if (better) {
      bestScore = score;
      selectedIndex = index;
      validation = metrics;
    }
  }

  const test = scoreGrid(workspace, input.test, scaling, task, layout, fitsByGrid, [selectedIndex])[selectedIndex]!;
  const scores = test.probabilities;
  const { metrics, perLabel } = computeMetrics(task, input.test.targets, test.decisions);
  const gridFits = grid.map((l2, index): GridFit => summarizeFit(l2, trainingRows, validationPrimary[index]!, fitsByGrid[index]!));
  const chosen = gridFits[selectedIndex]!;
  const selected: Record<string, number | string> = {
    l2: chosen.l2,
    C_sklearn: chosen.sklearnC,
    iterations: chosen.iterations,
    stop: chosen.stop,
  };
  if (task.type === 'multiclass' && layout.presentClasses.length < task.classes.length) {
    selected.absentClasses = task.classes.filter((_, index) => !layout.presentClasses.includes(index)).join(', ');
  }
  if (task.type === 'multilabel' && layout.constantLabels.size > 0) {
    selected.constantLabels = [...layout.constantLabels.keys()].map((label) => task.labels[label]!).join(', ');
  }
  clock.push(performance.now());
  const seconds = { preparation: 0, spectrum: 0, fits: 0, scoring: 0 };
  (['preparation', 'spectrum', 'fits', 'scoring'] as const).forEach((phase, index) => (seconds[phase] = (clock[index + 1]! - clock[index]!) / 1000));
  return {
    result: { metrics, validation, selected, scores, ...(perLabel ? { perLabel } : {}) },
    model: modelOf(task, layout, fitsByGrid[selectedIndex]!, grid[selectedIndex]!, dimension, scaling),
    grid: gridFits,
    selectedIndex,
    kernels: kernels.name,
    preconditionerRank: spectrum.rank,
    trainingRows,
    seconds,
  };
}

function modelOf(
  task: Task,
  layout: ProblemLayout,
  fits: readonly { problem: Problem; solution: Solution }[],
  l2: number,
  dimension: number,
  scaling: FeatureScaling,
): LinearModel {
  const logits = task.type === 'binary' ? 1 : task.type === 'multiclass' ? task.classes.length : task.labels.length;
  const weights = new Float64Array(logits * dimension);
  const intercepts = new Float64Array(logits);
  const place = (row: number, parameters: Float64Array, output: number, outputs: number): void => {
    weights.set(parameters.subarray(output * dimension, (output + 1) * dimension), row * dimension);
    intercepts[row] = parameters[outputs * dimension + output]!;
  };
  if (task.type === 'multiclass') {
    intercepts.fill(-Infinity);
    const { problem, solution } = fits[0]!;
    layout.presentClasses.forEach((classIndex, output) => place(classIndex, solution.parameters, output, problem.outputs));
  } else {
    for (const { problem, solution } of fits) place(problem.label, solution.parameters, 0, 1);
    for (const [label, value] of layout.constantLabels) intercepts[label] = value === 1 ? Infinity : -Infinity;
  }
  return { l2, weights, intercepts, featureMean: scaling.mean, featureScale: scaling.scale };
}

const FLOAT32_MAXIMUM = 3.4028234663852886e38;

const STOP_SEVERITY: Record<StopReason, number> = { converged: 0, 'float32-precision': 1, 'iteration-limit': 2 };

function summarizeFit(l2: number, trainingRows: number, validationScore: number, fits: readonly { solution: Solution }[]): GridFit {
  const worst = fits.reduce<StopReason>((stop, { solution }) => (STOP_SEVERITY[solution.stop] > STOP_SEVERITY[stop] ? solution.stop : stop), 'converged');
  return {
    l2,
    sklearnC: sklearnC(l2, trainingRows),
    validationScore,
    iterations: Math.max(...fits.map(({ solution }) => solution.iterations)),
    evaluations: Math.max(...fits.map(({ solution }) => solution.evaluations)),
    gradientNorm: Math.max(...fits.map(({ solution }) => solution.gradientNorm)),
    stop: worst,
  };
}

/**
 * What a model predicts for each row of a split, `[rows, outputs]` both.
 * - `probabilities`: per class (binary: negative, positive) or per label, the protocol's `scores`.
 * - `decisions`: logits ordered as the probabilities are (binary: 0 and the positive logit; absent classes
 *   the lowest float32, labels with one class only 0). Metrics are computed on these: they rank rows exactly as the probabilities do, but float32
 *   probabilities within 6e-8 of 0 or 1 round to ties that the logits keep apart.
 */
interface Predictions {
  readonly probabilities: Matrix;
  readonly decisions: Matrix;
}

/**
 * Predictions for a split under the fits of the given grid values: the split is standardised with the
 * training scaling once, then scored for as many grid values per product as the workspace holds.
 */
function scoreGrid(
  workspace: Workspace,
  set: FeatureSet,
  scaling: FeatureScaling,
  task: Task,
  layout: ProblemLayout,
  fitsByGrid: readonly (readonly { problem: Problem; solution: Solution }[])[],
  gridIndices: readonly number[],
): Predictions[] {
  const rows = set.features.shape[0];
  const { dimension, paddedDimension, paddedEvaluationRows, weights, evaluationLogits } = workspace;
  writeStandardized(set.features, undefined, scaling, workspace.evaluationFeatures, paddedDimension);
  const capacity = workspace.maximumPanels * PANEL_WIDTH;
  const result: Predictions[] = [];
  let position = 0;
  while (position < gridIndices.length) {
    // Grid values whose columns fit in the workspace together.
    const chunk: number[] = [];
    let columns = 0;
    while (position < gridIndices.length) {
      const needed = fitsByGrid[gridIndices[position]!]!.reduce((sum, { problem }) => sum + problem.outputs, 0);
      if (chunk.length > 0 && columns + needed > capacity) break;
      chunk.push(gridIndices[position]!);
      columns += needed;
      position++;
    }
    const panels = Math.ceil(columns / PANEL_WIDTH);
    weights.fill(0, 0, panels * paddedDimension * PANEL_WIDTH);
    const firstColumns = new Map<Solution, number>();
    let column = 0;
    for (const gridIndex of chunk) {
      for (const { problem, solution } of fitsByGrid[gridIndex]!) {
        firstColumns.set(solution, column);
        for (let output = 0; output < problem.outputs; output++, column++) {
          for (let feature = 0; feature < dimension; feature++) {
            weights[panelIndex(feature, column, paddedDimension)] = solution.parameters[output * dimension + feature]!;
          }
        }
      }
    }
    workspace.forwardEvaluation(rows, panels);
    for (const gridIndex of chunk) {
      result[gridIndex] = predictions(task, layout, fitsByGrid[gridIndex]!, rows, ({ problem, solution }, output, row) => {
        const logit = evaluationLogits[panelIndex(row, firstColumns.get(solution)! + output, paddedEvaluationRows)]!;
        return logit + solution.parameters[problem.outputs * dimension + output]!;
      });
    }
  }
  return result;
}

/** Probabilities and decision scores of the task from logits (intercepts included, from `logitOf`). */
function predictions(
  task: Task,
  layout: ProblemLayout,
  fits: readonly { problem: Problem; solution: Solution }[],
  rows: number,
  logitOf: (fit: { problem: Problem; solution: Solution }, output: number, row: number) => number,
): Predictions {
  const outputs = task.type === 'multilabel' ? task.labels.length : task.classes.length;
  const probabilities = new Float32Array(rows * outputs);
  const decisions = new Float32Array(rows * outputs);
  const pack = (): Predictions => ({ probabilities: { data: probabilities, shape: [rows, outputs] }, decisions: { data: decisions, shape: [rows, outputs] } });
  if (task.type === 'binary') {
    const fit = fits[0]!;
    for (let row = 0; row < rows; row++) {
      const logit = logitOf(fit, 0, row);
      const positive = sigmoid(logit);
      probabilities[row * 2] = 1 - positive;
      probabilities[row * 2 + 1] = positive;
      decisions[row * 2 + 1] = logit;
    }
    return pack();
  }
  if (task.type === 'multilabel') {
    for (const [label, value] of layout.constantLabels) {
      for (let row = 0; row < rows; row++) {
        probabilities[row * outputs + label] = value;
        decisions[row * outputs + label] = 0;
      }
    }
    for (const fit of fits) {
      for (let row = 0; row < rows; row++) {
        const logit = logitOf(fit, 0, row);
        probabilities[row * outputs + fit.problem.label] = sigmoid(logit);
        decisions[row * outputs + fit.problem.label] = logit;
      }
    }
    return pack();
  }
  const fit = fits[0]!;
  const present = layout.presentClasses;
  // Absent classes: below any logit, and finite as metrics require.
  decisions.fill(-FLOAT32_MAXIMUM);
  const logits = new Float64Array(present.length);
  for (let row = 0; row < rows; row++) {
    let largest = -Infinity;
    for (let output = 0; output < present.length; output++) {
      logits[output] = logitOf(fit, output, row);
      decisions[row * outputs + present[output]!] = logits[output]!;
      largest = Math.max(largest, logits[output]!);
    }
    let total = 0;
    for (let output = 0; output < present.length; output++) {
      logits[output] = Math.exp(logits[output]! - largest);
      total += logits[output]!;
    }
    for (let output = 0; output < present.length; output++) probabilities[row * outputs + present[output]!] = logits[output]! / total;
  }
  return pack();
}
