import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { DatasetLayoutError, assertSeed, defineDatasetProvider, describeNames, IssueLog, sampleRange } from '@medssl/core';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import type { Dataset, DatasetInfo, DatasetProvider, DatasetSizes, DatasetIssue, OnError, Sample, SplitName, Task } from '@medssl/spec';
import { indexImages, readOfficialLists, TEST_LIST, TRAIN_VAL_LIST } from './layout.js';
import { officialSplit, patientSplit, SPLITS, type ChestXray14Split, type SplitFractions } from './split.js';
import { CHESTXRAY14_LABELS, findTable, LABEL_COUNT, PNEUMONIA_LABEL, readLabelTable, type LabelTable } from './table.js';

/** `findings`: the 14-label multilabel task; `pneumonia`: the binary Pneumonia label over the same rows. */
export type ChestXray14View = 'findings' | 'pneumonia';

export interface ChestXray14Options {
  /** Folder holding the label table, `images/` (or `images_001/images/` ...) and the split lists. */
  readonly root: string;
  /** Default `findings`. */
  readonly view?: ChestXray14View;
  /** Seed of the patient shuffles that carve val (and, without the lists, every split); default 0. */
  readonly seed?: number;
  /** Share of train_val patients that become val, when NIH's lists are present; default 0.1. */
  readonly valFraction?: number;
  /** Patient shares when the lists are absent; default 0.7 / 0.1 / 0.2. */
  readonly fractions?: SplitFractions;
  /** Label table file name in root; default the first present of v2020 `.csv`, `.csv.gz`, then 2017's. */
  readonly labelTable?: string;
  /** Bad table rows, list entries and duplicate images: stop with an error (default) or skip and report. */
  readonly onError?: OnError;
  /**
   * Table rows of the splits whose image is not on disk are reported skips by default, because partial
   * downloads and sample folders are common; `true` makes them an error.
   */
  readonly requireAllImages?: boolean;
}

const DEFAULT_FRACTIONS: SplitFractions = { train: 0.7, val: 0.1, test: 0.2 };

const SOURCE = 'https://nihcc.app.box.com/v/ChestXray-NIHCC';
const LICENSE = 'NIH Clinical Center: no restriction on use; cite Wang et al., "ChestX-ray8", CVPR 2017, and acknowledge the NIH Clinical Center';
const LAYOUT = [
  '<root>/Data_Entry_2017_v2020.csv (or Data_Entry_2017.csv; either may be gzipped as .csv.gz)',
  "<root>/images/00000001_000.png ... (or NIH's images_001/images/ ... images_012/images/)",
  `<root>/${TRAIN_VAL_LIST} and <root>/${TEST_LIST} (optional: without them, a seeded patient split)`,
].join('\n');

const OFFICIAL_SIZES: DatasetSizes = {
  train: 77_872,
  val: 8_652,
  test: 25_596,
  note: "NIH's test list, and its train_val list less about 10 % of patients for val",
};

/** What both tasks share: the folder, its layout and source, and the official split sizes. */
const RELEASE = {
  layout: LAYOUT,
  source: SOURCE,
  license: LICENSE,
  modality: 'chest-xray',
  folder: 'chestxray14',
  officialSizes: OFFICIAL_SIZES,
  presets: ['paper'],
} as const satisfies Omit<DatasetInfo, 'id' | 'title'>;

export const chestxray14Info: DatasetInfo = {
  id: 'chestxray14',
  title: 'NIH ChestX-ray14: 14 thoracic findings (multilabel, patient-wise splits)',
  ...RELEASE,
};

export const chestxray14PneumoniaInfo: DatasetInfo = {
  id: 'chestxray14:pneumonia',
  title: 'NIH ChestX-ray14: pneumonia vs no pneumonia (binary, same rows and splits as chestxray14)',
  ...RELEASE,
};

function checkFraction(value: unknown, name: string, allowOne: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1 || (!allowOne && value === 1)) {
    throw new RangeError(`chestxray14: ${name} must be a number in [0, ${allowOne ? '1]' : '1)'}, got ${String(value)}`);
  }
  return value;
}

