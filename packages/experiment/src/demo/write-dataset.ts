import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mapConcurrent } from '@medssl/core';
import { writeFileAtomic } from '@medssl/arrays/node';
import sharp from 'sharp';
import { SYNTHETIC_CLASSES, syntheticPatch, syntheticSamples, type SyntheticSplitSizes } from './synthetic-patches.js';

/**
 * Writes the demo's synthetic patches as PNG files in the class-folder layout that the `folder` dataset
 * reads: `<root>/{train,val,test}/{normal,tumour}/<split>-<index>.png`. Returns the number of files.
 */
export async function writeSyntheticDataset(root: string, sizes: SyntheticSplitSizes, seed: number, size = 64): Promise<number> {
  const samples = syntheticSamples(sizes, seed);
  for (const split of ['train', 'val', 'test']) {
    for (const name of SYNTHETIC_CLASSES) await mkdir(join(root, split, name), { recursive: true });
  }
  let written = 0;
  for await (const _ of mapConcurrent(
    samples,
    async (sample) => {
      const image = syntheticPatch(sample.label, { seed: sample.seed, size });
      const png = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
        raw: { width: image.width, height: image.height, channels: image.channels },
      })
        .png()
        .toBuffer();
      await writeFileAtomic(join(root, sample.split, SYNTHETIC_CLASSES[sample.label], `${sample.name}.png`), png);
    },
    { concurrency: 8 },
  )) {
    written++;
  }
  return written;
}
