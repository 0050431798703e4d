// Labels CSV and image folder → labelled images, a task and train/val/test splits. No DOM here: the test
// runs this same code in Node for the comparison with the page.
import { csvColumns, labelFractionSubsets, parseCsv } from '@medssl/core';
import type { ClassTargets, RawImage, Task } from '@medssl/spec';

/** The splits a run needs: the probe trains on `train`, picks its hyper-parameter on `val`, reports on `test`. */
export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** Names a `split` column may use for each split (PCam says `valid`). */
const SPLIT_ALIASES: Readonly<Record<string, SplitName>> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
};

/** Shares of a seeded stratified split, used when the CSV has no `split` column. */
export const SEEDED_SPLIT = { train: 0.6, val: 0.2, test: 0.2 } as const;

export interface LabelRow {
  /** Path relative to the chosen folder, as the CSV writes it (`/` separators). */
  readonly path: string;
  readonly label: string;
  readonly split?: SplitName;
  /** Line of the CSV, for error messages. */
  readonly line: number;
}

export interface LabelTable {
  readonly source: string;
  readonly rows: readonly LabelRow[];
  readonly hasSplitColumn: boolean;
}

/** Reads `path,label[,split]` (other columns are ignored). Errors name the file and the line. */
export function readLabelTable(text: string, source: string): LabelTable {
  const table = parseCsv(text, source);
  const columns = csvColumns(table, ['path', 'label'], source);
  const splitColumn = table.header.indexOf('split');
  const seen = new Map<string, number>();
  const rows = table.rows.map((fields, index): LabelRow => {
    const line = table.lines[index]!;
    const path = normalizePath(fields[columns.path]!);
    const label = fields[columns.label]!.trim();
    if (path === '') throw new SyntaxError(`${source}: line ${line}: empty path`);
    if (label === '') throw new SyntaxError(`${source}: line ${line}: empty label for ${path}`);
    const earlier = seen.get(path);
    if (earlier !== undefined) throw new SyntaxError(`${source}: line ${line}: ${path} is listed again (first on line ${earlier})`);
    seen.set(path, line);
    if (splitColumn < 0) return { path, label, line };
    const splitText = fields[splitColumn]!.trim();
    const split = SPLIT_ALIASES[splitText.toLowerCase()];
    if (split === undefined) {
      throw new SyntaxError(`${source}: line ${line}: split ${JSON.stringify(splitText)} is none of train, val (or valid, validation), test`);
    }
    return { path, label, split, line };
  });
  if (rows.length === 0) throw new SyntaxError(`${source}: no data rows below the header`);
  return { source, rows, hasSplitColumn: splitColumn >= 0 };
}

