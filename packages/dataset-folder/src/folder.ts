import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  DatasetLayoutError,
  csvColumns,
  cutText,
  defineDatasetProvider,
  quoteForMessage,
  labelFractionSubsets,
  mapConcurrent,
  parseCsv,
  resolveMaxPixels,
  sampleRange,
  type CsvTable,
  validateTask,
} from '@medssl/core';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import type {
  Dataset,
  DatasetInfo,
  DatasetIssue,
  DatasetProvider,
  MetricId,
  Modality,
  OnError,
  Sample,
  SampleOptions,
  SplitName,
  TargetArray,
  Task,
} from '@medssl/spec';

export type FolderSplit = 'train' | 'val' | 'test';

export interface SplitFractions {
  readonly train: number;
  readonly val: number;
  readonly test: number;
}

export interface FolderOptions {
  /** A folder of class subfolders, `<root>/<class>/...`, optionally under `<root>/{train,val,test}/`. */
  readonly root?: string;
  /** A CSV manifest instead of class folders; image paths in it are relative to the CSV's folder. */
  readonly csv?: string;
  /** CSV column with the image path; default `path`. */
  readonly pathColumn?: string;
  /** CSV column with the class name; default `label`. */
  readonly labelColumn?: string;
  /** CSV columns of 0/1 flags, one per label: makes the task multilabel, with these as the label names. */
  readonly labelColumns?: readonly string[];
  /** CSV column naming each row's split (`train`, `val` or `test`; `valid`/`validation` mean `val`). */
  readonly splitColumn?: string;
  /** CSV column of groups (e.g. patient ids) that must stay inside one split. */
  readonly groupColumn?: string;
  /** Class names in class-index order; default the names found, sorted (numerically when all are integers). */
  readonly classes?: readonly string[];
  /** Task type; default binary for two classes, multiclass otherwise, multilabel with `labelColumns`. */
  readonly type?: Task['type'];
  /** The classes are ordered grades (multiclass only); makes `kappa` the default primary metric. */
  readonly ordinal?: boolean;
  /** Default: binary `auc`, multiclass `accuracy` (ordinal `kappa`), multilabel `mean_auc`. */
  readonly primaryMetric?: MetricId;
  /** Where the data has no splits: fractions of a seeded stratified split; default 0.7 / 0.1 / 0.2. */
  readonly fractions?: SplitFractions;
  /** Seed of that split; default 0. */
  readonly seed?: number;
  /** Image file extensions read from class folders; default png, jpg, jpeg, tif, tiff. */
  readonly extensions?: readonly string[];
  /** Listing problems (missing images, bad rows, labels outside the task): an error (default) or skipped and listed in `issues()`. */
  readonly onError?: OnError;
  /** What the images show, for finetuning's augmentations; default `natural` (crops and horizontal flips only). */
  readonly modality?: Modality;
  /**
   * Largest image decoded, in pixels (width x height), checked on each file's header before decoding; default
   * 2^28 (16384 x 16384). Raise it for very large slides; a larger image is an `ImageDecodeError` naming it.
   */
  readonly maxPixels?: number;
}

export const folderInfo: DatasetInfo = {
  id: 'folder',
  title: 'Your own labelled images: class folders or a CSV manifest',
  layout: [
    '<root>/<class>/*.{png,jpg,jpeg,tif,tiff}                (a seeded stratified split is made)',
    '<root>/{train,val,test}/<class>/*.{png,jpg,jpeg,tif,tiff}',
    'or a CSV: path,label[,split][,group] (or one 0/1 column per label), paths relative to the CSV',
  ].join('\n'),
  source: 'your own data',
  license: 'that of your data',
  modality: 'natural',
  // The demo writes its generated images in this layout.
  presets: ['demo'],
};

/**
 * Your own images by id (`folder`): the root is a folder of class folders, or a CSV manifest (a path ending
 * in `.csv`). Every `FolderOptions` field but `root` and `csv` is an option.
 */
export const folderProvider: DatasetProvider = defineDatasetProvider({
  datasets: [folderInfo],
  options: {
    pathColumn: 'string',
    labelColumn: 'string',
    labelColumns: 'strings',
    splitColumn: 'string',
    groupColumn: 'string',
    classes: 'strings',
    type: ['binary', 'multiclass', 'multilabel'],
    ordinal: 'boolean',
    primaryMetric: 'string',
    fractions: 'json',
    seed: 'integer',
    extensions: 'strings',
    onError: ['throw', 'skip'],
    maxPixels: 'integer',
    modality: ['pathology', 'fundus', 'chest-xray', 'natural'],
  },
  open: (_id, root, options) => folder({ ...(options as FolderOptions), ...(root.toLowerCase().endsWith('.csv') ? { csv: root } : { root }) }),
});

