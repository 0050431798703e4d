import type { SplitName, TargetArray, Task } from '@medssl/spec';
import { assertSeed, createRng, describeValue } from './rng.js';
import { targetNames, validateTargets } from './task.js';

/** Label fractions the paper evaluates at; 100 % is the whole training split. */
export const DEFAULT_FRACTIONS: readonly number[] = [0.01, 0.1, 1];

export const SUBSET_FORMAT = 'medssl.subset/v1';

/** The rows of a training split that a run may learn from at one label fraction and seed. */
export interface LabelFractionSubset {
  readonly format: typeof SUBSET_FORMAT;
  readonly dataset: string;
  readonly split: SplitName;
  readonly fraction: number;
  readonly seed: number;
  /** Rows in the whole split the subset was drawn from. */
  readonly poolSize: number;
  /** SHA-256 of the pool's ids and targets: a subset file never applies to a different pool unnoticed. */
  readonly poolFingerprint: string;
  /** Selected rows of the split, ascending. */
  readonly rows: Int32Array;
  /** Samples per class (single-label) or positives per label and `(none)` (multilabel) in the subset. */
  readonly counts: Readonly<Record<string, number>>;
  /** Classes or labels with no sample in the subset (only with `minimumOnePerClass: false`). */
  readonly missing: readonly string[];
}

export interface LabelFractionSubsetsOptions {
  readonly task: Task;
  readonly targets: TargetArray;
  /** Sample ids in row order; part of the pool fingerprint. */
  readonly ids: readonly string[];
  readonly fractions?: readonly number[];
  readonly seed: number;
  readonly dataset: string;
  readonly split?: SplitName;
  /** A class (or label) with no sample in the pool is an error unless this is set. */
  readonly allowEmptyClasses?: boolean;
  /**
   * Default true: a subset holds at least one sample of every class (every label, for multilabel tasks),
   * so a fraction too small for that is raised to the smallest size that does (e.g. 1 % of 300 rows in 5
   * grades gives 5 rows, not 3). Set false to take exactly round(fraction × pool) rows and read the
   * classes left out in `missing`.
   */
  readonly minimumOnePerClass?: boolean;
}

/**
 * Nested, stratified, seeded label-fraction subsets of a training split.
 *
 * One seeded ordering of the whole pool is built, and each fraction takes a prefix of it, so the subsets
 * nest (1 % ⊂ 10 % ⊂ 100 %) by construction. The ordering first takes one sample of every class (rarest
 * first), so every class is present once a subset is large enough to hold them all; after that each step
 * takes a sample of the category furthest below its share, which keeps every prefix within about one
 * sample of proportional. Multilabel targets use each label's positives, plus the rows with no positive
 * label, as overlapping categories (a greedy form of iterative stratification).
 */
export async function labelFractionSubsets(options: LabelFractionSubsetsOptions): Promise<LabelFractionSubset[]> {
  const { task, targets, ids, seed, dataset } = options;
  const split = options.split ?? 'train';
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  assertSeed(seed);
  for (const fraction of fractions) assertFraction(fraction);
  validateTargets(task, targets, `${dataset}/${split} targets`);
  const poolSize = targets.shape[0];
  if (ids.length !== poolSize) {
    throw new RangeError(`${dataset}/${split}: ${ids.length} ids for ${poolSize} target rows`);
  }
  if (poolSize === 0) throw new RangeError(`${dataset}/${split}: cannot draw label-fraction subsets from an empty split`);

  const categories = categoriesOf(task, targets);
  if (!options.allowEmptyClasses) {
    const empty = categories.names.filter((name, category) => name !== NO_LABEL && categories.members[category]!.length === 0);
    if (empty.length > 0) {
      const noun = task.type === 'multilabel' ? 'label' : 'class';
      throw new RangeError(
        `${dataset}/${split}: ${noun} ${empty.map((name) => JSON.stringify(name)).join(', ')} has no samples among ${poolSize} rows; ` +
          `stratified subsets need every ${noun} (pass allowEmptyClasses to draw them anyway)`,
      );
    }
  }

  const { order, rowsHoldingEveryClass } = stratifiedOrder(categories, poolSize, seed);
  const poolFingerprint = await fingerprintPool(ids, targets);
  const minimum = options.minimumOnePerClass === false ? 1 : Math.max(1, rowsHoldingEveryClass);
  return fractions.map((fraction) => {
    const size = Math.min(poolSize, Math.max(minimum, Math.round(fraction * poolSize)));
    const rows = order.slice(0, size).sort();
    const counts = countCategories(categories, rows);
    const missing = Object.entries(counts)
      .filter(([name, count]) => count === 0 && name !== NO_LABEL && categories.members[categories.names.indexOf(name)]!.length > 0)
      .map(([name]) => name);
    return { format: SUBSET_FORMAT, dataset, split, fraction, seed, poolSize, poolFingerprint, rows, counts, missing };
  });
}

