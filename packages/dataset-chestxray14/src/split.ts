import { createRng, cutText, describeNames, type IssueLog } from '@medssl/core';
import type { ImageList } from './layout.js';
import type { LabelTable } from './table.js';

export const SPLITS = ['train', 'val', 'test'] as const;
export type ChestXray14Split = (typeof SPLITS)[number];

/** Row assignment: 0 for a row in no split, else 1 + the index of its split in `SPLITS`. */
export const NO_SPLIT = 0;

export interface SplitFractions {
  readonly train: number;
  readonly val: number;
  readonly test: number;
}

/** Patient ids are numbers in NIH's table; compare them as numbers so `2` comes before `10`. */
export function comparePatients(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) {
    const difference = Number(a) - Number(b);
    if (difference !== 0) return difference;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The distinct patients in ascending order, then shuffled by a stream of the seed named for `purpose`. */
export function shuffledPatients(patients: Iterable<string>, seed: number, purpose: string): string[] {
  const distinct = [...new Set(patients)];
  // NIH's ids are all plain numbers: sort those by value without the per-comparison test.
  const allNumeric = distinct.every((patient) => /^\d+$/.test(patient) && patient.length < 16);
  const ordered = allNumeric ? distinct.sort((a, b) => Number(a) - Number(b) || comparePatients(a, b)) : distinct.sort(comparePatients);
  return createRng(seed).fork(purpose).shuffle(ordered);
}

/** The seeded stream that carves val out of train_val, and the one for the list-free split. */
export const VAL_PURPOSE = 'chestxray14/val-patients';
export const PATIENT_SPLIT_PURPOSE = 'chestxray14/patient-split';

/**
 * NIH's official split: test from `test_list.txt`; val is `round(valFraction * P)` of the P train_val
 * patients (seeded shuffle, no stratification), train the rest. Patients of the whole table are split, not
 * only those with images on disk, so a patient's split never depends on which images were downloaded.
 */
export function officialSplit(
  table: LabelTable,
  lists: { trainVal: ImageList; test: ImageList },
  valFraction: number,
  seed: number,
  log: IssueLog,
): Uint8Array {
  const TRAIN_VAL = 1;
  const TEST = 2;
  const membership = new Uint8Array(table.names.length);
  // Where each row was first listed, kept as numbers: a message is only built for a repeat.
  const listedLine = new Int32Array(table.names.length);
  const listPath = (value: number) => (value === TRAIN_VAL ? lists.trainVal.path : lists.test.path);
  for (const [list, value] of [
    [lists.trainVal, TRAIN_VAL],
    [lists.test, TEST],
  ] as const) {
    list.names.forEach((name, position) => {
      const line = list.lines[position]!;
      const row = table.rowOf.get(name);
      if (row === undefined) {
        if (table.skippedNames.has(name)) return; // its bad table row is already reported
        log.problem({
          kind: 'missing-label',
          message: `${list.path}: line ${line}: image ${cutText(name)} is not in the label table ${table.path}`,
          file: list.path,
          row: line,
        });
        return;
      }
      if (membership[row] !== 0) {
        const earlier = `${listPath(membership[row]!)} line ${listedLine[row]}`;
        log.problem({
          kind: 'skipped',
          message: `${list.path}: line ${line}: image ${cutText(name)} is already listed at ${earlier} (kept the first)`,
          file: list.path,
          row: line,
        });
        return;
      }
      membership[row] = value;
      listedLine[row] = line;
    });
  }

  const unlisted = table.names.filter((_, row) => membership[row] === 0);
  if (unlisted.length > 0) {
    log.report({
      kind: 'skipped',
      message: `${table.path}: ${describeNames(unlisted, 'row')} in neither ${lists.trainVal.path} nor ${lists.test.path}; left out of every split`,
      file: table.path,
    });
  }

  // NIH's lists keep each patient on one side; a patient on both sides would leak into test.
  const testPatients = new Set<string>();
  membership.forEach((value, row) => {
    if (value === TEST) testPatients.add(table.patients[row]!);
  });
  const leaked = new Map<string, number[]>();
  membership.forEach((value, row) => {
    const patient = table.patients[row]!;
    if (value === TRAIN_VAL && testPatients.has(patient)) leaked.set(patient, [...(leaked.get(patient) ?? []), row]);
  });
  for (const [patient, rows] of leaked) {
    const names = rows.map((row) => table.names[row]!);
    log.problem({
      kind: 'skipped',
      message: `${lists.trainVal.path}: patient ${patient} also has images in ${lists.test.path}; left out the train_val ${describeNames(names, 'image')}`,
      file: lists.trainVal.path,
    });
    for (const row of rows) membership[row] = 0;
  }

  const trainValPatients = shuffledPatients(
    table.patients.filter((_, row) => membership[row] === TRAIN_VAL),
    seed,
    VAL_PURPOSE,
  );
  const valPatients = new Set(trainValPatients.slice(0, Math.round(valFraction * trainValPatients.length)));
  const assignment = new Uint8Array(table.names.length);
  membership.forEach((value, row) => {
    if (value === TEST) assignment[row] = 1 + SPLITS.indexOf('test');
    else if (value === TRAIN_VAL) assignment[row] = 1 + SPLITS.indexOf(valPatients.has(table.patients[row]!) ? 'val' : 'train');
  });
  return assignment;
}

/**
 * Without NIH's lists: the table's patients, shuffled by the seed; the first `round(test * P)` go to test,
 * the next `round(val * P)` to val, the rest to train.
 */
export function patientSplit(table: LabelTable, fractions: SplitFractions, seed: number): Uint8Array {
  const patients = shuffledPatients(table.patients, seed, PATIENT_SPLIT_PURPOSE);
  const testCount = Math.round(fractions.test * patients.length);
  const valCount = Math.round(fractions.val * patients.length);
  const splitOf = new Map<string, number>();
  patients.forEach((patient, position) => {
    const split: ChestXray14Split = position < testCount ? 'test' : position < testCount + valCount ? 'val' : 'train';
    splitOf.set(patient, 1 + SPLITS.indexOf(split));
  });
  return Uint8Array.from(table.patients, (patient) => splitOf.get(patient)!);
}
