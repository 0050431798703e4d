import type { TargetArray, Task } from '@medssl/spec';

/**
 * One regularised logistic regression the solver fits: a single sigmoid output (a binary task, or one
 * label of a multilabel task) or a softmax over the classes present in the training rows.
 *
 * Its parameters are one vector: `outputs` blocks of `dimension` weights, then `outputs` intercepts.
 */
export interface Problem {
  readonly kind: 'sigmoid' | 'softmax';
  readonly outputs: number;
  /** Position of its L2 strength in the grid. */
  readonly gridIndex: number;
  readonly l2: number;
  /** Per training row: the 0/1 target of a sigmoid, or the output index of the class for a softmax. */
  readonly targets: Uint8Array | Int32Array;
  /** The label a sigmoid of a multilabel task predicts; 0 otherwise. */
  readonly label: number;
  /**
   * Curvature of the loss in the logits at the starting point, `outputs × outputs`: π(1 - π) for a
   * sigmoid, diag(π) - ππᵀ for a softmax, at the class frequencies π. The preconditioner weighs the data
   * against the L2 term with it.
   */
  readonly curvature: Float64Array;
  /** Intercepts that fit the class frequencies exactly: the starting point, with every weight 0. */
  readonly initialIntercepts: Float64Array;
}

/** How the training targets map onto outputs, and what cannot be learned from them. */
export interface ProblemLayout {
  readonly problems: Problem[];
  /** Multiclass: the classes seen in the training rows, in output order of each softmax. */
  readonly presentClasses: readonly number[];
  /** Multilabel: labels with one class only in the training rows, and the constant score they get (0 or 1). */
  readonly constantLabels: ReadonlyMap<number, number>;
}

/**
 * The problems to fit for every L2 strength of the grid. Binary: one sigmoid per grid value. Multiclass:
 * one softmax per grid value over the classes present in the training rows (absent classes get
 * probability 0, as in scikit-learn, which only knows the classes it saw). Multilabel: one independent
 * sigmoid per grid value and label, except labels with one class only in the training rows.
 */
export function layOutProblems(task: Task, trainTargets: TargetArray, grid: readonly number[]): ProblemLayout {
  const rows = trainTargets.shape[0];
  if (task.type === 'multilabel') {
    const labels = task.labels.length;
    const flags = trainTargets.data;
    const constantLabels = new Map<number, number>();
    const labelTargets: { label: number; targets: Uint8Array; frequency: number }[] = [];
    for (let label = 0; label < labels; label++) {
      const targets = new Uint8Array(rows);
      let positives = 0;
      for (let row = 0; row < rows; row++) {
        targets[row] = flags[row * labels + label]!;
        positives += targets[row]!;
      }
      if (positives === 0 || positives === rows) constantLabels.set(label, positives === 0 ? 0 : 1);
      else labelTargets.push({ label, targets, frequency: positives / rows });
    }
    const problems = grid.flatMap((l2, gridIndex) =>
      labelTargets.map(({ label, targets, frequency }) => sigmoidProblem(gridIndex, l2, targets, frequency, label)),
    );
    return { problems, presentClasses: [], constantLabels };
  }
  const classes = trainTargets.data as Int32Array;
  const counts = new Float64Array(task.classes.length);
  for (let row = 0; row < rows; row++) counts[classes[row]!]!++;
  const presentClasses = [...counts.keys()].filter((index) => counts[index]! > 0);
  if (task.type === 'binary') {
    const targets = Uint8Array.from(classes, (value) => (value === 1 ? 1 : 0));
    const problems = grid.map((l2, gridIndex) => sigmoidProblem(gridIndex, l2, targets, counts[1]! / rows, 0));
    return { problems, presentClasses, constantLabels: new Map() };
  }
  const outputOfClass = new Int32Array(task.classes.length).fill(-1);
  presentClasses.forEach((classIndex, output) => (outputOfClass[classIndex] = output));
  const targets = Int32Array.from(classes, (classIndex) => outputOfClass[classIndex]!);
  const frequencies = presentClasses.map((classIndex) => counts[classIndex]! / rows);
  // Log-frequencies centred to sum 0: a softmax's intercepts are defined up to a constant, and the
  // L-BFGS steps never change their sum, so this keeps them where scikit-learn's (from 0) end up.
  const logFrequencies = frequencies.map(Math.log);
  const meanLog = logFrequencies.reduce((sum, value) => sum + value, 0) / logFrequencies.length;
  const initialIntercepts = Float64Array.from(logFrequencies, (value) => value - meanLog);
  const outputs = frequencies.length;
  const curvature = new Float64Array(outputs * outputs);
  for (let row = 0; row < outputs; row++) {
    for (let column = 0; column < outputs; column++) {
      curvature[row * outputs + column] = (row === column ? frequencies[row]! : 0) - frequencies[row]! * frequencies[column]!;
    }
  }
  const problems = grid.map(
    (l2, gridIndex): Problem => ({
      kind: 'softmax',
      outputs: presentClasses.length,
      gridIndex,
      l2,
      targets,
      label: 0,
      curvature,
      initialIntercepts,
    }),
  );
  return { problems, presentClasses, constantLabels: new Map() };
}

function sigmoidProblem(gridIndex: number, l2: number, targets: Uint8Array, frequency: number, label: number): Problem {
  return {
    kind: 'sigmoid',
    outputs: 1,
    gridIndex,
    l2,
    targets,
    label,
    curvature: Float64Array.of(frequency * (1 - frequency)),
    initialIntercepts: Float64Array.of(Math.log(frequency / (1 - frequency))),
  };
}