function checkOptions(options: ChestXray14Options): Required<Omit<ChestXray14Options, 'labelTable'>> & { labelTable: string | undefined } {
  if (typeof options?.root !== 'string' || options.root.length === 0) throw new TypeError('chestxray14: options.root must name the dataset folder');
  const view = options.view ?? 'findings';
  if (view !== 'findings' && view !== 'pneumonia') throw new TypeError(`chestxray14: view must be 'findings' or 'pneumonia', got ${JSON.stringify(view)}`);
  const seed = options.seed ?? 0;
  assertSeed(seed, 'chestxray14: seed');
  const valFraction = checkFraction(options.valFraction ?? 0.1, 'valFraction', false);
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  for (const split of SPLITS) checkFraction(fractions[split], `fractions.${split}`, true);
  const sum = fractions.train + fractions.val + fractions.test;
  if (Math.abs(sum - 1) > 1e-9)
    throw new RangeError(`chestxray14: fractions must add up to 1, got ${fractions.train} + ${fractions.val} + ${fractions.test} = ${sum}`);
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`chestxray14: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  return {
    root: options.root,
    view,
    seed,
    valFraction,
    fractions,
    labelTable: options.labelTable,
    onError,
    requireAllImages: options.requireAllImages ?? false,
  };
}

/** Rows of each split that have an image, sorted by file name, with their image paths. */
interface SplitRows {
  readonly rows: Int32Array;
  readonly paths: readonly string[];
}

/**
 * NIH ChestX-ray14 from its official layout. The label table, the image folders and the split lists are
 * read once here; samples then stream from memory and decode lazily.
 */
export async function chestxray14(options: ChestXray14Options): Promise<Dataset> {
  const settings = checkOptions(options);
  const { root, seed } = settings;
  let rootIsFolder = false;
  try {
    rootIsFolder = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!rootIsFolder) throw new DatasetLayoutError(root, '', `ChestX-ray14 folder not found (expected the layout:\n${LAYOUT})`);

  const log = new IssueLog(settings.onError);
  const table = await readLabelTable(findTable(root, settings.labelTable, log), log);
  const images = await indexImages(root, log);
  const lists = await readOfficialLists(root);

  let assignment: Uint8Array;
  let splitDescription: string;
  if (lists) {
    assignment = officialSplit(table, lists, settings.valFraction, seed, log);
    splitDescription = `official-lists;val-patients=${settings.valFraction}`;
  } else {
    const { train, val, test } = settings.fractions;
    assignment = patientSplit(table, settings.fractions, seed);
    splitDescription = `patient-split=${train}/${val}/${test}`;
    log.report({
      kind: 'note',
      message: `${root}: no ${TRAIN_VAL_LIST} or ${TEST_LIST}; split the table's patients ${train}/${val}/${test} (train/val/test) with seed ${seed} instead of NIH's official split`,
    });
  }

  const selected = SPLITS.map(() => [] as number[]);
  const missing: string[] = [];
  assignment.forEach((split, row) => {
    if (split === 0) return;
    const name = table.names[row]!;
    if (images.pathOf.has(name)) selected[split - 1]!.push(row);
    else missing.push(name);
  });
  if (missing.length > 0) {
    const message = `${table.path}: ${describeNames(missing, 'row')} of the train, val and test splits ${missing.length === 1 ? 'has' : 'have'} no image in ${images.folders.join(', ')}`;
    if (settings.requireAllImages) throw new Error(`${message} (requireAllImages is set)`);
    log.report({ kind: 'missing-file', message: `${message}; skipped`, file: table.path });
  }
  const unlabelled = [...images.pathOf.keys()].filter((name) => !table.rowOf.has(name) && !table.skippedNames.has(name)).sort();
  if (unlabelled.length > 0) {
    log.report({
      kind: 'missing-label',
      message: `${images.folders.join(', ')}: ${describeNames(unlabelled, 'image')} not in the label table ${table.path}; skipped`,
      file: images.folders[0]!,
    });
  }

  const splitRows = new Map<string, SplitRows>();
  const digest = createHash('sha256');
  SPLITS.forEach((split, index) => {
    const rows = Int32Array.from(selected[index]!).sort((a, b) => compareNames(table.names[a]!, table.names[b]!));
    for (const row of rows) {
      digest.update(`${split}\t${table.names[row]}\t${table.patients[row]}\t${table.flags.subarray(row * LABEL_COUNT, (row + 1) * LABEL_COUNT).join('')}\n`);
    }
    splitRows.set(split, { rows, paths: Array.from(rows, (row) => images.pathOf.get(table.names[row]!)!) });
  });
  // The digest covers which images are present, so adding downloaded images changes the version too.
  const version = `${table.revision};${splitDescription};seed=${seed};samples=${digest.digest('hex').slice(0, 16)}`;
  return makeDataset(settings.view, version, table, splitRows, log.issues);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Opens the binary pneumonia view: `chestxray14({ ...options, view: 'pneumonia' })`. */
export function chestxray14Pneumonia(options: Omit<ChestXray14Options, 'view'>): Promise<Dataset> {
  return chestxray14({ ...options, view: 'pneumonia' });
}

function makeDataset(
  view: ChestXray14View,
  version: string,
  table: LabelTable,
  splitRows: ReadonlyMap<string, SplitRows>,
  issues: readonly DatasetIssue[],
): Dataset {
  const id = view === 'pneumonia' ? 'chestxray14:pneumonia' : 'chestxray14';
  const task: Task =
    view === 'pneumonia'
      ? { type: 'binary', classes: ['no pneumonia', 'pneumonia'], primaryMetric: 'auc' }
      : { type: 'multilabel', labels: CHESTXRAY14_LABELS, primaryMetric: 'mean_auc' };
  const rowsOf = (split: SplitName): SplitRows => {
    const rows = splitRows.get(split);
    if (!rows) throw new RangeError(`${id}: unknown split ${JSON.stringify(split)}; splits are ${SPLITS.join(', ')}`);
    return rows;
  };
  const sampleAt = (row: number, path: string): Sample => {
    const flags = table.flags.subarray(row * LABEL_COUNT, (row + 1) * LABEL_COUNT);
    return {
      id: table.names[row]!,
      // A copy, so a caller that changes a target cannot change the table.
      target: view === 'pneumonia' ? flags[PNEUMONIA_LABEL]! : flags.slice(),
      group: table.patients[row]!,
      source: path,
      decode: () => decodeImageFile(path),
      encoded: () => readImageFile(path),
    };
  };
  return {
    specificationVersion: 'medssl/v1',
    id,
    modality: 'chest-xray',
    version,
    task,
    splits: SPLITS satisfies readonly ChestXray14Split[],
    async size(split) {
      return rowsOf(split).rows.length;
    },
    async *samples(split, options) {
      const { rows, paths } = rowsOf(split);
      const { start, end } = sampleRange(`${id}/${split}`, rows.length, options);
      const signal = options?.signal;
      signal?.throwIfAborted();
      for (let position = start; position < end; position++) {
        signal?.throwIfAborted();
        yield sampleAt(rows[position]!, paths[position]!);
      }
    },
    issues: () => issues,
  };
}

/** ChestX-ray14 by id (`chestxray14`, `chestxray14:pneumonia`), for hosts that open datasets by id and folder. */
export const chestxray14Provider: DatasetProvider = defineDatasetProvider({
  datasets: [chestxray14Info, chestxray14PneumoniaInfo],
  options: { seed: 'integer', valFraction: 'number', fractions: 'json', labelTable: 'string', onError: ['throw', 'skip'], requireAllImages: 'boolean' },
  open: (id, root, options) => {
    const settings = { ...(options as Omit<ChestXray14Options, 'root' | 'view'>), root };
    return id === chestxray14PneumoniaInfo.id ? chestxray14Pneumonia(settings) : chestxray14(settings);
  },
});