export function assertFraction(fraction: unknown): asserts fraction is number {
  if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
    throw new RangeError(`label fraction must be in (0, 1], got ${describeValue(fraction)}`);
  }
}

const NO_LABEL = '(none)';
const CANDIDATES_PER_STEP = 32;

interface Categories {
  readonly names: readonly string[];
  /** Rows of each category; a multilabel row belongs to every label it has. */
  readonly members: readonly number[][];
  /** Categories of each row, as offsets into `rowCategoryList`. */
  readonly rowCategoryStart: Int32Array;
  readonly rowCategoryList: Int32Array;
}

function categoriesOf(task: Task, targets: TargetArray): Categories {
  const rows = targets.shape[0];
  const names = [...targetNames(task)];
  const members: number[][] = names.map(() => []);
  const rowCategoryStart = new Int32Array(rows + 1);
  const list: number[] = [];
  if (targets.type === 'class') {
    for (let row = 0; row < rows; row++) {
      rowCategoryStart[row] = list.length;
      const category = targets.data[row]!;
      members[category]!.push(row);
      list.push(category);
    }
  } else {
    const labels = targets.shape[1];
    const noLabel = names.length;
    names.push(NO_LABEL);
    members.push([]);
    for (let row = 0; row < rows; row++) {
      rowCategoryStart[row] = list.length;
      let positives = 0;
      for (let label = 0; label < labels; label++) {
        if (targets.data[row * labels + label] === 1) {
          members[label]!.push(row);
          list.push(label);
          positives++;
        }
      }
      if (positives === 0) {
        members[noLabel]!.push(row);
        list.push(noLabel);
      }
    }
  }
  rowCategoryStart[rows] = list.length;
  return { names, members, rowCategoryStart, rowCategoryList: Int32Array.from(list) };
}

