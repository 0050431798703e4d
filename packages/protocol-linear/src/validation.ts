import { assertFiniteFeatures, validateTargets, validateTask } from '@medssl/core';
import type { ProtocolInput, TargetArray, Task } from '@medssl/spec';

const SPLITS = ['train', 'val', 'test'] as const;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks a protocol input before any work: one feature dimension for all splits, as many targets and ids
 * as feature rows, targets that fit the task, finite features, training rows inside the train split.
 * Every error names the split, and the row and column or the shapes involved. Returns the dimension.
 */
export function checkInput(input: ProtocolInput): number {
  validateTask(input.task, 'linear: task');
  const trainShape = input.train.features.shape;
  const dimension = trainShape[1];
  for (const split of SPLITS) {
    const set = input[split];
    const { shape, data } = set.features;
    const [rows, columns] = shape;
    if (columns !== dimension) {
      throw new RangeError(
        `linear: train features are ${shapeText(trainShape)} but ${split} features are ${shapeText(shape)}; ` +
          `every split needs the same dimension (${dimension})`,
      );
    }
    if (data.length !== rows * columns) {
      throw new RangeError(`linear: ${split} features of shape ${shapeText(shape)} need ${rows * columns} values, got ${data.length}`);
    }
    if (set.targets.shape[0] !== rows || set.ids.length !== rows) {
      throw new RangeError(
        `linear: ${split} has ${rows} feature rows but ${set.targets.shape[0]} target rows and ${set.ids.length} ids; they must line up one to one`,
      );
    }
    if (rows === 0) throw new RangeError(`linear: the ${split} split has no rows`);
    validateTargets(input.task, set.targets, `linear: ${split} targets`);
    assertFiniteFeatures(set, `linear: ${split}`);
  }
  if (dimension < 1) throw new RangeError(`linear: features have dimension ${dimension}; need at least 1`);
  const { trainRows } = input;
  if (trainRows !== undefined) {
    if (!(trainRows instanceof Int32Array)) throw new TypeError('linear: trainRows must be an Int32Array of train row indices');
    if (trainRows.length === 0) throw new RangeError('linear: trainRows is empty; there is nothing to train on');
    const trainCount = trainShape[0];
    trainRows.forEach((row, position) => {
      if (row < 0 || row >= trainCount) {
        throw new RangeError(`linear: trainRows[${position}] = ${row} is not a row of the ${trainCount}-row train split`);
      }
    });
  }
  return dimension;
}

/** The targets of the chosen training rows, in the order of `rows` (all rows when absent). */
export function selectTargets(targets: TargetArray, rows: Int32Array | undefined): TargetArray {
  if (rows === undefined) return targets;
  if (targets.type === 'class') return { type: 'class', data: Int32Array.from(rows, (row) => targets.data[row]!), shape: [rows.length] };
  const labels = targets.shape[1];
  const data = new Uint8Array(rows.length * labels);
  rows.forEach((row, index) => data.set(targets.data.subarray(row * labels, (row + 1) * labels), index * labels));
  return { type: 'labels', data, shape: [rows.length, labels] };
}

/** Refuses a single-label training set with fewer than two classes: there is no decision to learn. */
export function checkClassesPresent(task: Task, trainTargets: TargetArray, presentClasses: readonly number[]): void {
  if (task.type === 'multilabel' || presentClasses.length >= 2) return;
  const only = presentClasses[0];
  const name = only === undefined ? 'none' : `'${task.classes[only]}'`;
  throw new RangeError(
    `linear: the ${trainTargets.shape[0]} training rows hold one class only (${name}); ` +
      `a ${task.type} classifier needs at least two of ${task.classes.map((value) => `'${value}'`).join(', ')}`,
  );
}
