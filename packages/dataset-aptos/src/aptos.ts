import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DatasetLayoutError,
  assertSeed,
  csvColumns,
  cutText,
  quoteForMessage,
  defineDatasetProvider,
  describeNames,
  IssueLog,
  parseCsv,
  sampleRange,
} from '@medssl/core';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import { writeFileAtomic } from '@medssl/arrays/node';
import type { Dataset, DatasetInfo, DatasetProvider, DatasetIssue, OnError, RawImage, Sample, SplitName, Task } from '@medssl/spec';
import { checkBlackBorderOptions, cropBlackBorder, describeBlackBorder, type BlackBorderOptions } from './crop.js';
import { DEFAULT_FRACTIONS, drawSplit, loadSplit, serializeSplit, SPLITS, type AptosSplit, type SplitFractions, type SplitRecord } from './split.js';

/** The five grades of the International Clinical Diabetic Retinopathy scale, as APTOS codes them 0..4. */
export const APTOS_CLASSES = ['no DR', 'mild', 'moderate', 'severe', 'proliferative DR'] as const;

export interface AptosOptions {
  /** Folder holding `train.csv` and `train_images/`. */
  readonly root: string;
  /** Seed of the stratified split; default 0. */
  readonly seed?: number;
  /** Shares of the labelled images per split, stratified by grade; default 0.7 / 0.1 / 0.2. */
  readonly fractions?: SplitFractions;
  /**
   * Where the split is saved and, when present, read back. Without it the split is drawn in memory (it is
   * deterministic) and nothing is written; a file at `<root>/medssl-aptos-split-seed<seed>.json` (with the
   * fractions added to the name when they are not the default) is still reused when present.
   */
  readonly splitFile?: string;
  /** Crop the black border around the fundus inside `decode()`; `true` uses the default threshold. */
  readonly cropBlackBorder?: boolean | BlackBorderOptions;
  /** Bad csv rows and missing images: stop with an error (default) or skip and report. */
  readonly onError?: OnError;
}

const CSV_NAME = 'train.csv';
const IMAGE_FOLDER = 'train_images';
const ID_COLUMN = 'id_code';
const DIAGNOSIS_COLUMN = 'diagnosis';

export const aptosInfo: DatasetInfo = {
  id: 'aptos',
  title: 'APTOS 2019 Blindness Detection: diabetic retinopathy grades 0..4 (ordinal, seeded stratified split)',
  layout: [
    `<root>/${CSV_NAME} (columns ${ID_COLUMN},${DIAGNOSIS_COLUMN}; diagnosis 0..4)`,
    `<root>/${IMAGE_FOLDER}/<${ID_COLUMN}>.png`,
    '<root>/medssl-aptos-split-seed<seed>.json (written on first use; test_images/ and test.csv are not read)',
  ].join('\n'),
  source: 'https://www.kaggle.com/competitions/aptos2019-blindness-detection/data',
  license:
    'Kaggle competition data (Asia Pacific Tele-Ophthalmology Society, Aravind Eye Hospital); use is governed by the competition rules, accepted on Kaggle before download',
  modality: 'fundus',
  folder: 'aptos',
  officialSizes: { train: 2_563, val: 366, test: 733, note: "APTOS 2019's 3,662 labelled images in this package's 0.7/0.1/0.2 split (about)" },
  presets: ['paper'],
};

/** APTOS 2019 by id (`aptos`), for hosts that open datasets by id and folder. */
export const aptosProvider: DatasetProvider = defineDatasetProvider({
  datasets: [aptosInfo],
  options: { seed: 'integer', fractions: 'json', splitFile: 'string', cropBlackBorder: 'json', onError: ['throw', 'skip'] },
  open: (_id, root, options) => aptos({ ...(options as Omit<AptosOptions, 'root'>), root }),
});

function checkFraction(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(`aptos: ${name} must be a number in [0, 1], got ${String(value)}`);
  }
  return value;
}

export function defaultSplitFileName(seed: number, fractions: SplitFractions): string {
  const isDefault = SPLITS.every((split) => fractions[split] === DEFAULT_FRACTIONS[split]);
  return isDefault ? `medssl-aptos-split-seed${seed}.json` : `medssl-aptos-split-seed${seed}-${fractions.train}-${fractions.val}-${fractions.test}.json`;
}

