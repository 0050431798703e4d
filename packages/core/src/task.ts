import type { Task, TargetArray } from '@medssl/spec';

/** The number of model outputs a task needs: one per class, or one per label. */
export function outputCount(task: Task): number {
  return task.type === 'multilabel' ? task.labels.length : task.classes.length;
}

/** Class or label names in output order. */
export function targetNames(task: Task): readonly string[] {
  return task.type === 'multilabel' ? task.labels : task.classes;
}

/** Checks a task object; the error names the field that is wrong. */
export function validateTask(task: Task, where = 'task'): void {
  const names: readonly unknown[] | undefined =
    task.type === 'multilabel' ? task.labels : task.type === 'binary' || task.type === 'multiclass' ? task.classes : undefined;
  if (names === undefined) {
    throw new TypeError(`${where}.type must be 'binary', 'multiclass' or 'multilabel', got ${JSON.stringify((task as { type?: unknown }).type)}`);
  }
  const field = task.type === 'multilabel' ? 'labels' : 'classes';
  if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name.length === 0)) {
    throw new TypeError(`${where}.${field} must be an array of non-empty strings`);
  }
  if (new Set(names).size !== names.length) throw new TypeError(`${where}.${field} has duplicate names`);
  const minimum = task.type === 'multilabel' ? 1 : 2;
  if (names.length < minimum || (task.type === 'binary' && names.length !== 2)) {
    const expected = task.type === 'binary' ? 'exactly 2' : `at least ${minimum}`;
    throw new TypeError(`${where}.${field} must hold ${expected} names for a ${task.type} task, got ${names.length}`);
  }
  if (typeof task.primaryMetric !== 'string' || task.primaryMetric.length === 0) {
    throw new TypeError(`${where}.primaryMetric must be a metric id such as 'auc'`);
  }
  if (task.type === 'multiclass' && typeof task.ordinal !== 'boolean') {
    throw new TypeError(`${where}.ordinal must be true or false for a multiclass task`);
  }
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
        throw new RangeError(`${where}: row ${Math.floor(index / labels)}, label ${task.labels[index % labels]} is ${flag}, expected 0 or 1`);
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
      throw new RangeError(`${where}: row ${row} has class ${target}, expected 0..${classes - 1} (${task.classes.join(', ')})`);
    }
  }
}
