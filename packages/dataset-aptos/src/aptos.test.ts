/**
 * APTOS on RetinaMNIST (MedMNIST v2, 1,600 real fundus images 28x28x3, grades 0..4) laid out as Kaggle's
 * APTOS 2019 folder in a temporary directory; expected split sizes are computed here from the label counts
 * and the documented rounding rule. Bad input uses small synthetic layouts.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetLayoutError } from '@medssl/core';
import { decodeImage } from '@medssl/core/node';
import { readNpzFile } from '@medssl/arrays/node';
import type { Dataset, RawImage, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { APTOS_CLASSES, aptos, aptosInfo, cropBlackBorder, SPLIT_FORMAT, type SplitRecord } from './index.js';

const retinaPath = sharedData('medmnist', 'retinamnist.npz');

const temporaryFolders: string[] = [];
function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), `medssl-aptos-${prefix}-`));
  temporaryFolders.push(folder);
  return folder;
}
afterAll(() => {
  for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
});

function once<T>(make: () => T): () => T {
  let value: { made: T } | undefined;
  return () => (value ??= { made: make() }).made;
}

async function collect(dataset: Dataset, split: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  return samples;
}

async function idsBySplit(dataset: Dataset): Promise<Record<string, string[]>> {
  const ids: Record<string, string[]> = {};
  for (const split of dataset.splits) ids[split] = (await collect(dataset, split)).map((sample) => sample.id);
  return ids;
}

// ---------------------------------------------------------------------------------------------------
// RetinaMNIST as APTOS: all 1,600 images (train, then val, then test of the npz) as retina_0001.png ...

interface RetinaLayout {
  readonly root: string;
  readonly grades: readonly number[];
}

const retinaLayout = once(async (): Promise<RetinaLayout> => {
  const arrays = await readNpzFile(retinaPath);
  const root = temporaryFolder('retina');
  mkdirSync(join(root, 'train_images'));
  const grades: number[] = [];
  const lines = ['id_code,diagnosis'];
  const writes: Promise<unknown>[] = [];
  for (const part of ['train', 'val', 'test']) {
    const images = arrays.get(`${part}_images`)!;
    const labels = arrays.get(`${part}_labels`)!;
    expect(images.dtype).toBe('uint8');
    expect(images.shape.slice(1)).toEqual([28, 28, 3]);
    const pixels = images.data as Uint8Array;
    for (let index = 0; index < images.shape[0]!; index++) {
      const id = `retina_${String(grades.length + 1).padStart(4, '0')}`;
      const grade = Number(labels.data[index]);
      grades.push(grade);
      lines.push(`${id},${grade}`);
      const raw = pixels.subarray(index * 28 * 28 * 3, (index + 1) * 28 * 28 * 3);
      writes.push(
        sharp(raw, { raw: { width: 28, height: 28, channels: 3 } })
          .png()
          .toFile(join(root, 'train_images', `${id}.png`)),
      );
    }
  }
  await Promise.all(writes);
  writeFileSync(join(root, 'train.csv'), `${lines.join('\n')}\n`);
  return { root, grades };
});

/** A second root sharing the images (a link) and a copy of train.csv, without any saved split. */
async function freshRoot(): Promise<string> {
  const { root } = await retinaLayout();
  const fresh = temporaryFolder('fresh');
  symlinkSync(join(root, 'train_images'), join(fresh, 'train_images'));
  copyFileSync(join(root, 'train.csv'), join(fresh, 'train.csv'));
  return fresh;
}

/** The documented rule, restated: per grade, test = round(n * 0.2), val = round(n * 0.1), train the rest. */
function expectedSplit(grades: readonly number[]) {
  const perGrade = APTOS_CLASSES.map((_, grade) => grades.filter((value) => value === grade).length);
  const counts = { train: 0, val: 0, test: 0 };
  const classCounts: Record<string, Record<string, number>> = { train: {}, val: {}, test: {} };
  perGrade.forEach((count, grade) => {
    const test = Math.round(count * 0.2);
    const val = Math.round(count * 0.1);
    const sizes = { train: count - test - val, val, test };
    for (const split of ['train', 'val', 'test'] as const) {
      counts[split] += sizes[split];
      classCounts[split]![APTOS_CLASSES[grade]!] = sizes[split];
    }
  });
  return { perGrade, counts, classCounts };
}

