import type { TargetArray, Task } from '@medssl/spec';

/** One single-label view of the targets that an estimator scores: the task's classes, or one label of a multilabel task. */
export interface LabelProblem {
  /** `'classes'`, or the label's name. */
  readonly name: string;
  /** Class index per row. */
  readonly labels: Int32Array;
  readonly classCount: number;
  /** Rows per class. */
  readonly counts: Int32Array;
  /** Classes with at least one row, ascending. */
  readonly present: readonly number[];
}

/** A problem with the estimator and input that caused it named. */
export class TransferabilityInputError extends Error {
  override readonly name = 'TransferabilityInputError';
}

/**
 * The single-label problems an estimator scores and averages: the task itself for binary and multiclass
 * (ordinal included) tasks, one binary problem per label for multilabel tasks. Labels of a multilabel task
 * with only one value among the rows are left out (no estimator can score them) and named in `skipped`.
 */
export function labelProblems(targets: TargetArray, task: Task, rows: number): { problems: LabelProblem[]; skipped: string[] } {
  if (task.type === 'multilabel') {
    if (targets.type !== 'labels') {
      throw new TransferabilityInputError(`transferability: a multilabel task needs label targets [n, ${task.labels.length}], got class targets`);
    }
    const [count, labelCount] = targets.shape;
    if (count !== rows || labelCount !== task.labels.length) {
      throw new TransferabilityInputError(
        `transferability: the targets are [${count}, ${labelCount}], the features have ${rows} rows and the task ${task.labels.length} labels`,
      );
    }
    const problems: LabelProblem[] = [];
    const skipped: string[] = [];
    task.labels.forEach((name, label) => {
      const labels = new Int32Array(rows);
      for (let r = 0; r < rows; r++) labels[r] = targets.data[r * labelCount + label]! ? 1 : 0;
      const problem = problemOf(name, labels, 2);
      if (problem.present.length < 2) skipped.push(name);
      else problems.push(problem);
    });
    if (problems.length === 0) {
      throw new TransferabilityInputError(`transferability: no label of the task has both positive and negative rows among the ${rows} given`);
    }
    return { problems, skipped };
  }
  if (targets.type !== 'class') {
    throw new TransferabilityInputError(`transferability: a ${task.type} task needs class targets [n], got label targets`);
  }
  if (targets.shape[0] !== rows) {
    throw new TransferabilityInputError(`transferability: the targets have ${targets.shape[0]} rows, the features ${rows}`);
  }
  const classCount = task.classes.length;
  for (let r = 0; r < rows; r++) {
    const value = targets.data[r]!;
    if (!(value >= 0 && value < classCount)) {
      throw new TransferabilityInputError(`transferability: target of row ${r} is ${value}, outside the task's classes 0..${classCount - 1}`);
    }
  }
  const problem = problemOf('classes', Int32Array.from(targets.data), classCount);
  if (problem.present.length < 2) {
    throw new TransferabilityInputError(
      `transferability: all ${rows} rows belong to one class (${task.classes[problem.present[0] ?? 0]}); nothing to separate`,
    );
  }
  return { problems: [problem], skipped: [] };
}

function problemOf(name: string, labels: Int32Array, classCount: number): LabelProblem {
  const counts = new Int32Array(classCount);
  for (const label of labels) counts[label] = counts[label]! + 1;
  const present: number[] = [];
  counts.forEach((count, label) => {
    if (count > 0) present.push(label);
  });
  return { name, labels, classCount, counts, present };
}

/** Mean of the values. */
export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
