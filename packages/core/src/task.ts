import type { Task, TargetArray } from '@medssl/spec';
import { cutText, describeValue, quoteForMessage } from './messages.js';

/** The number of model outputs a task needs: one per class, or one per label. */
export function outputCount(task: Task): number {
  return task.type === 'multilabel' ? task.labels.length : task.classes.length;
}

/** Class or label names in output order. */
export function targetNames(task: Task): readonly string[] {
  return task.type === 'multilabel' ? task.labels : task.classes;
}

/** What is wrong with a task object: the path to the field, what it must be, and what it is. */
export interface TaskProblem {
  /** Steps below the task, e.g. `['classes', 2]`; empty for the task itself. */
  readonly steps: readonly (string | number)[];
  readonly expected: string;
  /** What was found, described for a message (echoes cut short). */
  readonly found: string;
}

const TASK_TYPES = ['binary', 'multiclass', 'multilabel'] as const;

/** The first thing wrong with a value that should be a `Task` (from a file, perhaps), or undefined. */
export function findTaskProblem(value: unknown): TaskProblem | undefined {
  const wrong = (steps: readonly (string | number)[], expected: string, found: unknown): TaskProblem => ({ steps, expected, found: describeValue(found) });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return wrong([], 'a task object { type, classes or labels, primaryMetric }', value);
  const task = value as Record<string, unknown>;
  const type = task.type;
  if (!TASK_TYPES.includes(type as (typeof TASK_TYPES)[number])) return wrong(['type'], '"binary", "multiclass" or "multilabel"', type);
  const field = type === 'multilabel' ? 'labels' : 'classes';
  const names = task[field];
  if (!Array.isArray(names)) return wrong([field], 'an array of non-empty strings', names);
  const bad = names.findIndex((name) => typeof name !== 'string' || name.length === 0);
  if (bad >= 0) return wrong([field, bad], 'a non-empty string', names[bad]);
  const seen = new Map<string, number>();
  for (const [index, name] of (names as string[]).entries()) {
    const earlier = seen.get(name);
    if (earlier !== undefined) return { steps: [field, index], expected: 'names that differ', found: `${quoteForMessage(name)} again (also at ${earlier})` };
    seen.set(name, index);
  }
  const minimum = type === 'multilabel' ? 1 : 2;
  if (names.length < minimum || (type === 'binary' && names.length !== 2)) {
    const expected = type === 'binary' ? 'exactly 2' : `at least ${minimum}`;
    return { steps: [field], expected: `${expected} names for a ${type} task`, found: String(names.length) };
  }
  if (typeof task.primaryMetric !== 'string' || task.primaryMetric.length === 0)
    return wrong(['primaryMetric'], "a metric id such as 'auc'", task.primaryMetric);
  if (type === 'multiclass' && typeof task.ordinal !== 'boolean') return wrong(['ordinal'], 'true or false for a multiclass task', task.ordinal);
  return undefined;
}

/** Checks a task object; the error names the field that is wrong, what it must be and what it is. */
export function validateTask(task: Task, where = 'task'): void {
  const problem = findTaskProblem(task);
  if (problem === undefined) return;
  const path = problem.steps.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
  throw new TypeError(`${where}${path}: expected ${problem.expected}, found ${problem.found}`);
}

/** Number of rows in a target array. */
export function targetRows(targets: TargetArray): number {
  return targets.shape[0];
}

/**
 * Checks that targets fit a task: class indices in range for single-label tasks, a `[n, labels]` 0/1 array
 * for multilabel ones. The error names the first bad row.
 */
export function validateTargets(task: Task, targets: TargetArray, where = 'targets'): void {
  if (task.type === 'multilabel') {
    if (targets.type !== 'labels') {
      throw new TypeError(`${where}: a multilabel task needs label targets [n, ${task.labels.length}], got class targets`);
    }
    const [rows, labels] = targets.shape;
    if (labels !== task.labels.length) {
      throw new RangeError(`${where}: expected shape [${rows}, ${task.labels.length}], got [${rows}, ${labels}]`);
    }
    if (targets.data.length !== rows * labels) {
      throw new RangeError(`${where}: shape [${rows}, ${labels}] needs ${rows * labels} values, got ${targets.data.length}`);
    }
    for (let index = 0; index < targets.data.length; index++) {
      const flag = targets.data[index]!;
      if (flag > 1) {
        throw new RangeError(`${where}: row ${Math.floor(index / labels)}, label ${cutText(task.labels[index % labels]!)} is ${flag}, expected 0 or 1`);
      }
    }
    return;
  }
  if (targets.type !== 'class') {
    throw new TypeError(`${where}: a ${task.type} task needs class-index targets [n], got label targets`);
  }
  if (targets.data.length !== targets.shape[0]) {
    throw new RangeError(`${where}: shape [${targets.shape[0]}] needs ${targets.shape[0]} values, got ${targets.data.length}`);
  }
  const classes = task.classes.length;
  for (let row = 0; row < targets.data.length; row++) {
    const target = targets.data[row]!;
    if (target < 0 || target >= classes) {
      throw new RangeError(`${where}: row ${row} has class ${target}, expected 0..${classes - 1} (${cutText(task.classes.join(', '))})`);
    }
  }
}
