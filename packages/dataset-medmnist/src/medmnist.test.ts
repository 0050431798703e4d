import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteSourceFromBytes, createNdArray, readZipDirectory, type NdArray } from '@medssl/arrays';
import { readNpzFile } from '@medssl/arrays/node';
import type { Dataset, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { haveSharedData, sharedData, sharedDataTitle } from '@medssl/test-data';
import { afterAll, describe, expect, it } from 'vitest';
import { noisyUint8, patternedUint8, uint8Array, writeNpz } from './__fixtures__/npz.js';
import { MEDMNIST_2D_FLAGS, MEDMNIST_3D_FLAGS, MEDMNIST_FLAGS, medmnistTask } from './flags.js';
import { medmnist, type MedmnistDataset } from './medmnist.js';

const data = sharedData('medmnist');
const retinaPath = join(data, 'retinamnist.npz');
const pneumoniaPath = join(data, 'pneumoniamnist.npz');
const haveRetina = haveSharedData('RetinaMNIST (real file)', 'medmnist/retinamnist.npz');
const havePneumonia = haveSharedData('PneumoniaMNIST (real file)', 'medmnist/pneumoniamnist.npz');

const work = mkdtempSync(join(tmpdir(), 'medssl-medmnist-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SPLITS = ['train', 'val', 'test'] as const;

/** Samples per class name and split, counted straight from the npz labels. */
async function countLabels(path: string, classes: readonly string[]): Promise<Record<string, Record<string, number>>> {
  const arrays = await readNpzFile(path);
  const counts: Record<string, Record<string, number>> = {};
  for (const split of SPLITS) {
    const labels = arrays.get(`${split}_labels`)!;
    const perClass = Object.fromEntries(classes.map((name) => [name, 0]));
    for (const value of labels.data as Uint8Array) perClass[classes[value]!]!++;
    counts[split] = perClass;
  }
  return counts;
}

async function collect(dataset: Dataset, split: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  return samples;
}

async function pixelsOf(dataset: Dataset, split: string, rows: readonly number[]): Promise<Uint8Array[]> {
  const samples = await collect(dataset, split);
  return Promise.all(rows.map(async (row) => (await samples[row]!.decode()).data as Uint8Array));
}

const retinaCounts = haveRetina ? await countLabels(retinaPath, ['0', '1', '2', '3', '4']) : undefined;
const pneumoniaCounts = havePneumonia ? await countLabels(pneumoniaPath, ['normal', 'pneumonia']) : undefined;

describe.skipIf(!haveRetina)(sharedDataTitle('RetinaMNIST (real file)', haveRetina), () => {
  it('has the published counts per class, also counted from the labels here', () => {
    expect(retinaCounts).toEqual({
      train: { 0: 486, 1: 128, 2: 206, 3: 194, 4: 66 },
      val: { 0: 54, 1: 12, 2: 28, 3: 20, 4: 6 },
      test: { 0: 174, 1: 46, 2: 92, 3: 68, 4: 20 },
    });
  });

  describeDataset('medmnist:retinamnist', () => medmnist({ flag: 'retinamnist', root: data }), {
    counts: { train: 1080, val: 120, test: 400 },
    classCounts: retinaCounts,
  });

  it('states the ordinal task with kappa, the 28x28 RGB geometry and reads images in memory', async () => {
    const dataset = await medmnist({ flag: 'retinamnist', root: data });
    expect(dataset.id).toBe('medmnist:retinamnist');
    expect(dataset.task).toEqual({ type: 'multiclass', classes: ['0', '1', '2', '3', '4'], ordinal: true, primaryMetric: 'kappa' });
    expect(dataset.version).toMatch(/^28px-[0-9a-f]{16}$/);
    expect({ size: dataset.imageSize, channels: dataset.channels }).toEqual({ size: 28, channels: 3 });
    expect(dataset.rowAccess).toEqual({ train: 'in-memory', val: 'in-memory', test: 'in-memory' });
    expect(dataset.issues!()).toEqual([]);
  });

  it('decodes the same pixels numpy stores, in every access mode', async () => {
    const arrays = await readNpzFile(retinaPath);
    const train = arrays.get('train_images')!.data as Uint8Array;
    const rowBytes = 28 * 28 * 3;
    const rows = [0, 1, 517, 1079];
    const expected = rows.map((row) => train.slice(row * rowBytes, (row + 1) * rowBytes));

    const inMemory = await medmnist({ flag: 'retinamnist', root: data });
    const streamed = await medmnist({ flag: 'retinamnist', root: data, maxInMemoryBytes: 0 });
    expect(streamed.rowAccess.train).toBe('streamed');
    const storedPath = join(work, 'retinamnist-stored.npz');
    writeNpz(storedPath, Object.fromEntries(arrays), 'stored');
    const stored = await medmnist({ flag: 'retinamnist', file: storedPath });
    expect(stored.rowAccess.train).toBe('positioned');
    // The version follows the content (member CRC-32s), not how the archive compresses it.
    expect(stored.version).toBe(inMemory.version);

    for (const dataset of [inMemory, streamed, stored]) {
      expect(await pixelsOf(dataset, 'train', rows)).toEqual(expected);
      const [first] = await collect(dataset, 'train');
      expect(await first!.decode()).toMatchObject({ width: 28, height: 28, channels: 3 });
    }
  });

  it('streams a whole split in order, and serves rows out of order by starting over', async () => {
    const arrays = await readNpzFile(retinaPath);
    const test = arrays.get('test_images')!.data as Uint8Array;
    const dataset = await medmnist({ flag: 'retinamnist', root: data, maxInMemoryBytes: 0 });
    const samples = await collect(dataset, 'test');
    // Concurrent decodes, as a pipeline with read-ahead makes them.
    const decoded = await Promise.all(samples.map((sample) => sample.decode()));
    const joined = new Uint8Array(test.length);
    decoded.forEach((image, row) => joined.set(image.data as Uint8Array, row * 28 * 28 * 3));
    expect(createHash('sha256').update(joined).digest('hex')).toBe(createHash('sha256').update(test).digest('hex'));
    // Backwards with a 16-row window: rows behind the stream make it start over, and still come out right.
    const reversed = await medmnist({ flag: 'retinamnist', root: data, maxInMemoryBytes: 0, streamWindowBytes: 0 });
    const valPixels = arrays.get('val_images')!.data as Uint8Array;
    const reverseSamples = (await collect(reversed, 'val')).reverse();
    for (const sample of reverseSamples) {
      const row = Number(sample.id.split('/')[1]);
      const pixels = (await sample.decode()).data as Uint8Array;
      expect(Buffer.from(pixels).equals(valPixels.subarray(row * 2352, (row + 1) * 2352)), `val row ${row}`).toBe(true);
    }
  });

  it('matches the MD5 published for retinamnist.npz', () => {
    const md5 = createHash('md5').update(readFileSync(retinaPath)).digest('hex');
    expect(md5).toBe(MEDMNIST_FLAGS.get('retinamnist')!.md5[28]);
  });
});

describe.skipIf(!havePneumonia)(sharedDataTitle('PneumoniaMNIST (real file)', havePneumonia), () => {
  it('has the published counts per class, also counted from the labels here', () => {
    expect(pneumoniaCounts).toEqual({
      train: { normal: 1214, pneumonia: 3494 },
      val: { normal: 135, pneumonia: 389 },
      test: { normal: 234, pneumonia: 390 },
    });
  });

  describeDataset('medmnist:pneumoniamnist', () => medmnist({ flag: 'pneumoniamnist', root: data }), {
    counts: { train: 4708, val: 524, test: 624 },
    classCounts: pneumoniaCounts,
  });

  it('states the binary task with AUC and decodes grey 28x28 images', async () => {
    const dataset = await medmnist({ flag: 'pneumoniamnist', root: data });
    expect(dataset.task).toEqual({ type: 'binary', classes: ['normal', 'pneumonia'], primaryMetric: 'auc' });
    const [sample] = await collect(dataset, 'test');
    expect(sample!.id).toBe('test/000000');
    expect(sample!.source).toBe(`${pneumoniaPath}[test_images][0]`);
    const image = await sample!.decode();
    expect({ width: image.width, height: image.height, channels: image.channels }).toEqual({ width: 28, height: 28, channels: 1 });
  });

  it('differs from the published MD5, as the shared copy reorders the train split', () => {
    const md5 = createHash('md5').update(readFileSync(pneumoniaPath)).digest('hex');
    expect(md5).not.toBe(MEDMNIST_FLAGS.get('pneumoniamnist')!.md5[28]);
  });
});

/** A small synthetic file for a flag: `counts` rows per split, labels from `label(row)`. */
function syntheticArrays(options: {
  size: number;
  channels: 1 | 3;
  counts: Record<(typeof SPLITS)[number], number>;
  labelColumns: number;
  label: (split: string, row: number, column: number) => number;
}): Record<string, NdArray> {
  const arrays: Record<string, NdArray> = {};
  SPLITS.forEach((split, index) => {
    const count = options.counts[split];
    const shape = options.channels === 1 ? [count, options.size, options.size] : [count, options.size, options.size, 3];
    arrays[`${split}_images`] = patternedUint8(shape, index + 1);
    const labels = Array.from({ length: count * options.labelColumns }, (_, flat) =>
      options.label(split, Math.floor(flat / options.labelColumns), flat % options.labelColumns),
    );
    arrays[`${split}_labels`] = uint8Array([count, options.labelColumns], labels);
  });
  return arrays;
}

describe('ChestMNIST at 64x64 (synthetic multilabel file)', () => {
  const root = join(work, 'chest');
  const counts = { train: 40, val: 9, test: 15 };
  // Label l is positive on rows where (row + l) % 5 === 0, split by split.
  const label = (_split: string, row: number, column: number) => ((row + column) % 5 === 0 ? 1 : 0);
  const labels = medmnistTask(MEDMNIST_FLAGS.get('chestmnist')!);
  const names = labels.type === 'multilabel' ? labels.labels : [];
  const positives = Object.fromEntries(
    SPLITS.map((split) => [
      split,
      Object.fromEntries(
        names.map((name, column) => {
          let count = 0;
          for (let row = 0; row < counts[split]; row++) count += label(split, row, column);
          return [name, count];
        }),
      ),
    ]),
  );
  mkdirSync(root, { recursive: true });
  writeNpz(join(root, 'chestmnist_64.npz'), syntheticArrays({ size: 64, channels: 1, counts, labelColumns: 14, label }), 'deflated');

  describeDataset('medmnist:chestmnist (64x64)', () => medmnist({ flag: 'chestmnist', root, size: 64 }), { counts, classCounts: positives });

  it('gives 0/1 flags per label, the multilabel task and 64x64 images', async () => {
    const dataset = await medmnist({ flag: 'chestmnist', root, size: 64 });
    expect(dataset.task).toEqual({ type: 'multilabel', labels: names, primaryMetric: 'mean_auc' });
    const [first] = await collect(dataset, 'train');
    expect(first!.target).toEqual(Uint8Array.from(names.map((_, column) => label('train', 0, column))));
    expect(await first!.decode()).toMatchObject({ width: 64, height: 64, channels: 1 });
    expect(dataset.version).toMatch(/^64px-/);
  });

  it('refuses a file of another size than asked', async () => {
    await expect(medmnist({ flag: 'chestmnist', file: join(root, 'chestmnist_64.npz'), size: 128 })).rejects.toThrow(
      /chestmnist_64\.npz\[train_images\.npy\]: expected 128x128 images \(size 128\), got 64x64/,
    );
  });
});

describe('every flag', () => {
  it('lists the twelve 2D flags with their official tasks and the six 3D flags', () => {
    expect(MEDMNIST_2D_FLAGS).toEqual([
      'pathmnist',
      'chestmnist',
      'dermamnist',
      'octmnist',
      'pneumoniamnist',
      'retinamnist',
      'breastmnist',
      'bloodmnist',
      'tissuemnist',
      'organamnist',
      'organcmnist',
      'organsmnist',
    ]);
    expect(MEDMNIST_3D_FLAGS).toEqual(['organmnist3d', 'nodulemnist3d', 'adrenalmnist3d', 'fracturemnist3d', 'vesselmnist3d', 'synapsemnist3d']);
    const summary = Object.fromEntries(
      MEDMNIST_2D_FLAGS.map((flag) => {
        const task = medmnistTask(MEDMNIST_FLAGS.get(flag)!);
        const size = task.type === 'multilabel' ? task.labels.length : task.classes.length;
        return [flag, `${task.type}${task.type === 'multiclass' && task.ordinal ? ' ordinal' : ''} ${size} ${task.primaryMetric}`];
      }),
    );
    expect(summary).toEqual({
      pathmnist: 'multiclass 9 accuracy',
      chestmnist: 'multilabel 14 mean_auc',
      dermamnist: 'multiclass 7 accuracy',
      octmnist: 'multiclass 4 accuracy',
      pneumoniamnist: 'binary 2 auc',
      retinamnist: 'multiclass ordinal 5 kappa',
      breastmnist: 'binary 2 auc',
      bloodmnist: 'multiclass 8 accuracy',
      tissuemnist: 'multiclass 8 accuracy',
      organamnist: 'multiclass 11 accuracy',
      organcmnist: 'multiclass 11 accuracy',
      organsmnist: 'multiclass 11 accuracy',
    });
    for (const info of MEDMNIST_FLAGS.values()) {
      const sizes = info.dimensions === 2 ? [28, 64, 128, 224] : [28, 64];
      expect(Object.keys(info.md5).map(Number)).toEqual(sizes);
      for (const md5 of Object.values(info.md5)) expect(md5).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('refuses 3D flags and unknown flags, saying which flags exist', async () => {
    await expect(medmnist({ flag: 'organmnist3d', root: work })).rejects.toThrow(/organmnist3d holds 3D volumes .* not 2D images; medssl reads 2D images only/);
    await expect(medmnist({ flag: 'retinamnst', root: work })).rejects.toThrow(/unknown MedMNIST flag "retinamnst"; the 2D flags are pathmnist, chestmnist/);
  });
});

describe('bad input', () => {
  const breastCounts = { train: 12, val: 4, test: 6 };
  const breast = (labelOf: (split: string, row: number) => number = (_split, row) => row % 2) =>
    syntheticArrays({ size: 28, channels: 1, counts: breastCounts, labelColumns: 1, label: (split, row) => labelOf(split, row) });

  it('names a missing file and how to get it', async () => {
    const missing = join(work, 'nowhere');
    await expect(medmnist({ flag: 'breastmnist', root: missing, size: 224 })).rejects.toThrow(
      `${join(missing, 'breastmnist_224.npz')}: MedMNIST file not found; download it with downloadMedmnist({ flag: 'breastmnist', size: 224, root }) or from https://zenodo.org/records/10519652/files/breastmnist_224.npz?download=1`,
    );
  });

  it('names missing arrays and lists what the archive holds', async () => {
    const path = join(work, 'breast-missing-key.npz');
    const { val_labels: _dropped, ...rest } = breast();
    writeNpz(path, rest, 'deflated');
    await expect(medmnist({ flag: 'breastmnist', file: path })).rejects.toThrow(
      `${path}: missing array val_labels; a MedMNIST file holds {train,val,test}_{images,labels}, this one holds train_images, train_labels, val_images, test_images, test_labels`,
    );
  });

  it('refuses a label outside the task naming file and row, or skips and reports it', async () => {
    const path = join(work, 'breast-bad-label.npz');
    writeNpz(
      path,
      breast((split, row) => (split === 'val' && row === 2 ? 7 : row % 2)),
      'deflated',
    );
    await expect(medmnist({ flag: 'breastmnist', file: path })).rejects.toThrow(
      `${path}[val_labels.npy]: row 2: label 7 is outside 0..1 (malignant, normal, benign)`,
    );
    const dataset = await medmnist({ flag: 'breastmnist', file: path, onError: 'skip' });
    expect(await dataset.size('val')).toBe(3);
    expect((await collect(dataset, 'val')).map((sample) => sample.id)).toEqual(['val/000000', 'val/000001', 'val/000003']);
    expect(dataset.issues!().filter((issue) => issue.kind === 'skipped')).toEqual([
      { kind: 'skipped', file: `${path}[val_labels]`, row: 2, message: 'val: row 2: label 7 is outside 0..1 (malignant, normal, benign); sample skipped' },
    ]);
  });

  it('refuses images with the wrong number of channels for the flag', async () => {
    const path = join(work, 'breast-rgb.npz');
    writeNpz(path, syntheticArrays({ size: 28, channels: 3, counts: breastCounts, labelColumns: 1, label: () => 0 }), 'stored');
    await expect(medmnist({ flag: 'breastmnist', file: path })).rejects.toThrow(
      `${path}[train_images.npy]: breastmnist images have 1 channel, this file has 3`,
    );
  });

  it('refuses labels whose count differs from the images', async () => {
    const path = join(work, 'breast-short-labels.npz');
    const arrays = breast();
    arrays.test_labels = uint8Array([5, 1], [0, 1, 0, 1, 0]);
    writeNpz(path, arrays, 'deflated');
    await expect(medmnist({ flag: 'breastmnist', file: path })).rejects.toThrow(`${path}[test_labels.npy]: 5 labels for 6 images in test_images`);
  });

  it('notes split sizes that differ from the published ones', async () => {
    const path = join(work, 'breast-small.npz');
    writeNpz(path, breast(), 'stored');
    const dataset = await medmnist({ flag: 'breastmnist', file: path });
    expect(dataset.issues!().map((issue) => issue.message)).toEqual([
      'train: 12 images, the published breastmnist split has 546; the file may be another release',
      'val: 4 images, the published breastmnist split has 78; the file may be another release',
      'test: 6 images, the published breastmnist split has 156; the file may be another release',
    ]);
  });

  it('names the file when it is truncated', async () => {
    const path = join(work, 'breast-truncated.npz');
    writeNpz(path, breast(), 'deflated');
    truncateSync(path, 600);
    await expect(medmnist({ flag: 'breastmnist', file: path })).rejects.toThrow(path);
  });

  it('rejects decoding from a corrupt streamed member, naming the member', async () => {
    const path = join(work, 'breast-corrupt.npz');
    const arrays = breast();
    arrays.train_images = noisyUint8([12, 28, 28], 9);
    writeNpz(path, arrays, 'deflated');
    // Flip bytes in the second half of the deflated train_images data, past the NPY header: the stream then
    // fails to inflate, or inflates to bytes that fail the member's CRC-32.
    const bytes = readFileSync(path);
    const entry = (await readZipDirectory(byteSourceFromBytes(bytes), path)).find((candidate) => candidate.fileName === 'train_images.npy')!;
    const dataStart = entry.localHeaderOffset + 30 + 'train_images.npy'.length;
    for (let offset = dataStart + Math.floor(entry.compressedSize * 0.6); offset < dataStart + Math.floor(entry.compressedSize * 0.6) + 40; offset++) {
      bytes[offset] = bytes[offset]! ^ 0x5a;
    }
    writeFileSync(path, bytes);
    const dataset = await medmnist({ flag: 'breastmnist', file: path, maxInMemoryBytes: 0 });
    const samples = await collect(dataset, 'train');
    await expect(Promise.all(samples.map((sample) => sample.decode()))).rejects.toThrow(`${path}[train_images.npy]`);
    const inMemory = await medmnist({ flag: 'breastmnist', file: path });
    await expect((await collect(inMemory, 'train'))[0]!.decode()).rejects.toThrow(`${path}[train_images.npy]`);
  });

  it('refuses unknown splits and rows outside the split', async () => {
    const path = join(work, 'breast-ranges.npz');
    writeNpz(path, breast(), 'stored');
    const dataset: MedmnistDataset = await medmnist({ flag: 'breastmnist', file: path });
    await expect(dataset.size('valid')).rejects.toThrow('medmnist:breastmnist: no split "valid"; the splits are train, val, test');
    // An end past the split is clamped, like Array.slice; a negative start is an error.
    expect(await collect({ ...dataset, samples: (split) => dataset.samples(split, { start: 3, end: 99 }) }, 'val')).toHaveLength(1);
    await expect(collect({ ...dataset, samples: (split) => dataset.samples(split, { start: -1 }) }, 'val')).rejects.toThrow(
      'medmnist:breastmnist/val: start must be a non-negative integer, got -1',
    );
  });
});

it('keeps int64 labels (numpy default integers) working', async () => {
  const path = join(work, 'pneumonia-int64.npz');
  const arrays = syntheticArrays({ size: 28, channels: 1, counts: { train: 4, val: 2, test: 2 }, labelColumns: 1, label: (_s, row) => row % 2 });
  for (const split of SPLITS) {
    const labels = arrays[`${split}_labels`]!;
    arrays[`${split}_labels`] = createNdArray(
      'int64',
      labels.shape,
      BigInt64Array.from(labels.data as Uint8Array, (value) => BigInt(value)),
    );
  }
  writeNpz(path, arrays, 'deflated');
  const dataset = await medmnist({ flag: 'pneumoniamnist', file: path });
  expect((await collect(dataset, 'train')).map((sample) => sample.target)).toEqual([0, 1, 0, 1]);
});
