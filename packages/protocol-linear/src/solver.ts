import { PANEL_WIDTH } from '@medssl/kernels';
import { lossAndResiduals } from './objective.js';
import type { Problem } from './problems.js';
import { symmetricEigen, type FeatureSpectrum } from './spectrum.js';
import { panelIndex, type Workspace } from './workspace.js';

export interface SolverSettings {
  /** Accepted L-BFGS steps per problem at most. */
  readonly maximumIterations: number;
  /** A problem has converged when every gradient component of its objective is at most this. */
  readonly tolerance: number;
  /** Pairs of steps and gradient changes L-BFGS remembers (scipy's `maxcor`). */
  readonly historySize: number;
  /** Most output columns evaluated together; problems wait their turn beyond it. */
  readonly columnBudget: number;
  readonly signal?: AbortSignal;
}

/** Why the solver stopped on a problem. */
export type StopReason =
  /** Every gradient component is within the tolerance. */
  | 'converged'
  /**
   * No step decreases the objective any more, even with weights split into two float32 halves: the
   * tolerance is below what float32 features and products resolve.
   */
  | 'float32-precision'
  | 'iteration-limit';

export interface Solution {
  /** `outputs` blocks of `dimension` weights (on standardised features), then `outputs` intercepts. */
  readonly parameters: Float64Array;
  readonly iterations: number;
  /** Objective and gradient evaluations, line-search trials included. */
  readonly evaluations: number;
  /** Largest gradient component at the solution. */
  readonly gradientNorm: number;
  readonly objective: number;
  readonly stop: StopReason;
}

/** Armijo's sufficient-decrease constant. */
const SUFFICIENT_DECREASE = 1e-4;
/** Line-search trials per iteration before the problem counts as stuck at float32 precision. */
const MAXIMUM_TRIALS = 12;
/**
 * Allowed rise of the computed objective, relative to it, for a step whose directional derivative says
 * it descended. Near the optimum the objective moves less than its float32 rounding (logits carry about
 * 1e-7 relative error), so only the derivative, which stays accurate there, can judge the step.
 */
const ROUNDING_ALLOWANCE = 1e-6;
/**
 * A run counts as stalled at the precision of its products when, over this many iterations, it has
 * neither halved its smallest gradient nor lowered its objective by more than STALL_DECREASE (relative):
 * its gradient only fluctuates in their rounding noise. (Slow but real progress is not a stall.)
 */
const STALL_ITERATIONS = 30;
const STALL_DECREASE = 1e-10;
/** Give the event loop a turn (abort signals, other work) at least this often, in milliseconds. */
const YIELD_INTERVAL = 100;

/**
 * The preconditioner of one problem: the inverse of its Hessian at the start, S ⊗ C + λ I (intercepts:
 * S), with C from the feature spectrum and S the curvature of the loss in the logits at the class
 * frequencies (a sigmoid: π(1 - π); a softmax: diag(π) - ππᵀ). In the eigenbasis of S, with
 * eigenvalues σⱼ, it splits into one (σⱼ C + λ I)⁻¹ per direction, each cheap through C's spectrum.
 */
class Preconditioner {
  private readonly outputs: number;
  /** `outputs × outputs`, column j the j-th eigenvector of S. */
  private readonly classBasis: Float64Array;
  private readonly spectralGains: Float64Array[];
  private readonly tailGains: Float64Array;
  private readonly interceptGains: Float64Array;
  private readonly projections: Float64Array;
  private readonly rotated: Float64Array;

  constructor(
    private readonly spectrum: FeatureSpectrum,
    curvature: Float64Array,
    private readonly l2: number,
  ) {
    this.outputs = Math.round(Math.sqrt(curvature.length));
    this.classBasis = new Float64Array(this.outputs * this.outputs);
    this.spectralGains = Array.from({ length: this.outputs }, () => new Float64Array(spectrum.rank));
    this.tailGains = new Float64Array(this.outputs);
    this.interceptGains = new Float64Array(this.outputs);
    this.projections = new Float64Array(spectrum.rank);
    this.rotated = new Float64Array(this.outputs * (spectrum.dimension + 1));
    this.update(curvature);
  }

