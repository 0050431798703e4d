// The Kermany folder layout, built in a temporary folder from the real PneumoniaMNIST images (written as
// JPEG and PNG files), never copied into the repository.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpzFile } from '@medssl/arrays/node';
import type { Dataset, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { haveSharedData, sharedData, sharedDataTitle } from '@medssl/test-data';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { pneumonia } from './pneumonia.js';

const npzPath = sharedData('medmnist', 'pneumoniamnist.npz');
const haveData = haveSharedData('pneumonia folder tests', 'medmnist/pneumoniamnist.npz');

const work = mkdtempSync(join(tmpdir(), 'medssl-pneumonia-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Rows taken from each PneumoniaMNIST split. */
const TAKE = { train: 200, val: 60, test: 100 } as const;
type Split = keyof typeof TAKE;
const CLASS_FOLDERS = ['NORMAL', 'PNEUMONIA'] as const;

interface Written {
  /** Relative path (the sample id) to the exact pixels, for the PNG files. */
  readonly pngPixels: Map<string, Uint8Array>;
  readonly counts: Record<Split, number>;
  readonly classCounts: Record<Split, { normal: number; pneumonia: number }>;
}

/** File names in the style of the release: IM-xxxx-0001.jpeg for normal, personN_bacteria_M.jpeg for pneumonia. */
function fileName(label: number, row: number): string {
  const extension = row % 11 === 5 ? '.png' : row % 7 === 3 ? '.jpg' : '.jpeg';
  return label === 0 ? `IM-${String(row).padStart(4, '0')}-0001${extension}` : `person${row}_bacteria_${row * 3}${extension}`;
}

async function writeLayout(root: string): Promise<Written> {
  const arrays = await readNpzFile(npzPath);
  const pngPixels = new Map<string, Uint8Array>();
  const counts = {} as Written['counts'];
  const classCounts = {} as Written['classCounts'];
  for (const split of Object.keys(TAKE) as Split[]) {
    for (const folder of CLASS_FOLDERS) mkdirSync(join(root, split, folder), { recursive: true });
    const images = arrays.get(`${split}_images`)!.data as Uint8Array;
    const labels = arrays.get(`${split}_labels`)!.data as Uint8Array;
    const perClass = { normal: 0, pneumonia: 0 };
    await Promise.all(
      Array.from({ length: TAKE[split] }, async (_, row) => {
        const label = labels[row]!;
        const pixels = images.subarray(row * 784, (row + 1) * 784);
        const name = fileName(label, row);
        const id = `${split}/${CLASS_FOLDERS[label]}/${name}`;
        const encoder = sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w');
        const bytes = name.endsWith('.png') ? await encoder.png().toBuffer() : await encoder.jpeg({ quality: 95 }).toBuffer();
        writeFileSync(join(root, id), bytes);
        if (name.endsWith('.png')) pngPixels.set(id, pixels.slice());
      }),
    );
    for (let row = 0; row < TAKE[split]; row++) perClass[labels[row] === 0 ? 'normal' : 'pneumonia']++;
    counts[split] = TAKE[split];
    classCounts[split] = perClass;
  }
  return { pngPixels, counts, classCounts };
}

async function collect(dataset: Dataset, split: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  return samples;
}

const kaggleRoot = join(work, 'kaggle');
const dataRoot = join(kaggleRoot, 'chest_xray');
const written = haveData ? await writeLayout(dataRoot) : undefined;
if (haveData) {
  // What the Kaggle archive also holds: Finder droppings, a macOS resource folder, a stray text file.
  writeFileSync(join(dataRoot, 'train', 'NORMAL', '.DS_Store'), 'Bud1');
  writeFileSync(join(dataRoot, 'test', 'notes.txt'), 'not an image');
  mkdirSync(join(dataRoot, '__MACOSX'));
}

describe.skipIf(!haveData)(sharedDataTitle('pneumonia (Kermany layout built from real PneumoniaMNIST images)', haveData), () => {
  it('takes the expected images per split and class, counted from the npz labels', () => {
    expect(written!.counts).toEqual({ train: 200, val: 60, test: 100 });
    const total = (split: Split) => written!.classCounts[split].normal + written!.classCounts[split].pneumonia;
    expect([total('train'), total('val'), total('test')]).toEqual([200, 60, 100]);
    expect(written!.classCounts.train.normal).toBeGreaterThan(0);
    expect(written!.classCounts.train.pneumonia).toBeGreaterThan(0);
  });

  describeDataset('pneumonia (Kaggle archive, chest_xray/ one level down)', () => pneumonia({ root: kaggleRoot }), {
    counts: written?.counts,
    classCounts: written?.classCounts,
  });

  it('gives relative paths as ids, the binary task with AUC, and exact pixels for PNG files', async () => {
    const dataset = await pneumonia({ root: kaggleRoot });
    expect(dataset.id).toBe('pneumonia');
    expect(dataset.task).toEqual({ type: 'binary', classes: ['normal', 'pneumonia'], primaryMetric: 'auc' });
    expect(dataset.version).toMatch(/^kermany2018-[0-9a-f]{16}$/);
    const train = await collect(dataset, 'train');
    expect(train[0]!.id).toMatch(/^train\/NORMAL\/IM-\d{4}-0001\.(jpeg|jpg|png)$/);
    expect(train.at(-1)!.id).toMatch(/^train\/PNEUMONIA\/person\d+_bacteria_\d+\./);
    expect(train[0]!.source).toBe(join(dataRoot, train[0]!.id));
    const ids = train.map((sample) => sample.id);
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(ids.map((id) => id.slice(id.lastIndexOf('.'))))).toEqual(new Set(['.jpeg', '.jpg', '.png']));

    let checked = 0;
    for (const sample of train) {
      const expected = written!.pngPixels.get(sample.id);
      if (expected === undefined) continue;
      const image = await sample.decode();
      expect({ width: image.width, height: image.height, channels: image.channels }).toEqual({ width: 28, height: 28, channels: 1 });
      expect(Buffer.from(image.data as Uint8Array).equals(expected)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('reports stray files and folders instead of ignoring them silently', async () => {
    const dataset = await pneumonia({ root: kaggleRoot });
    expect(dataset.issues!()).toEqual([
      { kind: 'note', file: join(dataRoot, '__MACOSX'), message: 'a folder that is not a split folder (train, val, test); not read' },
      { kind: 'skipped', file: join(dataRoot, 'train', 'NORMAL', '.DS_Store'), message: 'not an image (expected .jpeg, .jpg, .png); not read' },
      { kind: 'skipped', file: join(dataRoot, 'test', 'notes.txt'), message: 'a file that is not a class folder (NORMAL, PNEUMONIA); not read' },
    ]);
  });

  it('reads the layout directly under root too, with the same ids and version', async () => {
    const direct = await pneumonia({ root: dataRoot });
    const viaParent = await pneumonia({ root: kaggleRoot });
    expect(direct.version).toBe(viaParent.version);
    expect((await collect(direct, 'val')).map((sample) => sample.id)).toEqual((await collect(viaParent, 'val')).map((sample) => sample.id));
  });

  describe('bad input', () => {
    /** A copy of the layout to break. */
    function copy(name: string): string {
      const root = join(work, name);
      cpSync(dataRoot, root, { recursive: true });
      return root;
    }

    it('names a missing root', async () => {
      const missing = join(work, 'no-such-folder');
      await expect(pneumonia({ root: missing })).rejects.toThrow(`${missing}: folder not found`);
      const empty = join(work, 'empty');
      mkdirSync(empty);
      await expect(pneumonia({ root: empty })).rejects.toThrow(`${empty}: no train/, val/ or test/ folder here or in chest_xray/; the folder holds nothing`);
    });

    it('names a missing split folder, or skips it and says so', async () => {
      const root = copy('no-val');
      rmSync(join(root, 'val'), { recursive: true });
      await expect(pneumonia({ root })).rejects.toThrow(
        `${join(root, 'val')}: split folder val/ not found; ${root} holds __MACOSX, test, train (the Mendeley release has no val/: pass splits: ['train', 'test'])`,
      );
      const twoSplits = await pneumonia({ root, splits: ['train', 'test'] });
      expect(twoSplits.splits).toEqual(['train', 'test']);
      expect(await twoSplits.size('test')).toBe(100);
      const skipped = await pneumonia({ root, onError: 'skip' });
      expect(skipped.splits).toEqual(['train', 'test']);
      expect(skipped.issues!().filter((issue) => issue.kind === 'missing-file')).toEqual([
        expect.objectContaining({ kind: 'missing-file', file: join(root, 'val') }),
      ]);
      await expect(skipped.size('val')).rejects.toThrow('pneumonia: no split "val"; the splits are train, test');
    });

    it('names an empty class folder, or skips it and says so', async () => {
      const root = copy('empty-class');
      rmSync(join(root, 'val', 'PNEUMONIA'), { recursive: true });
      mkdirSync(join(root, 'val', 'PNEUMONIA'));
      await expect(pneumonia({ root })).rejects.toThrow(`${join(root, 'val', 'PNEUMONIA')}: class folder val/PNEUMONIA/ holds no images`);
      const skipped = await pneumonia({ root, onError: 'skip' });
      expect(await skipped.size('val')).toBe(written!.classCounts.val.normal);
      expect(skipped.issues!()).toContainEqual({ kind: 'note', file: join(root, 'val', 'PNEUMONIA'), message: 'class folder val/PNEUMONIA/ holds no images' });
    });

    it('names a missing class folder', async () => {
      const root = copy('missing-class');
      rmSync(join(root, 'test', 'NORMAL'), { recursive: true });
      await expect(pneumonia({ root })).rejects.toThrow(`${join(root, 'test', 'NORMAL')}: class folder test/NORMAL/ not found`);
    });

    it('rejects decoding a truncated JPEG, naming the file', async () => {
      const root = copy('truncated');
      const dataset = await pneumonia({ root });
      const victim = (await collect(dataset, 'test')).find((sample) => sample.id.endsWith('.jpeg'))!;
      const bytes = readFileSync(victim.source!);
      writeFileSync(victim.source!, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expect(victim.decode()).rejects.toThrow(`${victim.source}: cannot decode image`);
    });

    it('reports a stray non-image file in a class folder, and an image that is not one fails on decode', async () => {
      const root = copy('stray');
      writeFileSync(join(root, 'train', 'PNEUMONIA', 'readme.txt'), 'hello');
      writeFileSync(join(root, 'train', 'PNEUMONIA', 'person9999_virus_1.jpeg'), 'not a jpeg at all');
      const dataset = await pneumonia({ root });
      expect(await dataset.size('train')).toBe(201);
      expect(dataset.issues!()).toContainEqual({
        kind: 'skipped',
        file: join(root, 'train', 'PNEUMONIA', 'readme.txt'),
        message: 'not an image (expected .jpeg, .jpg, .png); not read',
      });
      const impostor = (await collect(dataset, 'train')).find((sample) => sample.id === 'train/PNEUMONIA/person9999_virus_1.jpeg')!;
      await expect(impostor.decode()).rejects.toThrow(`${join(root, 'train', 'PNEUMONIA', 'person9999_virus_1.jpeg')}: cannot decode image`);
    });
  });
});
