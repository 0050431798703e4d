import { open, rename, rm, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TargetArray } from '@medssl/spec';
import { parseSubset, serializeSubset, subsetFileName, type LabelFractionSubset } from './subsets.js';

/**
 * Writes a file so that a crash at any moment leaves either the old file or the complete new one: the bytes
 * go to a temporary name in the same folder, are flushed to disk, and the temporary file is renamed over the
 * target; the folder is then flushed so the rename itself survives a power loss.
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) and file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Saves each subset as `<folder>/<dataset>-<split>-f<fraction>-s<seed>.json`; returns the paths. */
export async function saveSubsetFiles(folder: string, subsets: readonly LabelFractionSubset[]): Promise<string[]> {
  const paths: string[] = [];
  for (const subset of subsets) {
    const path = join(folder, subsetFileName(subset));
    await writeFileAtomic(path, serializeSubset(subset));
    paths.push(path);
  }
  return paths;
}

/** Loads a subset index file; with `pool`, refuses a file drawn from other ids or targets. */
export async function loadSubsetFile(
  path: string,
  pool?: { ids: readonly string[]; targets: TargetArray },
): Promise<LabelFractionSubset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read subset index file ${path}: ${(error as Error).message}`);
  }
  return parseSubset(text, path, pool);
}