  /** Takes the loss curvature S at the current point (the preconditioner may change between steps). */
  update(curvature: Float64Array): void {
    const { values, vectors } = symmetricEigen(curvature, this.outputs);
    this.classBasis.set(vectors);
    const largest = Math.max(...values);
    const { spectrum, l2 } = this;
    values.forEach((value, direction) => {
      const sigma = Math.max(value, 0);
      const tailGain = 1 / (sigma * spectrum.tail + l2);
      this.tailGains[direction] = tailGain;
      const gains = this.spectralGains[direction]!;
      spectrum.values.forEach((eigenvalue, component) => (gains[component] = 1 / (sigma * eigenvalue + l2) - tailGain));
      // The direction of S's zero eigenvalue (a softmax's common shift) neither changes the loss nor is
      // penalised for intercepts: its gradient is 0, and so is its gain.
      this.interceptGains[direction] = value > 1e-12 * largest ? 1 / value : 0;
    });
  }

  /** into = M · vector, both `outputs` weight blocks then `outputs` intercepts. */
  apply(vector: Float64Array, into: Float64Array): void {
    const { outputs, classBasis, rotated } = this;
    const dimension = this.spectrum.dimension;
    if (outputs === 1) {
      this.applyInDirection(vector, into, 0, 0);
      into[dimension] = this.interceptGains[0]! * vector[dimension]!;
      return;
    }
    // Into S's eigenbasis, one (σⱼ C + λ I)⁻¹ per direction, and back.
    rotateOutputs(vector, rotated, classBasis, outputs, dimension + 1, true);
    for (let direction = 0; direction < outputs; direction++) this.applyInDirection(rotated, rotated, direction, direction * dimension);
    const interceptStart = outputs * dimension;
    for (let direction = 0; direction < outputs; direction++) rotated[interceptStart + direction]! *= this.interceptGains[direction]!;
    rotateOutputs(rotated, into, classBasis, outputs, dimension + 1, false);
  }

  /** into[block] = (σⱼ C + λ I)⁻¹ vector[block] for the block of `dimension` values at `start` (in place allowed). */
  private applyInDirection(vector: Float64Array, into: Float64Array, direction: number, start: number): void {
    const { rank, dimension, vectors } = this.spectrum;
    const { projections } = this;
    const spectralGains = this.spectralGains[direction]!;
    const tailGain = this.tailGains[direction]!;
    for (let component = 0; component < rank; component++) {
      const basis = component * dimension;
      let sum = 0;
      for (let feature = 0; feature < dimension; feature++) sum += vectors[basis + feature]! * vector[start + feature]!;
      projections[component] = sum * spectralGains[component]!;
    }
    for (let feature = 0; feature < dimension; feature++) into[start + feature] = tailGain * vector[start + feature]!;
    for (let component = 0; component < rank; component++) {
      const basis = component * dimension;
      const weight = projections[component]!;
      for (let feature = 0; feature < dimension; feature++) into[start + feature]! += weight * vectors[basis + feature]!;
    }
  }
}

/**
 * Changes the basis of the output blocks: with `toBasis`, block j of `into` is Σₖ basis[k, j] · block k
 * of `vector` (weights: blocks of `dimension`, stored first; intercepts: one value per block, after all
 * weights); otherwise the inverse (basis is orthogonal), Σⱼ basis[k, j] · block j.
 */
function rotateOutputs(vector: Float64Array, into: Float64Array, basis: Float64Array, outputs: number, blockLength: number, toBasis: boolean): void {
  const dimension = blockLength - 1;
  const interceptStart = outputs * dimension;
  into.fill(0);
  for (let target = 0; target < outputs; target++) {
    for (let source = 0; source < outputs; source++) {
      const weight = toBasis ? basis[source * outputs + target]! : basis[target * outputs + source]!;
      if (weight === 0) continue;
      const sourceStart = source * dimension;
      const targetStart = target * dimension;
      for (let feature = 0; feature < dimension; feature++) into[targetStart + feature]! += weight * vector[sourceStart + feature]!;
      into[interceptStart + target]! += weight * vector[interceptStart + source]!;
    }
  }
}

