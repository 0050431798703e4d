import { assertFiniteFeatures, validateTargets, validateTask } from '@medssl/core';
import type { FeatureSet, FusionInput, TargetArray, Task } from '@medssl/spec';
import type { FusionKind } from './options.js';

const SPLITS = ['train', 'val', 'test'] as const;

function describeTask(task: Task): string {
  return task.type === 'multilabel' ? `multilabel (${task.labels.length} labels)` : `${task.type} (${task.classes.join(', ')})`;
}

/**
 * Names of the sources in order: the backbone ids of the training feature sets, with `#2`, `#3`, ...
 * added to a repeated id so every source has its own name.
 */
export function sourceNames(sets: readonly FeatureSet[]): string[] {
  return uniqueNames(sets.map((set) => set.manifest.backbone));
}

/** The ids with `#2`, `#3`, ... added to the second and later copies of a repeated one. */
export function uniqueNames(ids: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return ids.map((id) => {
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    return count === 1 ? id : `${id}#${count}`;
  });
}

export interface CheckedFusionInput {
  readonly sources: readonly string[];
  readonly dimensions: readonly number[];
  /** The training rows to use (every row when the input gives none). */
  readonly trainRows: Int32Array;
}

/**
 * Checks a fusion input before any work: at least two sources (one for `single`), one feature set per
 * source in every split, the same samples in the same order across the sources of a split, the same
 * backbone and dimension for a source across splits, the input's task everywhere, finite features and
 * valid targets, training rows inside the train split. Errors name the split, the source (position and
 * backbone) and what differs.
 */
export function checkFusionInput(input: FusionInput, kind: FusionKind): CheckedFusionInput {
  const name = kind;
  validateTask(input.task, `${name}: task`);
  const sources = input.train.length;
  const minimum = kind === 'single' ? 1 : 2;
  if (sources < minimum) {
    throw new RangeError(`${name}: fuses at least ${minimum} backbones, got ${sources} feature set${sources === 1 ? '' : 's'} per split (K = ${sources})`);
  }
  for (const split of SPLITS) {
    if (input[split].length !== sources) {
      throw new RangeError(
        `${name}: train has ${sources} feature sets but ${split} has ${input[split].length}; every split needs one per backbone, in the same order`,
      );
    }
  }
  const names = sourceNames(input.train);
  const label = (split: string, source: number) => `${split} feature set ${source + 1} (${input[split as 'train'][source]!.manifest.backbone})`;
  for (const split of SPLITS) {
    const sets = input[split];
    const first = sets[0]!;
    sets.forEach((set, source) => {
      const where = label(split, source);
      const [rows, columns] = set.features.shape;
      if (set.features.data.length !== rows * columns) {
        throw new RangeError(`${name}: ${where} features of shape [${rows}, ${columns}] need ${rows * columns} values, got ${set.features.data.length}`);
      }
      if (set.targets.shape[0] !== rows || set.ids.length !== rows) {
        throw new RangeError(
          `${name}: ${where} has ${rows} feature rows, ${set.targets.shape[0]} target rows and ${set.ids.length} ids; they must line up one to one`,
        );
      }
      if (rows === 0) throw new RangeError(`${name}: ${where} has no rows`);
      if (JSON.stringify(set.manifest.task) !== JSON.stringify(input.task)) {
        throw new RangeError(
          `${name}: ${where} is a ${describeTask(set.manifest.task)} task, the fusion's task is ${describeTask(input.task)}; every feature set must come from the same task`,
        );
      }
      validateTargets(input.task, set.targets, `${name}: ${where} targets`);
      const trainSet = input.train[source]!;
      if (set.manifest.backbone !== trainSet.manifest.backbone) {
        throw new RangeError(
          `${name}: source ${source + 1} is ${trainSet.manifest.backbone} in train but ${set.manifest.backbone} in ${split}; give the feature sets of every split in the same backbone order`,
        );
      }
      if (columns !== trainSet.features.shape[1]) {
        throw new RangeError(
          `${name}: source ${source + 1} (${trainSet.manifest.backbone}) has train features [${trainSet.features.shape.join(', ')}] but ${split} features [${rows}, ${columns}]; a source needs one dimension in every split`,
        );
      }
      if (source === 0) return;
      if (rows !== first.ids.length) {
        throw new RangeError(
          `${name}: ${where} has ${rows} rows, ${label(split, 0)} has ${first.ids.length}; the sources of a split must hold the same samples`,
        );
      }
      const row = set.ids.findIndex((id, index) => id !== first.ids[index]);
      if (row >= 0) {
        throw new RangeError(
          `${name}: ${where} row ${row} is ${JSON.stringify(set.ids[row])}, ${label(split, 0)} row ${row} is ${JSON.stringify(first.ids[row])}; the sources of a split must hold the same ids in the same order`,
        );
      }
      const differs = firstDifference(set.targets, first.targets);
      if (differs >= 0)
        throw new RangeError(`${name}: ${where} targets differ from ${label(split, 0)} at row ${differs} (${JSON.stringify(set.ids[differs])})`);
    });
    sets.forEach((set, source) => assertFiniteFeatures(set, `${name}: ${label(split, source)}`));
  }
  const trainCount = input.train[0]!.ids.length;
  let trainRows: Int32Array;
  if (input.trainRows !== undefined) {
    if (!(input.trainRows instanceof Int32Array)) throw new TypeError(`${name}: trainRows must be an Int32Array of train row indices`);
    if (input.trainRows.length === 0) throw new RangeError(`${name}: trainRows is empty; there is nothing to train on`);
    input.trainRows.forEach((row, position) => {
      if (row < 0 || row >= trainCount) throw new RangeError(`${name}: trainRows[${position}] = ${row} is not a row of the ${trainCount}-row train split`);
    });
    trainRows = input.trainRows;
  } else {
    trainRows = Int32Array.from({ length: trainCount }, (_, row) => row);
  }
  return { sources: names, dimensions: input.train.map((set) => set.features.shape[1]), trainRows };
}

function firstDifference(left: TargetArray, right: TargetArray): number {
  if (left.type !== right.type) return 0;
  const width = left.type === 'labels' ? left.shape[1] : 1;
  for (let index = 0; index < left.data.length; index++) {
    if (left.data[index] !== right.data[index]) return Math.floor(index / width);
  }
  return -1;
}

/** Targets of the chosen rows, in the order of `rows`. */
export function selectTargets(targets: TargetArray, rows: Int32Array): TargetArray {
  if (targets.type === 'class') return { type: 'class', data: Int32Array.from(rows, (row) => targets.data[row]!), shape: [rows.length] };
  const labels = targets.shape[1];
  const data = new Uint8Array(rows.length * labels);
  rows.forEach((row, index) => data.set(targets.data.subarray(row * labels, (row + 1) * labels), index * labels));
  return { type: 'labels', data, shape: [rows.length, labels] };
}

/** Refuses single-label training rows with one class only: there is no decision to learn. */
export function checkTrainingClasses(name: string, task: Task, targets: TargetArray): void {
  if (task.type === 'multilabel' || targets.type !== 'class') return;
  const present = new Set(targets.data);
  if (present.size >= 2) return;
  const only = [...present][0];
  throw new RangeError(
    `${name}: the ${targets.shape[0]} training rows hold one class only (${only === undefined ? 'none' : `'${task.classes[only]}'`}); ` +
      `a ${task.type} classifier needs at least two of ${task.classes.map((value) => `'${value}'`).join(', ')}`,
  );
}