function normalizePath(path: string): string {
  return path.trim().replace(/\\/g, '/').replace(/^\.\//, '');
}

/**
 * The task the labels describe. Classes are sorted (numerically when every label is an integer).
 * Two classes: binary, the second one positive (`1` of `0/1`), scored by ROC AUC. More classes: integer
 * labels are ordered grades (quadratic kappa), other labels nominal classes (accuracy).
 */
export function inferTask(labels: readonly string[], source: string): Task {
  const distinct = [...new Set(labels)];
  const integers = distinct.every((label) => /^-?\d+$/.test(label));
  const classes = integers ? distinct.sort((left, right) => Number(left) - Number(right)) : distinct.sort((left, right) => left.localeCompare(right));
  if (classes.length < 2) throw new RangeError(`${source}: every row has label ${JSON.stringify(classes[0])}; a probe needs at least two classes`);
  if (classes.length === 2) return { type: 'binary', classes: [classes[0]!, classes[1]!], primaryMetric: 'auc' };
  return integers
    ? { type: 'multiclass', classes, ordinal: true, primaryMetric: 'kappa' }
    : { type: 'multiclass', classes, ordinal: false, primaryMetric: 'accuracy' };
}

export function classTargets(task: Task, rows: readonly LabelRow[]): ClassTargets {
  if (task.type === 'multilabel') throw new TypeError('the browser example handles single-label tasks only');
  const index = new Map(task.classes.map((name, position) => [name, position]));
  return { type: 'class', data: Int32Array.from(rows, (row) => index.get(row.label)!), shape: [rows.length] };
}

/** Rows of the table (CSV order) in each split. */
export interface SplitRows {
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly test: Int32Array;
  /** `csv` when the table said, `seeded` when drawn here. */
  readonly origin: 'csv' | 'seeded';
}

/**
 * The CSV's splits, or a seeded stratified 60/20/20 split drawn with core's nested label-fraction
 * subsets: test is the first 20 % of one stratified ordering, val the next 20 %, train the rest, so each
 * part holds the classes in about their overall proportions (and test holds every class).
 */
export async function assignSplits(table: LabelTable, task: Task, targets: ClassTargets, seed: number): Promise<SplitRows> {
  let splits: SplitRows;
  if (table.hasSplitColumn) {
    const rowsOf = (split: SplitName) => Int32Array.from(table.rows.flatMap((row, index) => (row.split === split ? [index] : [])));
    splits = { train: rowsOf('train'), val: rowsOf('val'), test: rowsOf('test'), origin: 'csv' };
  } else {
    const [test, testAndVal] = await labelFractionSubsets({
      task,
      targets,
      ids: table.rows.map((row) => row.path),
      fractions: [SEEDED_SPLIT.test, SEEDED_SPLIT.test + SEEDED_SPLIT.val],
      seed,
      dataset: table.source,
      split: 'all',
    });
    const inTest = new Set(test!.rows);
    const inTestOrVal = new Set(testAndVal!.rows);
    splits = {
      train: Int32Array.from(table.rows.keys()).filter((row) => !inTestOrVal.has(row)),
      val: testAndVal!.rows.filter((row) => !inTest.has(row)),
      test: test!.rows,
      origin: 'seeded',
    };
  }
  for (const split of SPLIT_NAMES) checkSplitClasses(table, task, targets, splits, split);
  return splits;
}

/** Every split needs rows, and every class in train; metrics such as AUC need both classes in val and test. */
function checkSplitClasses(table: LabelTable, task: Task, targets: ClassTargets, splits: SplitRows, split: SplitName): void {
  const rows = splits[split];
  const how = splits.origin === 'csv' ? `its split column` : `a seeded ${SEEDED_SPLIT.train * 100}/${SEEDED_SPLIT.val * 100}/${SEEDED_SPLIT.test * 100} split`;
  if (rows.length === 0) throw new RangeError(`${table.source}: no image in the ${split} split (by ${how})`);
  if (task.type === 'multilabel') return;
  const present = new Set(Array.from(rows, (row) => targets.data[row]!));
  const absent = task.classes.filter((_, index) => !present.has(index));
  const needsAll = split === 'train' || task.type === 'binary';
  if (needsAll && absent.length > 0) {
    throw new RangeError(
      `${table.source}: class ${absent.map((name) => JSON.stringify(name)).join(', ')} has no image in the ${split} split (by ${how}); ` +
        `add labelled images of every class to each split`,
    );
  }
}

/** Counts of each class in each split, for the page's summary. */
export function splitCounts(task: Task, targets: ClassTargets, splits: SplitRows): Record<SplitName, Record<string, number>> {
  const names = task.type === 'multilabel' ? task.labels : task.classes;
  const counts = {} as Record<SplitName, Record<string, number>>;
  for (const split of SPLIT_NAMES) {
    const perClass = Object.fromEntries(names.map((name) => [name, 0]));
    for (const row of splits[split]) perClass[names[targets.data[row]!]!]!++;
    counts[split] = perClass;
  }
  return counts;
}

/** An image the run can decode when it needs the pixels (a browser `File`, or a file on disk in Node). */
export interface ImageFile {
  /** Path relative to the chosen folder, `/` separators. */
  readonly path: string;
  decode(): Promise<RawImage>;
}

/**
 * The image file of every row, in CSV order. A row whose image is not in the folder is an error naming
 * the line and showing paths the folder does have (the usual mistake is one folder level too many or few).
 * Images the CSV does not list are left out.
 */
export function matchImages(table: LabelTable, files: ReadonlyMap<string, ImageFile>): ImageFile[] {
  const missing: LabelRow[] = [];
  const matched = table.rows.map((row) => {
    const file = files.get(row.path);
    if (file === undefined) missing.push(row);
    return file;
  });
  if (missing.length > 0) {
    const first = missing[0]!;
    const examples = [...files.keys()]
      .slice(0, 3)
      .map((path) => JSON.stringify(path))
      .join(', ');
    throw new Error(
      `${table.source}: ${missing.length} of ${table.rows.length} rows name an image that is not in the chosen folder; ` +
        `first on line ${first.line}: ${JSON.stringify(first.path)}. The folder has ${files.size} images, e.g. ${examples || 'none'}`,
    );
  }
  return matched as ImageFile[];
}

/**
 * A file's path inside the folder the user chose: the browser's `webkitRelativePath` starts with the
 * folder's own name (`pcam/data/test/0/x.jpg`), which the CSV does not write.
 */
export function pathInChosenFolder(webkitRelativePath: string): string {
  const slash = webkitRelativePath.indexOf('/');
  return slash < 0 ? webkitRelativePath : webkitRelativePath.slice(slash + 1);
}