function dot(left: Float64Array, right: Float64Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += left[index]! * right[index]!;
  return sum;
}

function largestMagnitude(vector: Float64Array): number {
  let largest = 0;
  for (let index = 0; index < vector.length; index++) largest = Math.max(largest, Math.abs(vector[index]!));
  return largest;
}

/**
 * L-BFGS (Nocedal 1980) on one problem, driven from outside: the caller evaluates `trial` (objective
 * and gradient) together with every other problem's, then calls `takeEvaluation`. The initial inverse
 * Hessian is the preconditioner scaled by sᵀy / yᵀMy; steps are found by backtracking from 1 along the
 * L-BFGS direction, with the minimum of the derivative's secant as the next trial.
 */
class ProblemRun {
  readonly length: number;
  readonly weightCount: number;
  /** The point to evaluate next, and its objective and gradient once evaluated. */
  readonly trial: Float64Array;
  readonly trialGradient: Float64Array;
  /** Curvature of the loss in the logits at the trial point (see `lossAndResiduals`). */
  readonly trialCurvature: Float64Array;
  trialObjective = 0;

  private readonly position: Float64Array;
  private readonly gradient: Float64Array;
  private readonly direction: Float64Array;
  private readonly scratch: Float64Array;
  private objective = Infinity;
  private readonly steps: Float64Array[] = [];
  private readonly gradientChanges: Float64Array[] = [];
  private readonly inverseCurvatures: number[] = [];
  private readonly coefficients: Float64Array;
  private newestPair = -1;
  private pairCount = 0;
  private scaling = 1;
  private stepLength = 1;
  private initialSlope = 0;
  private trials = 0;
  private started = false;
  /**
   * Whether the weights go to the products as two float32 columns, high and low part, instead of one.
   * Rounding the weights to float32 moves the logits by about 6e-8·Σ|x·w|, which along the stiff
   * directions of an ill-conditioned problem shows as gradient noise well above a tight tolerance; a
   * run switches to the split once it stalls there, at the cost of one more column per output.
   */
  precise = false;
  private smallestGradient = Infinity;
  private lastImprovement = 0;
  private objectiveAtLastImprovement = Infinity;
  iterations = 0;
  evaluations = 0;
  stop: StopReason | undefined;

  constructor(
    readonly problem: Problem,
    readonly dimension: number,
    private readonly preconditioner: Preconditioner,
    private readonly settings: SolverSettings,
    start: Float64Array,
  ) {
    this.weightCount = problem.outputs * dimension;
    this.length = this.weightCount + problem.outputs;
    this.trial = Float64Array.from(start);
    this.trialGradient = new Float64Array(this.length);
    this.trialCurvature = new Float64Array(problem.outputs * problem.outputs);
    this.position = new Float64Array(this.length);
    this.gradient = new Float64Array(this.length);
    this.direction = new Float64Array(this.length);
    this.scratch = new Float64Array(this.length);
    this.coefficients = new Float64Array(settings.historySize);
  }

  get done(): boolean {
    return this.stop !== undefined;
  }

  solution(): Solution {
    return {
      parameters: this.position,
      iterations: this.iterations,
      evaluations: this.evaluations,
      gradientNorm: largestMagnitude(this.gradient),
      objective: this.objective,
      stop: this.stop ?? 'iteration-limit',
    };
  }