/** The labelled, usable rows of train.csv. */
interface LabelledImages {
  readonly ids: string[];
  readonly grades: number[];
  readonly paths: Map<string, string>;
}

async function readLabelledImages(root: string, log: IssueLog): Promise<LabelledImages> {
  const csvPath = join(root, CSV_NAME);
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch (error) {
    throw new Error(`${csvPath}: cannot read the APTOS label file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const table = parseCsv(text, csvPath);
  const columns = csvColumns(table, [ID_COLUMN, DIAGNOSIS_COLUMN], csvPath);

  const imageFolder = join(root, IMAGE_FOLDER);
  let entries: string[];
  try {
    entries = await readdir(imageFolder);
  } catch (error) {
    throw new Error(`${imageFolder}: cannot list the APTOS image folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const onDisk = new Set(entries);

  const ids: string[] = [];
  const grades: number[] = [];
  const paths = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const listed = new Set<string>();
  table.rows.forEach((fields, position) => {
    const line = table.lines[position]!;
    const id = fields[columns[ID_COLUMN]]!.trim();
    const diagnosis = fields[columns[DIAGNOSIS_COLUMN]]!.trim();
    const where = `${csvPath}: line ${line}${id ? ` (${ID_COLUMN} ${cutText(id)})` : ''}`;
    if (id === '') return log.problem({ kind: 'skipped', message: `${where}: empty ${ID_COLUMN}`, file: csvPath, row: line });
    // An id names a file inside train_images/; a separator would reach outside it.
    if (/[\\/]/.test(id))
      return log.problem({ kind: 'skipped', message: `${where}: ${ID_COLUMN} must be a plain file name, without / or \\`, file: csvPath, row: line });
    listed.add(`${id}.png`);
    if (!/^[0-4]$/.test(diagnosis)) {
      return log.problem({
        kind: 'skipped',
        message: `${where}: ${DIAGNOSIS_COLUMN} ${quoteForMessage(diagnosis)} is not a grade 0..4`,
        file: csvPath,
        row: line,
      });
    }
    if (lineOf.has(id))
      return log.problem({
        kind: 'skipped',
        message: `${where}: ${ID_COLUMN} ${cutText(id)} is listed again (first at line ${lineOf.get(id)})`,
        file: csvPath,
        row: line,
      });
    const path = join(imageFolder, `${id}.png`);
    if (!onDisk.has(`${id}.png`))
      return log.problem({ kind: 'missing-file', message: `${path}: image not found (${CSV_NAME} line ${line})`, file: path, row: line });
    lineOf.set(id, line);
    ids.push(id);
    grades.push(Number(diagnosis));
    paths.set(id, path);
  });

  const unlabelled = entries.filter((name) => !listed.has(name)).sort();
  if (unlabelled.length > 0) {
    log.report({ kind: 'missing-label', message: `${imageFolder}: ${describeNames(unlabelled, 'file')} not listed in ${csvPath}; skipped`, file: imageFolder });
  }
  return { ids, grades, paths };
}

/**
 * Reuses a saved split when present (checked against the csv), else draws it. It is saved only to an
 * explicit `splitFile`: medssl never writes under a dataset root unless asked to (data often sits on a
 * read-only or shared mount). Unsaved, nothing is lost: the split is a pure function of the ids, grades,
 * fractions and seed, drawn again identically next time, and the dataset's version carries its digest.
 * A file at the default location (written by earlier versions, or put there on purpose) is still reused.
 */
async function obtainSplit(
  path: string,
  explicit: boolean,
  images: LabelledImages,
  fractions: SplitFractions,
  seed: number,
  csvPath: string,
): Promise<SplitRecord> {
  if (existsSync(path)) return loadSplit(path, images.ids, seed, fractions, csvPath);
  const record = drawSplit(images.ids, images.grades, APTOS_CLASSES.length, fractions, seed);
  if (!explicit) return record;
  try {
    await writeFileAtomic(path, serializeSplit(record));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${path}: cannot save the APTOS split (${reason})`);
  }
  return record;
}

/**
 * APTOS 2019 from Kaggle's layout: the labelled `train.csv` images, split train/val/test by grade with a
 * seed (saved only where `splitFile` says). Test images (no public labels) are not read.
 */
export async function aptos(options: AptosOptions): Promise<Dataset> {
  if (typeof options?.root !== 'string' || options.root.length === 0) throw new TypeError('aptos: options.root must name the dataset folder');
  const { root } = options;
  const seed = options.seed ?? 0;
  assertSeed(seed, 'aptos: seed');
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  for (const split of SPLITS) checkFraction(fractions[split], `fractions.${split}`);
  const sum = fractions.train + fractions.val + fractions.test;
  if (Math.abs(sum - 1) > 1e-9)
    throw new RangeError(`aptos: fractions must add up to 1, got ${fractions.train} + ${fractions.val} + ${fractions.test} = ${sum}`);
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`aptos: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  const crop =
    options.cropBlackBorder === undefined || options.cropBlackBorder === false
      ? undefined
      : checkBlackBorderOptions(options.cropBlackBorder === true ? {} : options.cropBlackBorder);

  let rootIsFolder = false;
  try {
    rootIsFolder = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!rootIsFolder) throw new DatasetLayoutError(root, '', `APTOS folder not found (expected the layout:\n${aptosInfo.layout})`);

  const log = new IssueLog(onError);
  const csvPath = join(root, CSV_NAME);
  const images = await readLabelledImages(root, log);
  const splitPath = options.splitFile ?? join(root, defaultSplitFileName(seed, fractions));
  const record = await obtainSplit(splitPath, options.splitFile !== undefined, images, fractions, seed, csvPath);

  const gradeOf = new Map(images.ids.map((id, row) => [id, images.grades[row]!]));
  const digest = createHash('sha256');
  for (const split of SPLITS) for (const id of record.splits[split]) digest.update(`${split}\t${id}\t${gradeOf.get(id)}\n`);
  const version = `aptos2019;split=stratified-${fractions.train}/${fractions.val}/${fractions.test};seed=${seed};${describeBlackBorder(crop)};samples=${digest.digest('hex').slice(0, 16)}`;
  return makeDataset(version, record, gradeOf, images.paths, crop, log.issues);
}

function makeDataset(
  version: string,
  record: SplitRecord,
  gradeOf: ReadonlyMap<string, number>,
  paths: ReadonlyMap<string, string>,
  crop: Required<BlackBorderOptions> | undefined,
  issues: readonly DatasetIssue[],
): Dataset {
  const task: Task = { type: 'multiclass', classes: APTOS_CLASSES, ordinal: true, primaryMetric: 'kappa' };
  const idsOf = (split: SplitName): readonly string[] => {
    const ids = (SPLITS as readonly string[]).includes(split) ? record.splits[split as AptosSplit] : undefined;
    if (!ids) throw new RangeError(`aptos: unknown split ${JSON.stringify(split)}; splits are ${SPLITS.join(', ')}`);
    return ids;
  };
  const decode = crop ? async (path: string): Promise<RawImage> => cropBlackBorder(await decodeImageFile(path), crop) : decodeImageFile;
  return {
    specificationVersion: 'medssl/v1',
    id: 'aptos',
    modality: 'fundus',
    version,
    task,
    splits: SPLITS,
    async size(split) {
      return idsOf(split).length;
    },
    async *samples(split, options): AsyncGenerator<Sample> {
      const ids = idsOf(split);
      const { start, end } = sampleRange(`aptos/${split}`, ids.length, options);
      const signal = options?.signal;
      signal?.throwIfAborted();
      for (let position = start; position < end; position++) {
        signal?.throwIfAborted();
        const id = ids[position]!;
        const path = paths.get(id)!;
        // Cropped images are changed after decoding: only uncropped ones offer their file's bytes.
        yield { id, target: gradeOf.get(id)!, source: path, decode: () => decode(path), ...(crop ? {} : { encoded: () => readImageFile(path) }) };
      }
    },
    issues: () => issues,
  };
}