const SPLIT_ORDER: readonly FolderSplit[] = ['train', 'val', 'test'];
const SPLIT_NAMES: Readonly<Record<string, FolderSplit>> = { train: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test' };
const DEFAULT_EXTENSIONS = ['png', 'jpg', 'jpeg', 'tif', 'tiff'];
const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, val: 0.1, test: 0.2 };

/** One image as listed, before its target is known as an index. */
interface Listed {
  /** Path relative to the root or CSV folder, with `/`: the sample id. */
  readonly id: string;
  readonly path: string;
  /** Class name, or 0/1 flags for multilabel. */
  readonly label: string | Uint8Array;
  split?: FolderSplit;
  readonly group?: string;
  /** CSV line, for messages. */
  readonly line?: number;
  /** The class folder it was found in (folder layouts). */
  readonly classFolder?: string;
}

interface Entry {
  readonly id: string;
  readonly path: string;
  readonly target: number | Uint8Array;
  readonly group?: string;
}

class Problems {
  readonly issues: DatasetIssue[] = [];
  constructor(private readonly onError: OnError) {}

  /** A listing problem: thrown, or kept in `issues()` under onError 'skip'. */
  report(issue: DatasetIssue & { file: string }): void {
    if (this.onError === 'throw') throw new DatasetLayoutError(issue.file, issue.row === undefined ? '' : `line ${issue.row}`, issue.message);
    this.issues.push(issue);
  }

  /** Not a problem, but not silent either: stray files, made splits, inferred choices. */
  note(issue: DatasetIssue): void {
    this.issues.push(issue);
  }
}

