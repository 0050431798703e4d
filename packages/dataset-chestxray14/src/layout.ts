import { DatasetLayoutError, describeNames, type IssueLog } from '@medssl/core';
import { existsSync, type Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const TRAIN_VAL_LIST = 'train_val_list.txt';
export const TEST_LIST = 'test_list.txt';

/** NIH's download spreads the images over `images_001/images/` ... `images_012/images/`. */
const PART_FOLDER = /^images_\d+$/;

export interface ImageIndex {
  /** Path of every image, by file name. */
  readonly pathOf: ReadonlyMap<string, string>;
  /** Folders indexed, in the order they were read. */
  readonly folders: readonly string[];
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function listFolder(path: string): Promise<Dirent[]> {
  try {
    return await readdir(path, { withFileTypes: true });
  } catch (error) {
    throw new Error(`${path}: cannot list the folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Indexes every PNG of `images/` and of each `images_NNN/images/` once; file names are unique in the release. */
export async function indexImages(root: string, log: IssueLog): Promise<ImageIndex> {
  const entries = await listFolder(root);
  const folders: string[] = [];
  if (await isDirectory(join(root, 'images'))) folders.push(join(root, 'images'));
  const parts = entries
    .map((entry) => entry.name)
    .filter((name) => PART_FOLDER.test(name))
    .sort();
  for (const part of parts) {
    if (!(await isDirectory(join(root, part)))) continue; // e.g. images_001.tar.gz left beside the folders
    const inner = join(root, part, 'images');
    if (await isDirectory(inner)) folders.push(inner);
    else log.problem({ kind: 'missing-file', message: `${join(root, part)}: expected the images in ${inner}, which is not a folder`, file: inner });
  }
  if (folders.length === 0) {
    throw new Error(
      `${root}: no image folder; expected ${join(root, 'images')} or ${join(root, 'images_001', 'images')} ... ${join(root, 'images_012', 'images')}`,
    );
  }

  const pathOf = new Map<string, string>();
  for (const folder of folders) {
    const others: string[] = [];
    for (const entry of await listFolder(folder)) {
      // Symbolic links count as files: a layout is often linked together from elsewhere.
      const isFile = entry.isFile() || entry.isSymbolicLink();
      if (!isFile || !entry.name.toLowerCase().endsWith('.png')) {
        others.push(entry.name);
        continue;
      }
      const path = join(folder, entry.name);
      const earlier = pathOf.get(entry.name);
      if (earlier !== undefined) {
        log.problem({ kind: 'skipped', message: `${path}: image ${entry.name} is also at ${earlier}; file names must be unique (kept the first)`, file: path });
        continue;
      }
      pathOf.set(entry.name, path);
    }
    if (others.length > 0) {
      others.sort();
      log.report({
        kind: 'note',
        message: `${folder}: ignored ${describeNames(others, 'entry')} that ${others.length === 1 ? 'is' : 'are'} not a PNG file`,
        file: folder,
      });
    }
  }
  return { pathOf, folders };
}

export interface ImageList {
  readonly path: string;
  readonly names: readonly string[];
  /** 1-based line of each name. */
  readonly lines: readonly number[];
}

/** One image file name per line (NIH's `train_val_list.txt`, `test_list.txt`); blank lines are ignored. */
export async function readImageList(path: string): Promise<ImageList> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read the split list (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const names: string[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((line, position) => {
    const name = line.trim();
    if (name === '') return;
    names.push(name);
    lines.push(position + 1);
  });
  return { path, names, lines };
}

/** Both official lists, none, or an error: one list alone would leave the split ambiguous. */
export async function readOfficialLists(root: string): Promise<{ trainVal: ImageList; test: ImageList } | undefined> {
  const trainValPath = join(root, TRAIN_VAL_LIST);
  const testPath = join(root, TEST_LIST);
  const haveTrainVal = existsSync(trainValPath);
  const haveTest = existsSync(testPath);
  if (!haveTrainVal && !haveTest) return undefined;
  if (!haveTrainVal || !haveTest) {
    const [present, absent] = haveTrainVal ? [trainValPath, testPath] : [testPath, trainValPath];
    throw new DatasetLayoutError(absent, '', `split list not found, but ${present} is present; provide both official lists or neither`);
  }
  return { trainVal: await readImageList(trainValPath), test: await readImageList(testPath) };
}