  takeEvaluation(): void {
    this.evaluations++;
    if (!this.started) {
      this.started = true;
      this.preconditioner.update(this.trialCurvature);
      this.accept();
      return;
    }
    const slope = dot(this.trialGradient, this.direction);
    const decrease = this.trialObjective - this.objective;
    const armijo = decrease <= SUFFICIENT_DECREASE * this.stepLength * this.initialSlope;
    // Near the optimum the objective changes by less than its float32 rounding; a convex function whose
    // derivative along the step is still negative has decreased all the way, so trust the derivative.
    const descended = slope <= 0 && decrease <= ROUNDING_ALLOWANCE * Math.max(1, Math.abs(this.objective));
    if (armijo || descended) {
      // The preconditioner follows the curvature of the loss: as a weakly regularised fit grows
      // confident, it shrinks by orders of magnitude against the fixed L2 term.
      this.preconditioner.update(this.trialCurvature);
      this.remember();
      this.iterations++;
      this.accept();
      return;
    }
    this.trials++;
    if (this.trials >= MAXIMUM_TRIALS) {
      this.outOfPrecision();
      return;
    }
    // The derivative along the direction goes from initialSlope < 0 at 0 to slope at stepLength; where its
    // secant crosses zero is the minimum of a quadratic through both. Stay within [0.1, 0.5] of the step.
    const secant = slope > 0 ? (this.stepLength * this.initialSlope) / (this.initialSlope - slope) : 0.5 * this.stepLength;
    this.stepLength = Math.min(Math.max(secant, 0.1 * this.stepLength), 0.5 * this.stepLength);
    this.placeTrial();
  }

  /** Moves to the evaluated trial point, then checks convergence and sets up the next step. */
  private accept(): void {
    this.position.set(this.trial);
    this.gradient.set(this.trialGradient);
    this.objective = this.trialObjective;
    const gradientNorm = largestMagnitude(this.gradient);
    if (gradientNorm <= this.settings.tolerance) {
      this.stop = 'converged';
      return;
    }
    if (this.iterations >= this.settings.maximumIterations) {
      this.stop = 'iteration-limit';
      return;
    }
    const decrease = this.objectiveAtLastImprovement - this.objective;
    if (gradientNorm < 0.5 * this.smallestGradient || decrease > STALL_DECREASE * Math.max(1, Math.abs(this.objective))) {
      this.smallestGradient = Math.min(gradientNorm, this.smallestGradient);
      this.lastImprovement = this.iterations;
      this.objectiveAtLastImprovement = this.objective;
    } else if (this.iterations - this.lastImprovement >= STALL_ITERATIONS) {
      this.outOfPrecision();
      return;
    }
    this.computeDirection();
    this.initialSlope = dot(this.gradient, this.direction);
    if (!(this.initialSlope < 0)) {
      // Rounding made the quasi-Newton direction useless: forget the history and go down the
      // preconditioned gradient; if even that does not descend, float32 precision is exhausted.
      this.pairCount = 0;
      this.computeDirection();
      this.initialSlope = dot(this.gradient, this.direction);
      if (!(this.initialSlope < 0)) {
        this.outOfPrecision();
        return;
      }
    }
    this.stepLength = 1;
    this.trials = 0;
    this.placeTrial();
  }

  /** Switches to split weights and evaluates the current point again, or gives up if already split. */
  private outOfPrecision(): void {
    if (this.precise) {
      this.stop = 'float32-precision';
      return;
    }
    this.precise = true;
    this.started = false;
    this.lastImprovement = this.iterations;
    this.trial.set(this.position);
  }

  private placeTrial(): void {
    const { trial, position, direction, stepLength } = this;
    for (let index = 0; index < trial.length; index++) trial[index] = position[index]! + stepLength * direction[index]!;
  }

  /** Stores the step and gradient change of the step just accepted (trial minus position, before accept). */
  private remember(): void {
    const size = this.settings.historySize;
    const slot = (this.newestPair + 1) % size;
    const step = this.steps[slot] ?? new Float64Array(this.length);
    const change = this.gradientChanges[slot] ?? new Float64Array(this.length);
    this.steps[slot] = step;
    this.gradientChanges[slot] = change;
    let curvature = 0;
    for (let index = 0; index < this.length; index++) {
      step[index] = this.trial[index]! - this.position[index]!;
      change[index] = this.trialGradient[index]! - this.gradient[index]!;
      curvature += step[index]! * change[index]!;
    }
    // The objective is strongly convex, so sᵀy > 0 unless rounding swamped a tiny step: skip such pairs.
    if (!(curvature > 1e-12 * Math.sqrt(dot(step, step) * dot(change, change)))) return;
    this.inverseCurvatures[slot] = 1 / curvature;
    this.newestPair = slot;
    this.pairCount = Math.min(this.pairCount + 1, size);
    this.preconditioner.apply(change, this.scratch);
    this.scaling = curvature / dot(change, this.scratch);
  }

