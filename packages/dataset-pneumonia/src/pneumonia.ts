import { defineDatasetProvider, sampleRange } from '@medssl/core';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import type { BinaryTask, Dataset, DatasetInfo, DatasetProvider, DatasetIssue, OnError, Sample, SampleOptions, SplitName } from '@medssl/spec';

export type PneumoniaSplit = 'train' | 'val' | 'test';

export interface PneumoniaOptions {
  /** The folder holding `train/`, `val/` and `test/`, or the one above `chest_xray/` as the Kaggle archive unpacks. */
  readonly root: string;
  /**
   * Splits to read; default all three. The Mendeley release (ChestXRay2017.zip) has no `val/`: pass
   * `['train', 'test']` for it.
   */
  readonly splits?: readonly PneumoniaSplit[];
  /** A missing split or class folder, or an empty class folder: an error (default) or skipped and listed in `issues()`. */
  readonly onError?: OnError;
}

export const pneumoniaInfo: DatasetInfo = {
  id: 'pneumonia',
  title: 'Pediatric chest X-rays, pneumonia vs normal (Kermany et al., Cell 2018)',
  layout: [
    '<root>/{train,val,test}/NORMAL/*.jpeg',
    '<root>/{train,val,test}/PNEUMONIA/*.jpeg',
    'or the same under <root>/chest_xray/ (the Kaggle archive); .jpeg, .jpg and .png are read',
  ].join('\n'),
  source:
    'https://data.mendeley.com/datasets/rscbjbr9sj/2 (ChestXRay2017.zip: train and test) or ' +
    'https://www.kaggle.com/datasets/paultimothymooney/chest-xray-pneumonia (train, val, test)',
  license: 'CC BY 4.0; cite Kermany et al., Cell 172(5), 1122-1131 (2018)',
  modality: 'chest-xray',
  folder: 'pneumonia',
  officialSizes: { train: 5_216, val: 16, test: 624, note: 'the Kaggle release of Kermany et al.' },
};

/** Kermany et al.'s pediatric chest X-rays by id (`pneumonia`), for hosts that open datasets by id and folder. */
export const pneumoniaProvider: DatasetProvider = defineDatasetProvider({
  datasets: [pneumoniaInfo],
  options: { splits: 'strings', onError: ['throw', 'skip'] },
  open: (_id, root, options) => pneumonia({ ...(options as Omit<PneumoniaOptions, 'root'>), root }),
});

const TASK: BinaryTask = { type: 'binary', classes: ['normal', 'pneumonia'], primaryMetric: 'auc' };
const ALL_SPLITS: readonly PneumoniaSplit[] = ['train', 'val', 'test'];
/** Class folders as the release names them, in class-index order. */
const CLASS_FOLDERS = ['NORMAL', 'PNEUMONIA'] as const;
const IMAGE_EXTENSIONS = new Set(['.jpeg', '.jpg', '.png']);

interface Entry {
  readonly id: string;
  readonly path: string;
  readonly target: 0 | 1;
}