/** The seeded ordering, and how long a prefix must be to hold every class (label) at least once. */
function stratifiedOrder(categories: Categories, poolSize: number, seed: number): { order: Int32Array; rowsHoldingEveryClass: number } {
  const rng = createRng(seed).fork('label-fraction-subsets');
  const categoryCount = categories.names.length;
  const pools = categories.members.map((rows) => rng.shuffle(Int32Array.from(rows)));
  const poolCursor = new Int32Array(categoryCount);
  const taken = new Uint8Array(poolSize);
  const have = new Float64Array(categoryCount);
  const order = new Int32Array(poolSize);
  const share = pools.map((pool) => pool.length / poolSize);
  const overlapping = categories.rowCategoryList.length > poolSize || categories.names.includes(NO_LABEL);
  let length = 0;

  const nextFree = (category: number): number => {
    const pool = pools[category]!;
    let cursor = poolCursor[category]!;
    while (cursor < pool.length && taken[pool[cursor]!] === 1) cursor++;
    poolCursor[category] = cursor;
    return cursor < pool.length ? pool[cursor]! : -1;
  };
  const take = (row: number): void => {
    taken[row] = 1;
    order[length++] = row;
    for (let offset = categories.rowCategoryStart[row]!; offset < categories.rowCategoryStart[row + 1]!; offset++) {
      have[categories.rowCategoryList[offset]!]!++;
    }
  };

  // A multilabel row counts towards all its labels: among the next few free rows of the chosen category,
  // take the one that brings the prefix's category counts closest to their shares (least squared error;
  // iterative stratification's idea, done greedily). A single-label row has one category, so for
  // single-label pools every candidate scores alike and this is simply the next free row.
  const candidates = new Int32Array(CANDIDATES_PER_STEP);
  const closestToShares = (category: number, prefixLength: number): number => {
    const pool = pools[category]!;
    const cursor = poolCursor[category]!;
    if (!overlapping) return pool[cursor]!;
    // Candidates come from anywhere in the pool's free rows: scanning only from the front would leave the
    // rows passed over there, and later force them in.
    let found = 0;
    candidates[found++] = pool[cursor]!;
    for (let attempt = 0; attempt < 2 * CANDIDATES_PER_STEP && found < CANDIDATES_PER_STEP; attempt++) {
      const row = pool[cursor + rng.int(pool.length - cursor)]!;
      if (taken[row] === 0) candidates[found++] = row;
    }
    let best = candidates[0]!;
    let bestChange = Infinity;
    for (let candidate = 0; candidate < found; candidate++) {
      const row = candidates[candidate]!;
      // Change of sum((have - share * length)^2) if this row is added: 2 * (have - target) + 1 per category.
      let change = 0;
      for (let offset = categories.rowCategoryStart[row]!; offset < categories.rowCategoryStart[row + 1]!; offset++) {
        const other = categories.rowCategoryList[offset]!;
        change += 2 * (have[other]! - prefixLength * share[other]!) + 1;
      }
      if (change < bestChange) {
        best = row;
        bestChange = change;
      }
    }
    return best;
  };

  // Every category once, rarest first (ties in a seeded order), so small subsets still hold every class.
  const byRarity = rng.shuffle(Array.from({ length: categoryCount }, (_, category) => category)).sort((a, b) => pools[a]!.length - pools[b]!.length);
  for (const category of byRarity) {
    if (have[category] === 0) {
      if (nextFree(category) >= 0) take(closestToShares(category, length + 1));
    }
  }
  const rowsHoldingEveryClass = length;

  // Then always the category furthest below its share of the prefix; rarer categories win ties. Labels
  // overlap, so for multilabel pools the rows with no label are balanced first against the labelled rows
  // (the two partition the pool), which anchors how many labelled rows a prefix holds.
  const noLabel = categories.names.indexOf(NO_LABEL);
  let labelledRows = length - (noLabel >= 0 ? have[noLabel]! : 0);
  while (length < poolSize) {
    let best = -1;
    if (noLabel >= 0 && nextFree(noLabel) >= 0) {
      const noLabelDeficit = (length + 1) * share[noLabel]! - have[noLabel]!;
      const labelledDeficit = (length + 1) * (1 - share[noLabel]!) - labelledRows;
      if (noLabelDeficit >= labelledDeficit) best = noLabel;
    }
    if (best < 0) {
      let bestDeficit = -Infinity;
      for (let category = 0; category < categoryCount; category++) {
        if (category === noLabel || poolCursor[category]! >= pools[category]!.length) continue;
        const deficit = (length + 1) * share[category]! - have[category]!;
        if (deficit > bestDeficit || (deficit === bestDeficit && pools[category]!.length < pools[best]!.length)) {
          if (nextFree(category) < 0) continue;
          best = category;
          bestDeficit = deficit;
        }
      }
      if (best < 0) best = noLabel;
    }
    if (best !== noLabel) labelledRows++;
    take(closestToShares(best, length + 1));
  }
  return { order, rowsHoldingEveryClass };
}

function countCategories(categories: Categories, rows: Int32Array): Record<string, number> {
  const counts = new Array<number>(categories.names.length).fill(0);
  for (const row of rows) {
    for (let offset = categories.rowCategoryStart[row]!; offset < categories.rowCategoryStart[row + 1]!; offset++) {
      counts[categories.rowCategoryList[offset]!]!++;
    }
  }
  return Object.fromEntries(categories.names.map((name, category) => [name, counts[category]!]));
}