describeWithSharedData('aptos on RetinaMNIST laid out as APTOS 2019', ['medmnist/retinamnist.npz'], () => {
  const expected = once(async () => expectedSplit((await retinaLayout()).grades));
  const dataset = once(async () => aptos({ root: (await retinaLayout()).root }));

  it('has the label counts these tests rely on', async () => {
    const { perGrade, counts } = await expected();
    expect(perGrade.reduce((a, b) => a + b, 0)).toBe(1600);
    expect(perGrade.every((count) => count > 0)).toBe(true);
    expect(counts.train + counts.val + counts.test).toBe(1600);
    // What the rule gives on RetinaMNIST's grades (714 / 186 / 326 / 282 / 92), pinned.
    expect(perGrade).toEqual([714, 186, 326, 282, 92]);
    expect(counts).toEqual({ train: 1121, val: 160, test: 319 });
  });

  // The expectations are read when the checks run, after the layout exists.
  let expectations: Awaited<ReturnType<typeof expected>> | undefined;
  describeDataset(
    'aptos',
    async () => {
      expectations = await expected();
      return dataset();
    },
    {
      get counts() {
        return expectations?.counts;
      },
      get classCounts() {
        return expectations?.classCounts;
      },
    },
  );

  it('counts exactly per split and grade (independently of the conformance suite)', async () => {
    const { counts, classCounts } = await expected();
    const ready = await dataset();
    expect(ready.task).toEqual({ type: 'multiclass', classes: APTOS_CLASSES, ordinal: true, primaryMetric: 'kappa' });
    const { grades, root } = await retinaLayout();
    for (const split of ready.splits) {
      const samples = await collect(ready, split);
      expect(samples.length).toBe(counts[split as keyof typeof counts]);
      const perGrade = Object.fromEntries(APTOS_CLASSES.map((name) => [name, 0]));
      for (const sample of samples) {
        expect(sample.target).toBe(grades[Number(sample.id.slice('retina_'.length)) - 1]);
        expect(sample.source).toBe(join(root, 'train_images', `${sample.id}.png`));
        expect(sample.group).toBeUndefined();
        perGrade[APTOS_CLASSES[sample.target as number]!]!++;
      }
      expect(perGrade).toEqual(classCounts[split]);
      expect(samples.map((sample) => sample.id)).toEqual(samples.map((sample) => sample.id).sort());
    }
    expect(ready.issues!()).toEqual([]);
    expect(ready.version).toMatch(/^aptos2019;split=stratified-0\.7\/0\.1\/0\.2;seed=0;crop=none;samples=[0-9a-f]{16}$/);
    const [sample] = await collect(ready, 'test');
    const image = await sample!.decode();
    expect([image.width, image.height, image.channels]).toEqual([28, 28, 3]);
    // The file's bytes, for decoding in a worker thread: the same pixels.
    expect(await decodeImage(await sample!.encoded!(), sample!.source!)).toEqual(image);
  });

  it('draws the same split in two factory calls on fresh folders, writes nothing under the data, and saves it where asked', async () => {
    const firstRoot = await freshRoot();
    const before = readdirSync(firstRoot).sort();
    const first = await aptos({ root: firstRoot });
    // The data folder is read-only to medssl: the split is drawn in memory.
    expect(readdirSync(firstRoot).sort()).toEqual(before);
    const secondRoot = await freshRoot();
    const splitFile = join(temporaryFolder('split'), 'aptos-split.json');
    const second = await aptos({ root: secondRoot, splitFile });
    expect(await idsBySplit(second)).toEqual(await idsBySplit(first));
    expect(second.version).toBe(first.version);
    const saved = JSON.parse(readFileSync(splitFile, 'utf8')) as SplitRecord;
    expect(saved.format).toBe(SPLIT_FORMAT);
    expect(saved.seed).toBe(0);
    expect(saved.fractions).toEqual({ train: 0.7, val: 0.1, test: 0.2 });
    expect(saved.splits).toEqual(await idsBySplit(first));
    const reseeded = await aptos({ root: secondRoot, seed: 3 });
    expect(existsSync(join(secondRoot, 'medssl-aptos-split-seed3.json'))).toBe(false);
    expect(reseeded.version).not.toBe(first.version);
    expect((await idsBySplit(reseeded)).test).not.toEqual((await idsBySplit(first)).test);
    for (const split of first.splits) expect(await reseeded.size(split)).toBe(await first.size(split));
  });

  it('reuses the saved split file as it is, and refuses one that does not match the csv', async () => {
    const root = await freshRoot();
    // Saved at the default location on purpose (as earlier versions did by themselves): reused from there.
    const path = join(root, 'medssl-aptos-split-seed0.json');
    const original = await idsBySplit(await aptos({ root, splitFile: path }));
    const saved = JSON.parse(readFileSync(path, 'utf8')) as SplitRecord;
    // Move one id from train to test by hand: a reused file is followed exactly.
    const moved = saved.splits.train[0]!;
    writeFileSync(path, JSON.stringify({ ...saved, splits: { ...saved.splits, train: saved.splits.train.slice(1), test: [...saved.splits.test, moved] } }));
    const reused = await aptos({ root });
    expect(await reused.size('train')).toBe(original.train!.length - 1);
    expect((await idsBySplit(reused)).test).toContain(moved);

    writeFileSync(path, JSON.stringify({ ...saved, splits: { ...saved.splits, train: saved.splits.train.slice(1) } }));
    await expect(aptos({ root })).rejects.toThrow(
      `${path}: the saved split does not match the labelled images: 1 id (${moved}) of ${join(root, 'train.csv')} is not in it; delete ${path}`,
    );
    writeFileSync(path, JSON.stringify({ ...saved, splits: { ...saved.splits, val: [...saved.splits.val, 'retina_9999'] } }));
    await expect(aptos({ root })).rejects.toThrow(/1 id \(retina_9999\) in it is not among the usable rows/);
    writeFileSync(path, JSON.stringify({ ...saved, splits: { ...saved.splits, val: [...saved.splits.val, moved] } }));
    await expect(aptos({ root })).rejects.toThrow(`${path}: splits.val: id ${moved} is in both train and val`);
    writeFileSync(path, '{"format": "medssl.aptos-split/v1", "seed": ');
    await expect(aptos({ root })).rejects.toThrow(`${path}: cannot read the saved APTOS split`);

    const elsewhere = join(temporaryFolder('split'), 'split.json');
    writeFileSync(elsewhere, JSON.stringify(saved));
    await expect(aptos({ root, splitFile: elsewhere, seed: 1 })).rejects.toThrow(`${elsewhere}: drawn with seed 0, but the options ask for seed 1`);
    await expect(aptos({ root, splitFile: elsewhere, fractions: { train: 0.8, val: 0.1, test: 0.1 } })).rejects.toThrow(`${elsewhere}: drawn with fractions`);
    expect(await idsBySplit(await aptos({ root, splitFile: elsewhere }))).toEqual(original);
    await expect(aptos({ root, splitFile: join(root, 'no-such-folder', 'split.json') })).rejects.toThrow(
      /no-such-folder\/split\.json: cannot save the APTOS split \(ENOENT\)/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The black-border crop.

/** 40x30 RGB: black (values up to 6) around a box of rows 6..23 and columns 9..30 that holds a fundus-like gradient. */
function borderedImage(): RawImage {
  const width = 40;
  const height = 30;
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const offset = (row * width + column) * 3;
      const inside = row >= 6 && row <= 23 && column >= 9 && column <= 30;
      data[offset] = inside ? 100 + row : (row + column) % 7;
      data[offset + 1] = inside ? 40 + column : 6;
      data[offset + 2] = inside ? 20 : (row * column) % 7;
    }
  }
  // A dark pixel inside the box: the box is a bounding box, not a mask.
  data.fill(0, (12 * width + 15) * 3, (12 * width + 16) * 3);
  return { data, width, height, channels: 3 };
}

describe('cropBlackBorder', () => {
  it('crops to the bright box exactly', () => {
    const image = borderedImage();
    const cropped = cropBlackBorder(image);
    expect([cropped.width, cropped.height, cropped.channels]).toEqual([22, 18, 3]);
    for (let row = 0; row < 18; row++) {
      const source = ((row + 6) * 40 + 9) * 3;
      expect(Array.from(cropped.data.subarray(row * 22 * 3, (row + 1) * 22 * 3))).toEqual(Array.from(image.data.subarray(source, source + 22 * 3)));
    }
  });

  it('ignores specks below the share of bright pixels, and keeps an all-dark image whole', () => {
    const image = borderedImage();
    image.data.fill(255, (1 * 40 + 1) * 3, (1 * 40 + 2) * 3); // one bright speck in the border
    expect([cropBlackBorder(image).width, cropBlackBorder(image).height]).toEqual([30, 23]); // 1 pixel of 40 is enough at 1 %
    const robust = cropBlackBorder(image, { minimumBrightFraction: 0.1 });
    expect([robust.width, robust.height]).toEqual([22, 18]);
    const dark: RawImage = { data: new Uint8Array(10 * 10 * 3).fill(7), width: 10, height: 10, channels: 3 };
    expect(cropBlackBorder(dark)).toBe(dark);
  });

  it('handles grey, RGBA and 16-bit images', () => {
    const grey: RawImage = { data: new Uint8Array(5 * 4), width: 5, height: 4, channels: 1 };
    grey.data[1 * 5 + 2] = 8;
    expect(cropBlackBorder(grey)).toEqual({ data: Uint8Array.from([8]), width: 1, height: 1, channels: 1 });
    const rgba: RawImage = { data: new Uint8Array(3 * 3 * 4).fill(255), width: 3, height: 3, channels: 4 };
    for (let pixel = 0; pixel < 9; pixel++) if (pixel !== 4) rgba.data.fill(0, pixel * 4, pixel * 4 + 3); // black but opaque
    expect(cropBlackBorder(rgba)).toMatchObject({ width: 1, height: 1, channels: 4 });
    const deep: RawImage = { data: Uint16Array.from([0, 7 * 257, 0, 8 * 257]), width: 2, height: 2, channels: 1 };
    expect(cropBlackBorder(deep)).toEqual({ data: Uint16Array.from([8 * 257]), width: 1, height: 1, channels: 1 });
    expect(() => cropBlackBorder(grey, { threshold: 300 })).toThrow('cropBlackBorder.threshold must be a number in [0, 255), got 300');
  });
});

// ---------------------------------------------------------------------------------------------------
// Small synthetic layouts: the crop inside decode(), and bad input.

interface SmallLayout {
  readonly csv?: string | null;
  readonly images?: Readonly<Record<string, Buffer>>;
}

const smallPng = once(() =>
  sharp(Buffer.alloc(8 * 8 * 3, 90), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer(),
);
const SMALL_IDS = Array.from({ length: 10 }, (_, index) => `img${index}`);
const SMALL_CSV = `id_code,diagnosis\n${SMALL_IDS.map((id, index) => `${id},${index % 5}`).join('\n')}\n`;

async function smallLayout(layout: SmallLayout = {}): Promise<string> {
  const root = temporaryFolder('small');
  if (layout.csv !== null) writeFileSync(join(root, 'train.csv'), layout.csv ?? SMALL_CSV);
  mkdirSync(join(root, 'train_images'));
  const png = await smallPng();
  for (const [name, bytes] of Object.entries(layout.images ?? Object.fromEntries(SMALL_IDS.map((id) => [`${id}.png`, png])))) {
    writeFileSync(join(root, 'train_images', name), bytes);
  }
  return root;
}

describe('aptos on small layouts', () => {
  it('describes itself for `medssl datasets list`', () => {
    expect(aptosInfo.id).toBe('aptos');
    expect(aptosInfo.layout).toContain('train_images/<id_code>.png');
  });

  it('crops the black border inside decode() when asked, and says so in its version', async () => {
    const image = borderedImage();
    const bordered = await sharp(image.data, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toBuffer();
    const root = await smallLayout({ images: { ...Object.fromEntries(SMALL_IDS.map((id) => [`${id}.png`, bordered])) } });
    const plain = await aptos({ root });
    const cropped = await aptos({ root, cropBlackBorder: true });
    const strict = await aptos({ root, cropBlackBorder: { threshold: 30 } });
    const [plainSample] = await collect(plain, 'train');
    const [croppedSample] = await collect(cropped, 'train');
    expect(await plainSample!.decode()).toMatchObject({ width: 40, height: 30 });
    const decoded = await croppedSample!.decode();
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([22, 18, 3]);
    // Cropped after decoding: the file's bytes alone would not give these pixels, so they are not offered.
    expect(plainSample!.encoded).toBeDefined();
    expect(croppedSample!.encoded).toBeUndefined();
    expect(plain.version).toContain(';crop=none;');
    expect(cropped.version).toContain(';crop=black-border(grey>7,share>=0.01);');
    expect(strict.version).toContain(';crop=black-border(grey>30,share>=0.01);');
    expect(new Set([plain.version, cropped.version, strict.version]).size).toBe(3);
  });

  it('refuses a missing root, train.csv or image folder, naming it', async () => {
    await expect(aptos({ root: join(tmpdir(), 'no-such-aptos-folder') })).rejects.toThrow(/no-such-aptos-folder: APTOS folder not found/);
    const noCsv = await smallLayout({ csv: null });
    await expect(aptos({ root: noCsv })).rejects.toThrow(`${join(noCsv, 'train.csv')}: cannot read the APTOS label file (ENOENT)`);
    const noImages = await smallLayout();
    rmSync(join(noImages, 'train_images'), { recursive: true });
    await expect(aptos({ root: noImages })).rejects.toThrow(`${join(noImages, 'train_images')}: cannot list the APTOS image folder (ENOENT)`);
  });

  it('refuses a csv without the diagnosis column, naming the file and the column', async () => {
    const root = await smallLayout({ csv: SMALL_CSV.replace('id_code,diagnosis', 'id_code,level') });
    await expect(aptos({ root })).rejects.toThrow(`${join(root, 'train.csv')}: missing column "diagnosis"; the header has "id_code", "level"`);
  });

  it('refuses diagnosis 7 naming the row, or skips and reports it', async () => {
    const root = await smallLayout({ csv: SMALL_CSV.replace('img3,3', 'img3,7') });
    const csv = join(root, 'train.csv');
    await expect(aptos({ root })).rejects.toThrow(`${csv}: line 5 (id_code img3): diagnosis "7" is not a grade 0..4`);
    const dataset = await aptos({ root, onError: 'skip' });
    expect(dataset.issues!()).toEqual([{ kind: 'skipped', message: `${csv}: line 5 (id_code img3): diagnosis "7" is not a grade 0..4`, file: csv, row: 5 }]);
    let total = 0;
    for (const split of dataset.splits) total += await dataset.size(split);
    expect(total).toBe(9);
    expect((await Promise.all(dataset.splits.map((split) => collect(dataset, split)))).flat().map((sample) => sample.id)).not.toContain('img3');
  });

  it('refuses a listed image missing from train_images, or skips and reports it', async () => {
    const png = await smallPng();
    const root = await smallLayout({ images: Object.fromEntries(SMALL_IDS.filter((id) => id !== 'img6').map((id) => [`${id}.png`, png])) });
    const missing = join(root, 'train_images', 'img6.png');
    await expect(aptos({ root })).rejects.toThrow(`${missing}: image not found (train.csv line 8)`);
    const dataset = await aptos({ root, onError: 'skip' });
    expect(dataset.issues!()).toEqual([{ kind: 'missing-file', message: `${missing}: image not found (train.csv line 8)`, file: missing, row: 8 }]);
  });

  it('reports images that train.csv does not list, and refuses a repeated id_code', async () => {
    const png = await smallPng();
    const root = await smallLayout({ images: { ...Object.fromEntries(SMALL_IDS.map((id) => [`${id}.png`, png])), 'extra.png': png } });
    expect((await aptos({ root })).issues!()).toEqual([
      {
        kind: 'missing-label',
        message: `${join(root, 'train_images')}: 1 file (extra.png) not listed in ${join(root, 'train.csv')}; skipped`,
        file: join(root, 'train_images'),
      },
    ]);
    const repeated = await smallLayout({ csv: `${SMALL_CSV}img2,4\n` });
    await expect(aptos({ root: repeated })).rejects.toThrow(
      `${join(repeated, 'train.csv')}: line 12 (id_code img2): id_code img2 is listed again (first at line 4)`,
    );
  });

  it('rejects a truncated PNG on decode, naming the file', async () => {
    const png = await smallPng();
    const root = await smallLayout({
      images: { ...Object.fromEntries(SMALL_IDS.map((id) => [`${id}.png`, png])), 'img4.png': png.subarray(0, png.length - 30) },
    });
    const dataset = await aptos({ root });
    const samples = (await Promise.all(dataset.splits.map((split) => collect(dataset, split)))).flat();
    for (const sample of samples) {
      if (sample.id === 'img4') await expect(sample.decode()).rejects.toThrow(`${join(root, 'train_images', 'img4.png')}: cannot decode image`);
      else await expect(sample.decode()).resolves.toMatchObject({ width: 8, height: 8, channels: 3 });
    }
  });

  it('refuses bad options and unknown splits', async () => {
    const root = await smallLayout();
    await expect(aptos({ root, seed: 1.5 })).rejects.toThrow(/seed must be a non-negative integer, got 1\.5/);
    await expect(aptos({ root, fractions: { train: 0.7, val: 0.2, test: 0.2 } })).rejects.toThrow(/fractions must add up to 1, got 0\.7 \+ 0\.2 \+ 0\.2/);
    await expect(aptos({ root, cropBlackBorder: { minimumBrightFraction: 2 } })).rejects.toThrow(/minimumBrightFraction must be a number in \[0, 1\], got 2/);
    const dataset = await aptos({ root });
    await expect(dataset.size('holdout')).rejects.toThrow('aptos: unknown split "holdout"; splits are train, val, test');
  });
});

describe('aptos on a hostile train.csv', () => {
  it('cuts a megabyte id it echoes, and throws a DatasetLayoutError naming the file and line', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-aptos-hostile-'));
    const long = 'q'.repeat(1_000_000);
    writeFileSync(join(root, 'train.csv'), `id_code,diagnosis\n${long},7\n`);
    mkdirSync(join(root, 'train_images'));
    const error = await aptos({ root }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(DatasetLayoutError);
    expect((error as DatasetLayoutError).file).toBe(join(root, 'train.csv'));
    expect((error as DatasetLayoutError).key).toBe('line 2');
    expect((error as Error).message).toMatch(/train\.csv: line 2 \(id_code q{80}… \(999920 more characters\)\): diagnosis "7" is not a grade 0\.\.4$/);
  });
});