  /** direction = -H·gradient by the two-loop recursion. */
  private computeDirection(): void {
    const { direction, steps, gradientChanges, inverseCurvatures, coefficients, scratch } = this;
    const size = this.settings.historySize;
    scratch.set(this.gradient);
    for (let back = 0; back < this.pairCount; back++) {
      const slot = (this.newestPair - back + size) % size;
      const coefficient = inverseCurvatures[slot]! * dot(steps[slot]!, scratch);
      coefficients[slot] = coefficient;
      const change = gradientChanges[slot]!;
      for (let index = 0; index < scratch.length; index++) scratch[index]! -= coefficient * change[index]!;
    }
    this.preconditioner.apply(scratch, direction);
    const scaling = this.pairCount > 0 ? this.scaling : 1;
    for (let index = 0; index < direction.length; index++) direction[index]! *= scaling;
    for (let forward = this.pairCount - 1; forward >= 0; forward--) {
      const slot = (this.newestPair - forward + size) % size;
      const correction = coefficients[slot]! - inverseCurvatures[slot]! * dot(gradientChanges[slot]!, direction);
      const step = steps[slot]!;
      for (let index = 0; index < direction.length; index++) direction[index]! += correction * step[index]!;
    }
    for (let index = 0; index < direction.length; index++) direction[index] = -direction[index]!;
  }
}

/**
 * Evaluates the objective, mean log-loss + (λ/2)‖W‖², and its gradient at each run's trial point, with
 * one product `features · weights` and one `featuresᵀ · residuals` for all of them together.
 */
