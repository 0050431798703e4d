import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@medssl/arrays/node';
import type { TargetArray } from '@medssl/spec';
import { parseSubset, serializeSubset, subsetFileName, type LabelFractionSubset } from './subsets.js';

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
export async function loadSubsetFile(path: string, pool?: { ids: readonly string[]; targets: TargetArray }): Promise<LabelFractionSubset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read subset index file ${path}: ${(error as Error).message}`);
  }
  return parseSubset(text, path, pool);
}
