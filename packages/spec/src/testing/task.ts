import type { Target, Task } from '../task.js';
import { check } from './assert.js';

export function checkTask(task: Task, where: string): void {
  check(typeof task === 'object' && task !== null, `${where}: task must be an object`);
  check(
    ['binary', 'multiclass', 'multilabel'].includes(task.type),
    `${where}: task.type must be binary, multiclass or multilabel, got ${JSON.stringify(task.type)}`,
  );
  const names: readonly string[] = task.type === 'multilabel' ? task.labels : task.classes;
  check(
    Array.isArray(names) && names.every((name) => typeof name === 'string' && name.length > 0),
    `${where}: task class or label names must be non-empty strings`,
  );
  check(new Set(names).size === names.length, `${where}: task class or label names must be unique`);
  if (task.type === 'binary') check(names.length === 2, `${where}: a binary task has 2 classes, got ${names.length}`);
  if (task.type === 'multiclass') {
    check(names.length >= 2, `${where}: a multiclass task has at least 2 classes, got ${names.length}`);
    check(typeof task.ordinal === 'boolean', `${where}: multiclass task.ordinal must be a boolean`);
  }
  if (task.type === 'multilabel') check(names.length >= 1, `${where}: a multilabel task has at least 1 label`);
  check(typeof task.primaryMetric === 'string' && task.primaryMetric.length > 0, `${where}: task.primaryMetric must name a metric`);
}

export function checkTarget(task: Task, target: Target, where: string): void {
  if (task.type === 'multilabel') {
    check(target instanceof Uint8Array, `${where}: a multilabel target must be a Uint8Array of 0/1 flags, got ${typeof target}`);
    check(target.length === task.labels.length, `${where}: expected ${task.labels.length} label flags, got ${target.length}`);
    check(
      target.every((flag) => flag === 0 || flag === 1),
      `${where}: label flags must be 0 or 1, got [${Array.from(target).join(', ')}]`,
    );
    return;
  }
  check(typeof target === 'number' && Number.isInteger(target), `${where}: a ${task.type} target must be an integer class index, got ${String(target)}`);
  check(target >= 0 && target < task.classes.length, `${where}: class index ${target} is outside 0..${task.classes.length - 1}`);
}
