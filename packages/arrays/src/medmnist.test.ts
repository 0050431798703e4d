/**
 * The real MedMNIST archives (MedMNIST v2, Yang et al. 2023, CC BY 4.0), read from the shared data
 * folder beside the repository, never copied into it. Skipped where that folder is absent.
 */
import { execFileSync } from 'node:child_process';

import { haveSharedData, sharedData, sharedDataTitle } from '@medssl/test-data';
import { describe, expect, it } from 'vitest';

import { dataBytes, findNumpyPython, sha256 } from './__fixtures__/fixtures.js';
import type { NdArray } from './ndarray.js';
import { openNpzFile, readNpzFile } from './node.js';

interface ExpectedSplits {
  imageShape: number[];
  counts: { train: number; val: number; test: number };
  labelCount: number;
}

const DATASETS: Record<string, ExpectedSplits> = {
  retinamnist: { imageShape: [28, 28, 3], counts: { train: 1080, val: 120, test: 400 }, labelCount: 5 },
  pneumoniamnist: { imageShape: [28, 28], counts: { train: 4708, val: 524, test: 624 }, labelCount: 2 },
};

const python = findNumpyPython();

describe.each(Object.entries(DATASETS))('MedMNIST %s.npz', (flag, expected) => {
  const path = sharedData('medmnist', `${flag}.npz`);
  const present = haveSharedData(`the MedMNIST ${flag}.npz tests`, `medmnist/${flag}.npz`);

  it.skipIf(!present)(sharedDataTitle('holds every split with the published shapes, uint8 images and labels in range', present), async () => {
    const arrays = await readNpzFile(path);
    expect([...arrays.keys()].sort()).toEqual(['test_images', 'test_labels', 'train_images', 'train_labels', 'val_images', 'val_labels']);
    for (const [split, count] of Object.entries(expected.counts)) {
      const images = arrays.get(`${split}_images`)!;
      const labels = arrays.get(`${split}_labels`)!;
      expect(images.dtype).toBe('uint8');
      expect(images.shape).toEqual([count, ...expected.imageShape]);
      expect(labels.shape).toEqual([count, 1]);
      if (labels.dtype !== 'uint8') throw new Error(`${path}: ${split}_labels: expected uint8, got ${labels.dtype}`);
      expect(Math.max(...labels.data)).toBe(expected.labelCount - 1);
      expect(Math.min(...labels.data)).toBe(0);
    }
  });

  it.skipIf(!present)(sharedDataTitle('gives the header of one split without decoding the rest', present), async () => {
    const archive = await openNpzFile(path);
    try {
      const header = await archive.readHeader('train_images');
      expect(header.dtype).toBe('uint8');
      expect(header.shape).toEqual([expected.counts.train, ...expected.imageShape]);
      const labels = await archive.read('val_labels');
      expect(labels.shape).toEqual([expected.counts.val, 1]);
    } finally {
      await archive.close();
    }
  });

  it.skipIf(!present || python === undefined)(sharedDataTitle('matches what numpy reads, byte for byte', present), async () => {
    const script = [
      'import hashlib, json, sys',
      'import numpy as np',
      'data = np.load(sys.argv[1])',
      'print(json.dumps({key: hashlib.sha256(data[key].tobytes()).hexdigest() for key in data.files}))',
    ].join('\n');
    const digests = JSON.parse(execFileSync(python!, ['-c', script, path], { encoding: 'utf8' })) as Record<string, string>;
    const arrays = await readNpzFile(path);
    expect(Object.fromEntries([...arrays].map(([key, array]: [string, NdArray]) => [key, sha256(dataBytes(array))]))).toEqual(digests);
  });
});
