import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { csvColumns, parseCsv } from '@medssl/core';
import { decodeImageFile } from '@medssl/core/node';
import type { BinaryTask, RawImage } from '@medssl/spec';
import { sharedData } from '@medssl/test-data';
import type { ImageSplit } from '../finetune.js';

/** The real PCam samples of ../shared/data (see its README): JPEG patches 96x96 with labels.csv. */
export const PCAM_ROOT = sharedData('pcam');
export const PCAM_TASK: BinaryTask = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

/**
 * PCam's train, valid and test rows as image splits, `perClass` patches of each class per split (the first
 * ones in labels.csv order), decoded once and kept in memory.
 */
export async function pcamSplits(perClass: { train: number; val: number; test: number }): Promise<Record<'train' | 'val' | 'test', ImageSplit>> {
  const csvPath = join(PCAM_ROOT, 'labels.csv');
  const table = parseCsv(await readFile(csvPath, 'utf8'), csvPath);
  const columns = csvColumns(table, ['path', 'split', 'label'], csvPath);
  const splits = {} as Record<'train' | 'val' | 'test', ImageSplit>;
  for (const [name, csvName] of [
    ['train', 'train'],
    ['val', 'valid'],
    ['test', 'test'],
  ] as const) {
    const byClass = [0, 1].map((label) =>
      table.rows
        .filter((row) => row[columns.split] === csvName && Number(row[columns.label]) === label)
        .slice(0, perClass[name])
        .map((row) => ({ path: row[columns.path]!, label })),
    );
    // Alternate the classes, so that any prefix of a split holds both.
    const chosen = byClass[0]!.flatMap((row, index) => [row, ...(byClass[1]![index] ? [byClass[1]![index]!] : [])]);
    const images: RawImage[] = await Promise.all(chosen.map((row) => decodeImageFile(join(PCAM_ROOT, row.path))));
    splits[name] = {
      ids: chosen.map((row) => row.path),
      targets: { type: 'class', data: Int32Array.from(chosen, (row) => row.label), shape: [chosen.length] },
      image: async (row) => {
        const image = images[row];
        if (image === undefined) throw new RangeError(`pcam ${name}: no row ${row} among ${images.length}`);
        return image;
      },
    };
  }
  return splits;
}
