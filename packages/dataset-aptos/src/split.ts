import { readFile } from 'node:fs/promises';
import { DatasetLayoutError, createRng, cutText, describeNames, quoteForMessage } from '@medssl/core';

export const SPLITS = ['train', 'val', 'test'] as const;
export type AptosSplit = (typeof SPLITS)[number];

export interface SplitFractions {
  readonly train: number;
  readonly val: number;
  readonly test: number;
}

export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, val: 0.1, test: 0.2 };

export const SPLIT_FORMAT = 'medssl.aptos-split/v1';

/** The rounding rule, written into the split file so that a reader knows how the sizes came about. */
export const ROUNDING_RULE =
  'per grade of n images, sorted by id_code and shuffled by createRng(seed).fork("aptos/split/grade-<g>"): ' +
  'the first round(n * test) go to test, the next round(n * val) to val, the rest to train (round = Math.round, halves up)';

/** The split file: ids per split, and what they were drawn from. */
export interface SplitRecord {
  readonly format: typeof SPLIT_FORMAT;
  readonly seed: number;
  readonly fractions: SplitFractions;
  readonly rounding: string;
  /** Images per split and grade, for a reader of the file; not checked on load. */
  readonly counts: Readonly<Record<AptosSplit, readonly number[]>>;
  readonly splits: Readonly<Record<AptosSplit, readonly string[]>>;
}

/** Images of each split for a grade of `count` images: `round(count * fraction)` for test and val, the rest train. */
export function splitSizes(count: number, fractions: SplitFractions): Record<AptosSplit, number> {
  const test = Math.min(count, Math.round(count * fractions.test));
  const val = Math.min(count - test, Math.round(count * fractions.val));
  return { train: count - test - val, val, test };
}

/** Stratified by grade and seeded; within a split, ids are sorted. */
export function drawSplit(ids: readonly string[], grades: readonly number[], gradeCount: number, fractions: SplitFractions, seed: number): SplitRecord {
  const splits: Record<AptosSplit, string[]> = { train: [], val: [], test: [] };
  const counts: Record<AptosSplit, number[]> = { train: [], val: [], test: [] };
  for (let grade = 0; grade < gradeCount; grade++) {
    const members = ids.filter((_, row) => grades[row] === grade).sort(compareIds);
    // A fresh stream per grade: the draw for one grade never depends on how many images another has.
    createRng(seed).fork(`aptos/split/grade-${grade}`).shuffle(members);
    const sizes = splitSizes(members.length, fractions);
    splits.test.push(...members.slice(0, sizes.test));
    splits.val.push(...members.slice(sizes.test, sizes.test + sizes.val));
    splits.train.push(...members.slice(sizes.test + sizes.val));
    for (const split of SPLITS) counts[split].push(sizes[split]);
  }
  for (const split of SPLITS) splits[split].sort(compareIds);
  return { format: SPLIT_FORMAT, seed, fractions, rounding: ROUNDING_RULE, counts, splits };
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function serializeSplit(record: SplitRecord): string {
  return `${JSON.stringify(record, null, 1)}\n`;
}

/**
 * Reads a saved split and checks it against the options and the csv: same format, seed and fractions, and
 * exactly the csv's ids, each in one split. Every mismatch is an error naming the file.
 */
export async function loadSplit(path: string, ids: readonly string[], seed: number, fractions: SplitFractions, csvPath: string): Promise<SplitRecord> {
  const advice = `delete ${path} to draw the split again`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: cannot read the saved APTOS split (${(error as Error).message}); ${advice}`);
  }
  const record = parsed as Partial<SplitRecord> | null;
  if (typeof record !== 'object' || record === null || record.format !== SPLIT_FORMAT) {
    throw new DatasetLayoutError(path, 'format', `expected "${SPLIT_FORMAT}", found ${quoteForMessage(record?.format)}; ${advice}`);
  }
  if (record.seed !== seed) throw new Error(`${path}: drawn with seed ${quoteForMessage(record.seed)}, but the options ask for seed ${seed}; ${advice}`);
  const saved = record.fractions;
  if (!saved || SPLITS.some((split) => saved[split] !== fractions[split])) {
    throw new Error(`${path}: drawn with fractions ${quoteForMessage(saved)}, but the options ask for ${JSON.stringify(fractions)}; ${advice}`);
  }
  const splitOf = new Map<string, AptosSplit>();
  for (const split of SPLITS) {
    const list = record.splits?.[split];
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string'))
      throw new DatasetLayoutError(path, `splits.${split}`, `expected an array of id_code strings; ${advice}`);
    for (const id of list) {
      const other = splitOf.get(id);
      if (other !== undefined) throw new DatasetLayoutError(path, `splits.${split}`, `id ${cutText(id)} is in both ${other} and ${split}; ${advice}`);
      splitOf.set(id, split);
    }
  }
  const known = new Set(ids);
  const onlyInCsv = ids.filter((id) => !splitOf.has(id));
  const onlyInFile = [...splitOf.keys()].filter((id) => !known.has(id));
  if (onlyInCsv.length > 0 || onlyInFile.length > 0) {
    const parts = [];
    if (onlyInCsv.length > 0) parts.push(`${describeNames(onlyInCsv, 'id')} of ${csvPath} ${onlyInCsv.length === 1 ? 'is' : 'are'} not in it`);
    if (onlyInFile.length > 0)
      parts.push(`${describeNames(onlyInFile, 'id')} in it ${onlyInFile.length === 1 ? 'is' : 'are'} not among the usable rows of ${csvPath}`);
    throw new Error(`${path}: the saved split does not match the labelled images: ${parts.join('; ')}; ${advice}`);
  }
  const splits = Object.fromEntries(SPLITS.map((split) => [split, [...record.splits![split]!].sort(compareIds)])) as Record<AptosSplit, string[]>;
  return {
    format: SPLIT_FORMAT,
    seed,
    fractions,
    rounding: record.rounding ?? ROUNDING_RULE,
    counts: record.counts ?? { train: [], val: [], test: [] },
    splits,
  };
}