/** Lists a folder tree or a CSV manifest (no image is read) and returns the dataset. */
export async function folder(options: FolderOptions): Promise<Dataset> {
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`folder: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  if ((options.root === undefined) === (options.csv === undefined)) {
    throw new TypeError('folder: give either root (a folder of class folders) or csv (a manifest), not both and not neither');
  }
  const multilabel = options.labelColumns !== undefined;
  if (multilabel && options.csv === undefined) throw new TypeError('folder: labelColumns (multilabel) needs a csv manifest');
  if (multilabel && options.classes !== undefined) {
    throw new TypeError('folder: classes is for single-label tasks; for multilabel, labelColumns names the labels');
  }
  const problems = new Problems(onError);
  if (options.maxPixels !== undefined) resolveMaxPixels(options.maxPixels, 'folder');
  const decodeOptions = options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels };

  const listed = options.csv !== undefined ? await listManifest(options.csv, options, problems) : await listFolders(options.root!, options, problems);
  const task = makeTask(options, listed, problems);
  const entries = toEntries(listed, task, options, problems);
  const splitOf = new Map<Entry, FolderSplit>();
  const hasSplits = listed.some((item) => item.split !== undefined);
  let splitDescription: string;
  if (hasSplits) {
    listed.forEach((item, index) => {
      const entry = entries[index];
      if (entry !== undefined) splitOf.set(entry, item.split!);
    });
    checkGroups(entries, splitOf, listed, options);
    splitDescription = 'given';
  } else {
    splitDescription = await makeSplit(
      entries.filter((entry): entry is Entry => entry !== undefined),
      task,
      options,
      splitOf,
      problems,
    );
  }

  const tables = new Map<FolderSplit, Entry[]>();
  for (const entry of entries) {
    if (entry === undefined) continue;
    const split = splitOf.get(entry)!;
    let table = tables.get(split);
    if (table === undefined) tables.set(split, (table = []));
    table.push(entry);
  }
  const splits = SPLIT_ORDER.filter((split) => tables.has(split));
  if (splits.length === 0) throw new Error(`${options.csv ?? options.root}: no images to read`);

  const fingerprint = createHash('sha256');
  fingerprint.update(`${JSON.stringify(task)}\n${splitDescription}\n`);
  for (const split of splits) {
    for (const entry of tables.get(split)!) {
      const target = typeof entry.target === 'number' ? String(entry.target) : Array.from(entry.target).join('');
      fingerprint.update(`${split}\t${entry.id}\t${target}\t${entry.group ?? ''}\n`);
    }
  }

  const tableOf = (split: SplitName): Entry[] => {
    const table = tables.get(split as FolderSplit);
    if (table === undefined) throw new RangeError(`folder: no split ${JSON.stringify(split)}; the splits are ${splits.join(', ')}`);
    return table;
  };
  const toSample = (entry: Entry): Sample => ({
    id: entry.id,
    target: typeof entry.target === 'number' ? entry.target : entry.target.slice(),
    ...(entry.group === undefined ? {} : { group: entry.group }),
    source: entry.path,
    decode: () => decodeImageFile(entry.path, decodeOptions),
    encoded: () => readImageFile(entry.path),
    ...decodeOptions,
  });

  return {
    specificationVersion: 'medssl/v1',
    id: 'folder',
    ...(options.modality ? { modality: options.modality } : {}),
    version: `folder-${fingerprint.digest('hex').slice(0, 16)}`,
    task,
    splits,
    async size(split) {
      return tableOf(split).length;
    },
    async *samples(split: SplitName, sampleOptions: SampleOptions = {}) {
      const table = tableOf(split);
      const { start, end } = sampleRange(`folder/${split}`, table.length, sampleOptions);
      sampleOptions.signal?.throwIfAborted();
      for (let row = start; row < end; row++) {
        sampleOptions.signal?.throwIfAborted();
        yield toSample(table[row]!);
      }
    },
    issues: () => problems.issues,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function extensionsOf(options: FolderOptions): Set<string> {
  return new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((extension) => extension.replace(/^\./, '').toLowerCase()));
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** `<root>/<class>/...` or `<root>/<split>/<class>/...`; images are found at any depth inside a class folder. */
async function listFolders(root: string, options: FolderOptions, problems: Problems): Promise<Listed[]> {
  if (!(await isDirectory(root))) throw new DatasetLayoutError(root, '', 'folder not found (expected class folders, optionally under train/, val/, test/)');
  const extensions = extensionsOf(options);
  const rootEntries = (await readdir(root, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
  const splitFolders = rootEntries.filter((entry) => entry.isDirectory() && SPLIT_NAMES[entry.name.toLowerCase()] !== undefined);
  const listed: Listed[] = [];

  const listClasses = async (base: string, split: FolderSplit | undefined) => {
    const prefix = relative(root, base);
    for (const entry of (await readdir(base, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name))) {
      const path = join(base, entry.name);
      if (!entry.isDirectory()) {
        problems.note({ kind: 'skipped', file: path, message: 'a file beside the class folders; not read' });
        continue;
      }
      const before = listed.length;
      await walkImages(path, extensions, problems, (imagePath) =>
        listed.push({ id: toId(relative(root, imagePath)), path: imagePath, label: entry.name, classFolder: path, ...(split === undefined ? {} : { split }) }),
      );
      if (listed.length === before) {
        problems.note({ kind: 'note', file: path, message: `class folder ${toId(join(prefix, entry.name))}/ holds no images` });
      }
    }
  };

  if (splitFolders.length === 0) {
    await listClasses(root, undefined);
    return listed;
  }
  const seen = new Map<FolderSplit, string>();
  for (const entry of splitFolders) {
    const split = SPLIT_NAMES[entry.name.toLowerCase()]!;
    const earlier = seen.get(split);
    if (earlier !== undefined) throw new Error(`${root}: both ${earlier}/ and ${entry.name}/ would be the ${split} split; keep one`);
    seen.set(split, entry.name);
  }
  for (const entry of rootEntries) {
    if (splitFolders.includes(entry)) continue;
    problems.note({
      kind: 'skipped',
      file: join(root, entry.name),
      message: `${entry.isDirectory() ? 'a folder' : 'a file'} beside the split folders (${[...seen.values()].join(', ')}); not read`,
    });
  }
  for (const entry of splitFolders) await listClasses(join(root, entry.name), SPLIT_NAMES[entry.name.toLowerCase()]!);
  return listed;
}

/** Calls `found` for every image under `folder` in sorted order; other files are reported. */
async function walkImages(folder: string, extensions: ReadonlySet<string>, problems: Problems, found: (path: string) => void): Promise<void> {
  for (const entry of (await readdir(folder, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name))) {
    const path = join(folder, entry.name);
    const info = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (info?.isDirectory()) {
      await walkImages(path, extensions, problems, found);
    } else if (info?.isFile() && extensions.has(extensionOf(entry.name))) {
      found(path);
    } else {
      problems.note({
        kind: 'skipped',
        file: path,
        message: `not an image (expected ${[...extensions].map((extension) => `.${extension}`).join(', ')}); not read`,
      });
    }
  }
}

function toId(relativePath: string): string {
  return relativePath.split(sep).join('/');
}

/** Rows of a CSV manifest, checked: required cells present, splits known, images present, paths unique. */
async function listManifest(csvPath: string, options: FolderOptions, problems: Problems): Promise<Listed[]> {
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch (error) {
    throw new Error(`${csvPath}: cannot read the CSV manifest (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const table: CsvTable = parseCsv(text, csvPath);
  const pathColumn = options.pathColumn ?? 'path';
  const labelColumns = options.labelColumns ?? [options.labelColumn ?? 'label'];
  if (options.labelColumns !== undefined && options.labelColumns.length === 0) throw new TypeError('folder: labelColumns must name at least one column');
  const optional = [options.splitColumn, options.groupColumn].filter((name): name is string => name !== undefined);
  const columns = csvColumns(table, [pathColumn, ...labelColumns, ...optional], csvPath);
  const base = dirname(csvPath);
  const multilabel = options.labelColumns !== undefined;
  const firstLine = new Map<string, number>();
  const listed: Listed[] = [];

  const cell = (row: readonly string[], name: string): string => row[columns[name]!]!.trim();
  table.rows.forEach((row, index) => {
    const line = table.lines[index]!;
    const bad = (message: string, kind: DatasetIssue['kind'] = 'skipped') => problems.report({ kind, file: csvPath, row: line, message });
    const rawPath = cell(row, pathColumn);
    if (rawPath === '') return bad(`column "${pathColumn}" is empty`);
    const id = toId(rawPath.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
    const earlier = firstLine.get(id);
    if (earlier !== undefined) return bad(`image ${rawPath} is listed again (first on line ${earlier})`);
    firstLine.set(id, line);

    let label: string | Uint8Array;
    if (multilabel) {
      const flags = new Uint8Array(labelColumns.length);
      for (const [position, name] of labelColumns.entries()) {
        const value = cell(row, name);
        if (value !== '0' && value !== '1') return bad(`column "${name}" is ${JSON.stringify(value)}, expected 0 or 1`, 'missing-label');
        flags[position] = value === '1' ? 1 : 0;
      }
      label = flags;
    } else {
      label = cell(row, labelColumns[0]!);
      if (label === '') return bad(`column "${labelColumns[0]}" is empty`, 'missing-label');
    }

    let split: FolderSplit | undefined;
    if (options.splitColumn !== undefined) {
      const value = cell(row, options.splitColumn);
      split = SPLIT_NAMES[value.toLowerCase()];
      if (split === undefined) return bad(`column "${options.splitColumn}" is ${JSON.stringify(value)}, expected train, val (or valid, validation) or test`);
    }
    const group = options.groupColumn === undefined ? undefined : cell(row, options.groupColumn) || undefined;
    const path = isAbsolute(rawPath) ? rawPath : resolve(base, rawPath);
    listed.push({ id, path, label, ...(split === undefined ? {} : { split }), ...(group === undefined ? {} : { group }), line });
  });

  // Every listed image must exist; checked now so that a missing file is named with its row, not met mid-run.
  const present = await mapConcurrentArray(listed, async (item) =>
    stat(item.path).then(
      (info) => info.isFile(),
      () => false,
    ),
  );
  const kept: Listed[] = [];
  listed.forEach((item, index) => {
    if (present[index]) kept.push(item);
    else problems.report({ kind: 'missing-file', file: csvPath, row: item.line!, message: `image ${item.path} not found` });
  });
  return kept;
}

async function mapConcurrentArray<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for await (const result of mapConcurrent(items, work, { concurrency: 32 })) results.push(result);
  return results;
}

/** Numeric order when every name is an integer (grades 0..10), code-unit order otherwise. */
function sortClassNames(names: readonly string[]): string[] {
  if (names.every((name) => /^-?\d+$/.test(name))) return [...names].sort((a, b) => Number(a) - Number(b));
  return [...names].sort(compareNames);
}

function makeTask(options: FolderOptions, listed: readonly Listed[], problems: Problems): Task {
  const where = options.csv ?? options.root!;
  let task: Task;
  if (options.labelColumns !== undefined) {
    if (options.type !== undefined && options.type !== 'multilabel') {
      throw new TypeError(`folder: labelColumns makes a multilabel task, but type is ${JSON.stringify(options.type)}`);
    }
    task = { type: 'multilabel', labels: [...options.labelColumns], primaryMetric: options.primaryMetric ?? 'mean_auc' };
  } else {
    if (options.type === 'multilabel') throw new TypeError('folder: a multilabel task needs labelColumns (one 0/1 CSV column per label)');
    let classes: string[];
    if (options.classes !== undefined) {
      classes = [...options.classes];
    } else {
      classes = sortClassNames([...new Set(listed.map((item) => item.label as string))]);
      if (classes.length >= 2) {
        problems.note({
          kind: 'note',
          file: where,
          message:
            `classes inferred and sorted: ${classes.join(', ')}` +
            (classes.length === 2 ? ` (binary: the positive class is ${classes[1]}; pass classes to choose)` : ''),
        });
      }
    }
    const type = options.type ?? (classes.length === 2 ? 'binary' : 'multiclass');
    if (classes.length < 2) {
      throw new Error(`${where}: found ${classes.length === 0 ? 'no classes' : `one class only (${classes[0]})`}; a classification task needs at least two`);
    }
    if (type === 'binary') {
      if (options.ordinal) throw new TypeError('folder: ordinal applies to multiclass tasks, not binary ones');
      task = { type, classes: classes as unknown as readonly [string, string], primaryMetric: options.primaryMetric ?? 'auc' };
    } else {
      const ordinal = options.ordinal ?? false;
      task = { type: 'multiclass', classes, ordinal, primaryMetric: options.primaryMetric ?? (ordinal ? 'kappa' : 'accuracy') };
    }
  }
  validateTask(task, 'folder task');
  return task;
}

/**
 * Targets as class indices (or flags); labels outside the task are problems, named by CSV line, or once
 * per class folder. Index-aligned with `listed`.
 */
function toEntries(listed: readonly Listed[], task: Task, options: FolderOptions, problems: Problems): (Entry | undefined)[] {
  const classIndex = task.type === 'multilabel' ? undefined : new Map(task.classes.map((name, index) => [name, index]));
  const classes = task.type === 'multilabel' ? '' : task.classes.join(', ');
  const unknownFolders = new Map<string, { path: string; images: number }>();
  const entries = listed.map((item): Entry | undefined => {
    let target: number | Uint8Array;
    if (classIndex === undefined) {
      target = item.label as Uint8Array;
    } else {
      const index = classIndex.get(item.label as string);
      if (index === undefined) {
        if (item.line !== undefined) {
          problems.report({
            kind: 'skipped',
            file: options.csv!,
            row: item.line,
            message: `label ${quoteForMessage(item.label)} is not one of the classes ${cutText(String(classes), 200)}`,
          });
        } else {
          const folderPath = item.classFolder!;
          const known = unknownFolders.get(folderPath);
          if (known !== undefined) known.images++;
          else unknownFolders.set(folderPath, { path: folderPath, images: 1 });
        }
        return undefined;
      }
      target = index;
    }
    return { id: item.id, path: item.path, target, ...(item.group === undefined ? {} : { group: item.group }) };
  });
  for (const { path, images } of unknownFolders.values()) {
    problems.report({ kind: 'skipped', file: path, message: `class folder is not one of the classes ${classes}; its ${images} images are not read` });
  }
  return entries;
}

/** A group listed in two splits would leak between training and testing: always an error. */
function checkGroups(
  entries: readonly (Entry | undefined)[],
  splitOf: ReadonlyMap<Entry, FolderSplit>,
  listed: readonly Listed[],
  options: FolderOptions,
): void {
  const first = new Map<string, { split: FolderSplit; line: number | undefined }>();
  entries.forEach((entry, index) => {
    if (entry?.group === undefined) return;
    const split = splitOf.get(entry)!;
    const earlier = first.get(entry.group);
    if (earlier === undefined) first.set(entry.group, { split, line: listed[index]!.line });
    else if (earlier.split !== split) {
      throw new Error(
        `${options.csv}: line ${listed[index]!.line}: group ${JSON.stringify(entry.group)} is in ${split}, but line ${earlier.line} puts it in ${earlier.split}; ` +
          'a group must stay inside one split',
      );
    }
  });
}

/**
 * A seeded stratified split for data without one, from core's nested stratified ordering: the first
 * `test` fraction of the ordering is the test split, the next `val` fraction the validation split, the
 * rest training. With groups, whole groups are split (stratified by each group's majority class, or the
 * union of its labels), so fractions count groups. Returns a description that goes into the version.
 */
async function makeSplit(entries: readonly Entry[], task: Task, options: FolderOptions, splitOf: Map<Entry, FolderSplit>, problems: Problems): Promise<string> {
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const seed = options.seed ?? 0;
  const total = fractions.train + fractions.val + fractions.test;
  if (
    ![fractions.train, fractions.val, fractions.test].every((value) => Number.isFinite(value) && value >= 0) ||
    Math.abs(total - 1) > 1e-9 ||
    fractions.train <= 0
  ) {
    throw new RangeError(
      `folder: fractions must be non-negative, sum to 1 and leave train above 0, got train ${fractions.train}, val ${fractions.val}, test ${fractions.test}`,
    );
  }
  if (entries.length === 0) throw new Error(`${options.csv ?? options.root}: no images to split`);

  // Units are samples, or groups when there are groups (a sample without a group is its own unit).
  const unitOf = new Map<string, Entry[]>();
  for (const entry of entries) {
    const key = entry.group === undefined ? `sample:${entry.id}` : `group:${entry.group}`;
    let members = unitOf.get(key);
    if (members === undefined) unitOf.set(key, (members = []));
    members.push(entry);
  }
  const units = [...unitOf.entries()];
  const grouped = entries.some((entry) => entry.group !== undefined);
  const targets = unitTargets(
    units.map(([, members]) => members),
    task,
  );
  const cumulative = [fractions.test, fractions.test + fractions.val].filter((value, index, all) => value > 0 && (index === 0 || value > all[index - 1]!));
  const subsets =
    cumulative.length === 0
      ? []
      : await labelFractionSubsets({
          task,
          targets,
          ids: units.map(([key]) => key),
          fractions: cumulative,
          seed,
          dataset: 'folder',
          split: 'all',
          allowEmptyClasses: true,
          // Split sizes follow the fractions exactly; "one of every class" is for training subsets.
          minimumOnePerClass: false,
        });
  const unitSplit = new Array<FolderSplit>(units.length).fill('train');
  const assign = (rows: Int32Array, split: FolderSplit) => {
    for (const row of rows) if (unitSplit[row] === 'train') unitSplit[row] = split;
  };
  let next = 0;
  if (fractions.test > 0) assign(subsets[next++]!.rows, 'test');
  if (fractions.val > 0) assign(subsets[next++]!.rows, 'val');
  units.forEach(([, members], row) => {
    for (const member of members) splitOf.set(member, unitSplit[row]!);
  });

  const counts = SPLIT_ORDER.map((split) => `${split} ${entries.filter((entry) => splitOf.get(entry) === split).length}`).join(', ');
  const description = `seed ${seed}; train ${fractions.train}, val ${fractions.val}, test ${fractions.test}`;
  problems.note({
    kind: 'note',
    file: options.csv ?? options.root!,
    message:
      `no split folders${options.csv === undefined ? '' : ' or split column'}: made a seeded stratified split (${description})` +
      `${grouped ? `, keeping each of ${units.length} groups whole` : ''}: ${counts}`,
  });
  return `made: ${description}${grouped ? ' by group' : ''}`;
}

/** One target per unit: the majority class (ties to the lower index), or the union of the labels. */
function unitTargets(units: readonly (readonly Entry[])[], task: Task): TargetArray {
  if (task.type === 'multilabel') {
    const labels = task.labels.length;
    const data = new Uint8Array(units.length * labels);
    units.forEach((members, row) => {
      for (const member of members) (member.target as Uint8Array).forEach((flag, label) => (data[row * labels + label]! |= flag));
    });
    return { type: 'labels', data, shape: [units.length, labels] };
  }
  const data = new Int32Array(units.length);
  units.forEach((members, row) => {
    const votes = new Array<number>(task.classes.length).fill(0);
    for (const member of members) votes[member.target as number]!++;
    data[row] = votes.indexOf(Math.max(...votes));
  });
  return { type: 'class', data, shape: [units.length] };
}