/** Lists the folder layout (no image is read) and returns the dataset; see `pneumoniaInfo` for the layout. */
export async function pneumonia(options: PneumoniaOptions): Promise<Dataset> {
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`pneumonia: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  const wanted = options.splits ?? ALL_SPLITS;
  for (const split of wanted) {
    if (!ALL_SPLITS.includes(split)) throw new RangeError(`pneumonia: unknown split ${JSON.stringify(split)}; the splits are ${ALL_SPLITS.join(', ')}`);
  }
  const issues: DatasetIssue[] = [];
  const problem = (issue: DatasetIssue): void => {
    if (onError === 'throw') throw new Error(issue.file === undefined ? issue.message : `${issue.file}: ${issue.message}`);
    issues.push(issue);
  };

  const dataRoot = await findDataRoot(options.root);
  const rootEntries = await readdir(dataRoot, { withFileTypes: true });
  for (const entry of rootEntries) {
    if (!ALL_SPLITS.includes(entry.name as PneumoniaSplit)) {
      issues.push({
        kind: 'note',
        file: join(dataRoot, entry.name),
        message: `${entry.isDirectory() ? 'a folder' : 'a file'} that is not a split folder (${ALL_SPLITS.join(', ')}); not read`,
      });
    }
  }

  const tables = new Map<PneumoniaSplit, Entry[]>();
  for (const split of wanted) {
    const splitFolder = join(dataRoot, split);
    if (!(await isDirectory(splitFolder))) {
      const present = rootEntries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      problem({
        kind: 'missing-file',
        file: splitFolder,
        message:
          `split folder ${split}/ not found; ${dataRoot} holds ${present.join(', ') || 'no folders'}` +
          (split === 'val' ? " (the Mendeley release has no val/: pass splits: ['train', 'test'])" : ''),
      });
      continue;
    }
    const entries: Entry[] = [];
    const splitEntries = await readdir(splitFolder, { withFileTypes: true });
    for (const entry of splitEntries) {
      if (!CLASS_FOLDERS.includes(entry.name as (typeof CLASS_FOLDERS)[number])) {
        issues.push({
          kind: 'skipped',
          file: join(splitFolder, entry.name),
          message: `${entry.isDirectory() ? 'a folder' : 'a file'} that is not a class folder (${CLASS_FOLDERS.join(', ')}); not read`,
        });
      }
    }
    for (const [target, className] of CLASS_FOLDERS.entries()) {
      const classFolder = join(splitFolder, className);
      if (!(await isDirectory(classFolder))) {
        problem({ kind: 'missing-file', file: classFolder, message: `class folder ${split}/${className}/ not found` });
        continue;
      }
      const names = (await readdir(classFolder, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
      let images = 0;
      for (const entry of names) {
        const path = join(classFolder, entry.name);
        const isFile =
          entry.isFile() ||
          (entry.isSymbolicLink() &&
            (await stat(path).then(
              (info) => info.isFile(),
              () => false,
            )));
        if (!isFile || !IMAGE_EXTENSIONS.has(extensionOf(entry.name))) {
          issues.push({
            kind: 'skipped',
            file: path,
            message: isFile ? `not an image (expected ${[...IMAGE_EXTENSIONS].join(', ')}); not read` : 'a folder inside a class folder; not read',
          });
          continue;
        }
        entries.push({ id: `${split}/${className}/${entry.name}`, path, target: target as 0 | 1 });
        images++;
      }
      if (images === 0) problem({ kind: 'note', file: classFolder, message: `class folder ${split}/${className}/ holds no images` });
    }
    tables.set(split, entries);
  }

  const splits = wanted.filter((split) => tables.has(split));
  if (splits.length === 0) throw new Error(`${dataRoot}: none of the splits ${wanted.join(', ')} could be read`);
  // The listing decides the version: another file set, or another labelling, is another cache key.
  const fingerprint = createHash('sha256');
  for (const split of splits) for (const entry of tables.get(split)!) fingerprint.update(`${entry.id}\t${entry.target}\n`);

  const tableOf = (split: SplitName): Entry[] => {
    const table = tables.get(split as PneumoniaSplit);
    if (table === undefined) throw new RangeError(`pneumonia: no split ${JSON.stringify(split)}; the splits are ${splits.join(', ')}`);
    return table;
  };
  const toSample = (entry: Entry): Sample => ({
    id: entry.id,
    target: entry.target,
    source: entry.path,
    decode: () => decodeImageFile(entry.path),
    encoded: () => readImageFile(entry.path),
  });

  return {
    specificationVersion: 'medssl/v1',
    id: 'pneumonia',
    modality: 'chest-xray',
    version: `kermany2018-${fingerprint.digest('hex').slice(0, 16)}`,
    task: TASK,
    splits,
    async size(split) {
      return tableOf(split).length;
    },
    async *samples(split: SplitName, sampleOptions: SampleOptions = {}) {
      const table = tableOf(split);
      const { start, end } = sampleRange(`pneumonia/${split}`, table.length, sampleOptions);
      sampleOptions.signal?.throwIfAborted();
      for (let row = start; row < end; row++) {
        sampleOptions.signal?.throwIfAborted();
        yield toSample(table[row]!);
      }
    },
    issues: () => issues,
  };
}

/** The folder with the split folders: `root` itself, or `root/chest_xray` as the Kaggle archive unpacks. */
async function findDataRoot(root: string): Promise<string> {
  if (!(await isDirectory(root)))
    throw new Error(`${root}: folder not found (expected the pneumonia data: ${ALL_SPLITS.map((split) => `${split}/`).join(', ')})`);
  for (const candidate of [root, join(root, 'chest_xray')]) {
    for (const split of ALL_SPLITS) if (await isDirectory(join(candidate, split))) return candidate;
  }
  const present = (await readdir(root)).join(', ') || 'nothing';
  throw new Error(`${root}: no train/, val/ or test/ folder here or in chest_xray/; the folder holds ${present}`);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

/** Code-unit order: the same on every machine, whatever its locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