function evaluateTogether(workspace: Workspace, runs: readonly ProblemRun[]): void {
  const { dimension, paddedDimension, paddedRows, rows, weights, logits, gradients } = workspace;
  const firstColumns: number[] = [];
  let columns = 0;
  for (const run of runs) {
    firstColumns.push(columns);
    columns += run.problem.outputs * (run.precise ? 2 : 1);
  }
  const panels = Math.ceil(columns / PANEL_WIDTH);
  weights.fill(0, 0, panels * paddedDimension * PANEL_WIDTH);
  runs.forEach((run, runIndex) => {
    const { outputs } = run.problem;
    for (let output = 0; output < outputs; output++) {
      const column = firstColumns[runIndex]! + output;
      const base = panelIndex(0, column, paddedDimension);
      const start = output * dimension;
      if (!run.precise) {
        for (let feature = 0; feature < dimension; feature++) weights[base + feature * PANEL_WIDTH] = run.trial[start + feature]!;
        continue;
      }
      // High part in this column, the float32 rounding error in the column `outputs` further on.
      const lowBase = panelIndex(0, column + outputs, paddedDimension);
      for (let feature = 0; feature < dimension; feature++) {
        const weight = run.trial[start + feature]!;
        const high = Math.fround(weight);
        weights[base + feature * PANEL_WIDTH] = high;
        weights[lowBase + feature * PANEL_WIDTH] = weight - high;
      }
    }
  });
  workspace.forward(panels);
  const losses = runs.map((run, runIndex) => {
    run.trialGradient.fill(0, run.weightCount);
    const first = firstColumns[runIndex]!;
    return lossAndResiduals(
      run.problem,
      logits,
      paddedRows,
      rows,
      first,
      run.precise ? first + run.problem.outputs : -1,
      run.trial,
      run.weightCount,
      run.trialGradient,
      run.weightCount,
      run.trialCurvature,
    );
  });
  workspace.backward(panels);
  const inverseRows = 1 / rows;
  runs.forEach((run, runIndex) => {
    const { l2, outputs } = run.problem;
    const first = firstColumns[runIndex]!;
    let squaredNorm = 0;
    for (let output = 0; output < outputs; output++) {
      const base = panelIndex(0, first + output, paddedDimension);
      const start = output * dimension;
      for (let feature = 0; feature < dimension; feature++) {
        const weight = run.trial[start + feature]!;
        squaredNorm += weight * weight;
        run.trialGradient[start + feature] = gradients[base + feature * PANEL_WIDTH]! * inverseRows + l2 * weight;
      }
    }
    for (let index = run.weightCount; index < run.length; index++) run.trialGradient[index]! *= inverseRows;
    run.trialObjective = losses[runIndex]! * inverseRows + 0.5 * l2 * squaredNorm;
  });
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Fits every problem, evaluating all running ones together in each round. Problems start from the
 * strongest regularisation down, while the running ones use at most `columnBudget` output columns; a
 * problem that starts after its grid neighbour (same label) has finished starts from that neighbour's
 * solution, the others from zero weights and intercepts that fit the class frequencies.
 */
export async function solveProblems(
  workspace: Workspace,
  problems: readonly Problem[],
  spectrum: FeatureSpectrum,
  settings: SolverSettings,
): Promise<Solution[]> {
  const dimension = workspace.dimension;
  const solutions: (Solution | undefined)[] = problems.map(() => undefined);
  const running: { run: ProblemRun; index: number }[] = [];
  // Warm starts: the latest solution per label (grids run from strong to weak regularisation or back).
  const latestSolution = new Map<number, { gridIndex: number; parameters: Float64Array }>();
  // Strongest regularisation first: those converge in a few steps and hand warm starts down the grid.
  const order = problems.map((_, index) => index).sort((left, right) => problems[right]!.l2 - problems[left]!.l2 || left - right);
  let nextProblem = 0;
  let lastYield = Date.now();
  for (;;) {
    let runningColumns = running.reduce((sum, { run }) => sum + run.problem.outputs, 0);
    while (nextProblem < order.length && (running.length === 0 || runningColumns + problems[order[nextProblem]!]!.outputs <= settings.columnBudget)) {
      const index = order[nextProblem]!;
      const problem = problems[index]!;
      const neighbor = latestSolution.get(problem.label);
      const start = new Float64Array(problem.outputs * (dimension + 1));
      if (neighbor !== undefined && Math.abs(neighbor.gridIndex - problem.gridIndex) === 1) start.set(neighbor.parameters);
      else start.set(problem.initialIntercepts, problem.outputs * dimension);
      const preconditioner = new Preconditioner(spectrum, problem.curvature, problem.l2);
      running.push({ run: new ProblemRun(problem, dimension, preconditioner, settings, start), index });
      runningColumns += problem.outputs;
      nextProblem++;
    }
    if (running.length === 0) break;
    settings.signal?.throwIfAborted();
    // Runs with split weights take two columns per output: evaluate in as many groups as the
    // workspace's columns require (usually one).
    const capacity = workspace.maximumPanels * PANEL_WIDTH;
    let group: ProblemRun[] = [];
    let groupColumns = 0;
    for (const { run } of running) {
      const columns = run.problem.outputs * (run.precise ? 2 : 1);
      if (group.length > 0 && groupColumns + columns > capacity) {
        evaluateTogether(workspace, group);
        group = [];
        groupColumns = 0;
      }
      group.push(run);
      groupColumns += columns;
    }
    evaluateTogether(workspace, group);
    for (let position = running.length - 1; position >= 0; position--) {
      const { run, index } = running[position]!;
      run.takeEvaluation();
      if (!run.done) continue;
      const solution = run.solution();
      solutions[index] = solution;
      latestSolution.set(run.problem.label, { gridIndex: run.problem.gridIndex, parameters: solution.parameters });
      running.splice(position, 1);
    }
    if (Date.now() - lastYield > YIELD_INTERVAL) {
      await nextTurn();
      lastYield = Date.now();
    }
  }
  return solutions.map((solution, index) => {
    if (solution === undefined) throw new Error(`linear: problem ${index} was never solved`);
    return solution;
  });
}