/** SHA-256 (hex) of the ids and targets of a pool, through Web Crypto (Node and browsers alike). */
export async function fingerprintPool(ids: readonly string[], targets: TargetArray): Promise<string> {
  const text = new TextEncoder().encode(`${JSON.stringify(ids)}\n${targets.type}:${targets.shape.join('x')}\n`);
  const targetBytes = new Uint8Array(targets.data.buffer, targets.data.byteOffset, targets.data.byteLength);
  const joined = new Uint8Array(text.length + targetBytes.length);
  joined.set(text, 0);
  joined.set(targetBytes, text.length);
  return toHex(await globalThis.crypto.subtle.digest('SHA-256', joined));
}

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The JSON index file of one subset (rows as a plain array, so any tool can read it). */
export function serializeSubset(subset: LabelFractionSubset): string {
  return `${JSON.stringify({ ...subset, rows: Array.from(subset.rows) }, null, 1)}\n`;
}

/**
 * Reads a subset index file and checks it; with `pool`, also checks it was drawn from these very ids and
 * targets. `source` names the file in errors.
 */
export async function parseSubset(text: string, source: string, pool?: { ids: readonly string[]; targets: TargetArray }): Promise<LabelFractionSubset> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${source}: not a JSON subset index file (${(error as Error).message})`);
  }
  const record = parsed as Record<string, unknown>;
  if (typeof record !== 'object' || record === null || record.format !== SUBSET_FORMAT) {
    throw new TypeError(`${source}: format must be "${SUBSET_FORMAT}", got ${describeValue(record?.format)}`);
  }
  const field = <T>(key: string, check: (value: unknown) => boolean, expected: string): T => {
    if (!check(record[key])) throw new TypeError(`${source}: field "${key}" must be ${expected}, got ${describeValue(record[key])}`);
    return record[key] as T;
  };
  const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  const dataset = field<string>('dataset', (value) => typeof value === 'string', 'a string');
  const split = field<string>('split', (value) => typeof value === 'string', 'a string');
  const fraction = field<number>('fraction', (value) => typeof value === 'number' && value > 0 && value <= 1, 'a number in (0, 1]');
  const seed = field<number>('seed', isCount, 'a non-negative integer');
  const poolSize = field<number>('poolSize', isCount, 'a non-negative integer');
  const poolFingerprint = field<string>('poolFingerprint', (value) => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value), 'a SHA-256 hex string');
  const rowList = field<unknown[]>('rows', Array.isArray, 'an array of row numbers');
  const counts = field<Record<string, number>>('counts', (value) => typeof value === 'object' && value !== null, 'an object');
  const missing = field<string[]>('missing', Array.isArray, 'an array');
  const rows = new Int32Array(rowList.length);
  rowList.forEach((row, position) => {
    if (!Number.isSafeInteger(row) || (row as number) < 0 || (row as number) >= poolSize) {
      throw new RangeError(`${source}: rows[${position}] = ${describeValue(row)} is not a row of a ${poolSize}-row split`);
    }
    if (position > 0 && (row as number) <= rows[position - 1]!) {
      throw new RangeError(`${source}: rows must be ascending and unique; rows[${position}] = ${describeValue(row)} follows ${rows[position - 1]}`);
    }
    rows[position] = row as number;
  });
  if (pool) {
    if (pool.targets.shape[0] !== poolSize) {
      throw new RangeError(`${source}: drawn from a ${poolSize}-row split, but this split has ${pool.targets.shape[0]} rows`);
    }
    const actual = await fingerprintPool(pool.ids, pool.targets);
    if (actual !== poolFingerprint) {
      throw new Error(
        `${source}: drawn from a different ${dataset}/${split} (pool fingerprint ${poolFingerprint.slice(0, 12)}…, this split ${actual.slice(0, 12)}…): ids or targets changed`,
      );
    }
  }
  return { format: SUBSET_FORMAT, dataset, split, fraction, seed, poolSize, poolFingerprint, rows, counts, missing };
}

/** File name of a subset index: `<dataset>-<split>-f<fraction>-s<seed>.json`, safe on every file system. */
export function subsetFileName(subset: Pick<LabelFractionSubset, 'dataset' | 'split' | 'fraction' | 'seed'>): string {
  const dataset = subset.dataset.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${dataset}-${subset.split}-f${subset.fraction}-s${subset.seed}.json`;
}
