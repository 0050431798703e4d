// Folder and CSV layouts built in a temporary folder from the real PCam patches and ChestX-ray14 images
// (never copied into the repository).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCsv } from '@medssl/core';
import type { Dataset, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { haveSharedData, sharedData, sharedDataTitle } from '@medssl/test-data';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { folder } from './folder.js';

const pcamFolder = sharedData('pcam');
const chestFolder = sharedData('chestxray14');
const havePcam = haveSharedData('PCam folder tests', 'pcam/labels.csv');
const haveChest = haveSharedData('ChestX-ray14 CSV tests', 'chestxray14/Data_Entry_2017_v2020.csv.gz');

const work = mkdtempSync(join(tmpdir(), 'medssl-folder-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function collect(dataset: Dataset, split: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  return samples;
}

/** PCam's labels.csv: rows of path, split (train/valid/test), label (0/1). */
const pcamRows = havePcam
  ? parseCsv(readFileSync(join(pcamFolder, 'labels.csv'), 'utf8'), 'labels.csv').rows.map(([path, split, label]) => ({
      path: path!,
      split: split!,
      label: label!,
    }))
  : [];
const CLASS_NAMES: Record<string, string> = { 0: 'normal', 1: 'tumour' };

/** Counts per split (valid named val) and class name, from labels.csv. */
function pcamCounts(names: Record<string, string>) {
  const counts: Record<string, number> = {};
  const classCounts: Record<string, Record<string, number>> = {};
  for (const row of pcamRows) {
    const split = row.split === 'valid' ? 'val' : row.split;
    counts[split] = (counts[split] ?? 0) + 1;
    classCounts[split] ??= {};
    classCounts[split][names[row.label]!] = (classCounts[split][names[row.label]!] ?? 0) + 1;
  }
  return { counts, classCounts };
}

/** `<root>/{train,valid,test}/{normal,tumour}/*.jpg` from PCam's `data/<split>/<0|1>/`. */
function pcamSplitTree(root: string): void {
  for (const row of pcamRows) {
    const target = join(root, row.split, CLASS_NAMES[row.label]!, row.path.split('/').at(-1)!);
    mkdirSync(join(target, '..'), { recursive: true });
    cpSync(join(pcamFolder, row.path), target);
  }
}

describe.skipIf(!havePcam)(sharedDataTitle('class folders (PCam patches)', havePcam), () => {
  const splitRoot = join(work, 'pcam-split');
  const flatRoot = join(work, 'pcam-flat');
  if (havePcam) {
    pcamSplitTree(splitRoot);
    // The same images without split folders: every patch under its class.
    for (const split of ['train', 'valid', 'test']) {
      for (const name of ['normal', 'tumour']) {
        mkdirSync(join(flatRoot, name), { recursive: true });
        for (const file of readdirSync(join(splitRoot, split, name))) cpSync(join(splitRoot, split, name, file), join(flatRoot, name, `${split}-${file}`));
      }
    }
  }
  const expected = pcamCounts(CLASS_NAMES);

  it('has the PCam sample sizes, counted from labels.csv', () => {
    expect(expected).toEqual({
      counts: { test: 100, train: 300, val: 100 },
      classCounts: { test: { normal: 50, tumour: 50 }, train: { normal: 150, tumour: 150 }, val: { normal: 50, tumour: 50 } },
    });
  });

  describeDataset('folder (train/valid/test class folders)', () => folder({ root: splitRoot, classes: ['normal', 'tumour'] }), expected);

  it('reads split folders (valid as val), ids as relative paths, and states the task', async () => {
    const dataset = await folder({ root: splitRoot, classes: ['normal', 'tumour'] });
    expect(dataset.id).toBe('folder');
    expect(dataset.splits).toEqual(['train', 'val', 'test']);
    expect(dataset.task).toEqual({ type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' });
    const val = await collect(dataset, 'val');
    expect(val[0]!.id).toMatch(/^valid\/normal\/patch\d+\.jpg$/);
    expect(val[0]!.source).toBe(join(splitRoot, val[0]!.id));
    expect(await val[0]!.decode()).toMatchObject({ width: 96, height: 96, channels: 3 });
    expect(dataset.issues!()).toEqual([]);
  });

  const flatCounts = { train: 350, val: 50, test: 100 };
  describeDataset('folder (class folders, seeded stratified split)', () => folder({ root: flatRoot }), {
    counts: flatCounts,
    classCounts: { train: { normal: 175, tumour: 175 }, val: { normal: 25, tumour: 25 }, test: { normal: 50, tumour: 50 } },
  });

  it('says that it made the split, and makes the same split for the same seed only', async () => {
    const dataset = await folder({ root: flatRoot });
    expect(dataset.task).toEqual({ type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' });
    expect(dataset.issues!()).toEqual([
      { kind: 'note', file: flatRoot, message: 'classes inferred and sorted: normal, tumour (binary: the positive class is tumour; pass classes to choose)' },
      {
        kind: 'note',
        file: flatRoot,
        message: 'no split folders: made a seeded stratified split (seed 0; train 0.7, val 0.1, test 0.2): train 350, val 50, test 100',
      },
    ]);
    const again = await folder({ root: flatRoot });
    const otherSeed = await folder({ root: flatRoot, seed: 1 });
    const ids = async (set: Dataset) => (await collect(set, 'test')).map((sample) => sample.id).join('\n');
    expect(await ids(again)).toBe(await ids(dataset));
    expect(again.version).toBe(dataset.version);
    expect(await ids(otherSeed)).not.toBe(await ids(dataset));
    expect(otherSeed.version).not.toBe(dataset.version);

    const custom = await folder({ root: flatRoot, fractions: { train: 0.5, val: 0, test: 0.5 } });
    expect(custom.splits).toEqual(['train', 'test']);
    expect([await custom.size('train'), await custom.size('test')]).toEqual([250, 250]);
  });

  it('changes the version when the data changes', async () => {
    const root = join(work, 'pcam-changed');
    cpSync(flatRoot, root, { recursive: true });
    const before = await folder({ root });
    const [first] = readdirSync(join(root, 'normal'));
    renameSync(join(root, 'normal', first!), join(root, 'tumour', first!));
    const relabelled = await folder({ root });
    rmSync(join(root, 'tumour', first!));
    const removed = await folder({ root });
    expect(new Set([before.version, relabelled.version, removed.version]).size).toBe(3);
    expect(before.version).toBe((await folder({ root: flatRoot })).version);
  });

  it('infers multiclass tasks, orders integer class names numerically, and honours ordinal and the metric', async () => {
    const root = join(work, 'grades');
    const source = readdirSync(join(flatRoot, 'normal')).slice(0, 33);
    for (const [index, file] of source.entries()) {
      const grade = String([0, 2, 10][index % 3]);
      mkdirSync(join(root, grade), { recursive: true });
      cpSync(join(flatRoot, 'normal', file), join(root, grade, file));
    }
    const inferred = await folder({ root });
    expect(inferred.task).toEqual({ type: 'multiclass', classes: ['0', '2', '10'], ordinal: false, primaryMetric: 'accuracy' });
    const ordinal = await folder({ root, ordinal: true });
    expect(ordinal.task).toEqual({ type: 'multiclass', classes: ['0', '2', '10'], ordinal: true, primaryMetric: 'kappa' });
    const chosen = await folder({ root, classes: ['10', '2', '0'], primaryMetric: 'balanced_accuracy' });
    expect(chosen.task).toEqual({ type: 'multiclass', classes: ['10', '2', '0'], ordinal: false, primaryMetric: 'balanced_accuracy' });
    expect(new Set([inferred.version, chosen.version]).size).toBe(2);
  });

  it('reads TIFF and PNG files and nested folders inside a class folder', async () => {
    const root = join(work, 'formats');
    const [file] = readdirSync(join(flatRoot, 'tumour'));
    const image = sharp(join(flatRoot, 'tumour', file!));
    mkdirSync(join(root, 'tumour', 'slide-7'), { recursive: true });
    mkdirSync(join(root, 'normal'), { recursive: true });
    await image
      .clone()
      .tiff()
      .toFile(join(root, 'tumour', 'slide-7', 'patch.tif'));
    await image
      .clone()
      .png()
      .toFile(join(root, 'normal', 'patch.PNG'));
    const dataset = await folder({ root, fractions: { train: 0.5, val: 0, test: 0.5 } });
    const all = [...(await collect(dataset, 'train')), ...(await collect(dataset, 'test'))];
    expect(all.map((sample) => sample.id).sort()).toEqual(['normal/patch.PNG', 'tumour/slide-7/patch.tif']);
    for (const sample of all) expect(await sample.decode()).toMatchObject({ width: 96, height: 96, channels: 3 });
  });
});

describe.skipIf(!havePcam)(sharedDataTitle('CSV manifest (PCam labels.csv as published)', havePcam), () => {
  const csv = join(pcamFolder, 'labels.csv');
  const expected = pcamCounts({ 0: '0', 1: '1' });

  describeDataset('folder (PCam labels.csv)', () => folder({ csv, splitColumn: 'split' }), expected);

  it('takes paths relative to the CSV, the split column (valid as val) and the labels', async () => {
    const dataset = await folder({ csv, splitColumn: 'split' });
    expect(dataset.task).toEqual({ type: 'binary', classes: ['0', '1'], primaryMetric: 'auc' });
    const [first] = await collect(dataset, 'test');
    expect(first).toMatchObject({ id: 'data/test/0/patch0000000.jpg', target: 0, source: join(pcamFolder, 'data/test/0/patch0000000.jpg') });
  });
});

/** ChestX-ray14 findings (the 14 labels); `No Finding` is none of them. */
const FINDINGS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
];

describe.skipIf(!haveChest)(sharedDataTitle('multilabel CSV (ChestX-ray14 images and NIH labels)', haveChest), () => {
  const images = join(chestFolder, 'images');
  const csvFolder = join(work, 'chest');
  mkdirSync(csvFolder, { recursive: true });
  const present = haveChest ? new Set(readdirSync(images)) : new Set<string>();
  const entries = haveChest
    ? parseCsv(gunzipSync(readFileSync(join(chestFolder, 'Data_Entry_2017_v2020.csv.gz'))).toString('utf8'), 'Data_Entry_2017_v2020.csv').rows.filter((row) =>
        present.has(row[0]!),
      )
    : [];
  // Patients 0 mod 5 go to test, 1 mod 5 to val, the rest to train: a patient-wise split made here.
  const splitOf = (patient: string) => (['test', 'val'][Number(patient) % 5] ?? 'train') as 'train' | 'val' | 'test';
  const lines = entries.map((row) => {
    const findings = row[1]!.split('|');
    const flags = FINDINGS.map((finding) => (findings.includes(finding) ? '1' : '0'));
    return [relative(csvFolder, join(images, row[0]!)), ...flags, splitOf(row[3]!), row[3]!].join(',');
  });
  writeFileSync(join(csvFolder, 'labels.csv'), `${[['image', ...FINDINGS, 'fold', 'patient'].join(','), ...lines].join('\n')}\n`);
  writeFileSync(join(csvFolder, 'labels-unsplit.csv'), [['image', ...FINDINGS, 'fold', 'patient'].join(','), ...lines].join('\r\n'));

  const counts: Record<string, number> = {};
  const positives: Record<string, Record<string, number>> = {};
  for (const row of entries) {
    const split = splitOf(row[3]!);
    counts[split] = (counts[split] ?? 0) + 1;
    positives[split] ??= Object.fromEntries(FINDINGS.map((finding) => [finding, 0]));
    for (const finding of row[1]!.split('|')) if (finding !== 'No Finding') positives[split][finding]!++;
  }

  it('holds the 250 sample images, all found in the NIH table', () => {
    expect(entries).toHaveLength(250);
    expect(counts.train! + counts.val! + counts.test!).toBe(250);
  });

  const options = { csv: join(csvFolder, 'labels.csv'), pathColumn: 'image', labelColumns: FINDINGS, splitColumn: 'fold', groupColumn: 'patient' };
  describeDataset('folder (multilabel CSV with a patient-wise split)', () => folder(options), { counts, classCounts: positives });

  it('gives 0/1 flags, patient groups and the multilabel task', async () => {
    const dataset = await folder(options);
    expect(dataset.task).toEqual({ type: 'multilabel', labels: FINDINGS, primaryMetric: 'mean_auc' });
    const first = (await collect(dataset, 'train'))[0]!;
    expect(first.id).toBe(
      relative(csvFolder, join(images, first.id.split('/').at(-1)!))
        .split('\\')
        .join('/'),
    );
    expect(first.target).toBeInstanceOf(Uint8Array);
    expect(first.group).toMatch(/^\d+$/);
    expect(await first.decode()).toMatchObject({ width: 64, height: 64 });
  });

  it('splits by patient when there is no split column, keeping every patient in one split', async () => {
    const dataset = await folder({ ...options, csv: join(csvFolder, 'labels-unsplit.csv'), splitColumn: undefined });
    const patientSplit = new Map<string, string>();
    const totals = Object.fromEntries(FINDINGS.map((finding) => [finding, 0]));
    let samples = 0;
    for (const split of dataset.splits) {
      for (const sample of await collect(dataset, split)) {
        samples++;
        expect(patientSplit.get(sample.group!) ?? split).toBe(split);
        patientSplit.set(sample.group!, split);
        (sample.target as Uint8Array).forEach((flag, label) => (totals[FINDINGS[label]!]! += flag));
      }
    }
    expect(samples).toBe(250);
    const expectedTotals = Object.fromEntries(
      FINDINGS.map((finding) => [finding, (positives.train?.[finding] ?? 0) + (positives.val?.[finding] ?? 0) + (positives.test?.[finding] ?? 0)]),
    );
    expect(totals).toEqual(expectedTotals);
    expect(patientSplit.size).toBe(138);
    expect(dataset.issues!().at(-1)?.message).toMatch(
      /^no split folders or split column: made a seeded stratified split \(seed 0; train 0.7, val 0.1, test 0.2\), keeping each of 138 groups whole: train \d+, val \d+, test \d+$/,
    );
  });
});

describe('bad input', () => {
  const root = join(work, 'small');
  const csvPath = join(root, 'manifest.csv');
  const tiny = async (path: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .png()
      .toFile(path);
  };
  const ready = (async () => {
    for (const name of ['a.png', 'b.png', 'c.png', 'd.png']) await tiny(join(root, 'images', name));
  })();
  const writeCsv = (text: string) => writeFileSync(csvPath, text);

  it('names a missing folder and a missing CSV', async () => {
    const missing = join(work, 'nowhere');
    await expect(folder({ root: missing })).rejects.toThrow(`${missing}: folder not found (expected class folders, optionally under train/, val/, test/)`);
    await expect(folder({ csv: join(missing, 'labels.csv') })).rejects.toThrow(`${join(missing, 'labels.csv')}: cannot read the CSV manifest (ENOENT)`);
  });

  it('names the missing column and lists the available ones', async () => {
    await ready;
    writeCsv('file,diagnosis\nimages/a.png,x\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: missing columns "path", "label"; the header has "file", "diagnosis"`);
    await expect(folder({ csv: csvPath, pathColumn: 'file', labelColumn: 'diagnosis', splitColumn: 'fold' })).rejects.toThrow(
      `${csvPath}: missing column "fold"; the header has "file", "diagnosis"`,
    );
  });

  it('names the row of an unknown label, or skips it and reports it', async () => {
    await ready;
    writeCsv('path,label\nimages/a.png,benign\nimages/b.png,malignant\nimages/c.png,benign\nimages/d.png,unsure\n');
    await expect(folder({ csv: csvPath, classes: ['benign', 'malignant'] })).rejects.toThrow(
      `${csvPath}: line 5: label "unsure" is not one of the classes benign, malignant`,
    );
    const skipped = await folder({ csv: csvPath, classes: ['benign', 'malignant'], onError: 'skip', fractions: { train: 0.5, val: 0, test: 0.5 } });
    expect((await skipped.size('train')) + (await skipped.size('test'))).toBe(3);
    expect(skipped.issues!()).toContainEqual({ kind: 'skipped', file: csvPath, row: 5, message: 'label "unsure" is not one of the classes benign, malignant' });
  });

  it('names the row of an image listed but missing, or skips it and reports it', async () => {
    await ready;
    writeCsv('path,label\nimages/a.png,0\nimages/gone.png,1\nimages/c.png,1\nimages/d.png,0\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: line 3: image ${join(root, 'images', 'gone.png')} not found`);
    const skipped = await folder({ csv: csvPath, onError: 'skip', fractions: { train: 0.5, val: 0, test: 0.5 } });
    expect(skipped.issues!()).toContainEqual({ kind: 'missing-file', file: csvPath, row: 3, message: `image ${join(root, 'images', 'gone.png')} not found` });
  });

  it('names bad cells: multilabel flags, split names, empty and repeated paths', async () => {
    await ready;
    writeCsv('path,effusion,mass\nimages/a.png,1,0\nimages/b.png,0,2\n');
    await expect(folder({ csv: csvPath, labelColumns: ['effusion', 'mass'] })).rejects.toThrow(`${csvPath}: line 3: column "mass" is "2", expected 0 or 1`);
    writeCsv('path,label,split\nimages/a.png,0,train\nimages/b.png,1,holdout\n');
    await expect(folder({ csv: csvPath, splitColumn: 'split' })).rejects.toThrow(
      `${csvPath}: line 3: column "split" is "holdout", expected train, val (or valid, validation) or test`,
    );
    writeCsv('path,label\nimages/a.png,0\n,1\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: line 3: column "path" is empty`);
    writeCsv('path,label\nimages/a.png,0\n./images/a.png,1\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: line 3: image ./images/a.png is listed again (first on line 2)`);
    writeCsv('path,label\nimages/a.png,0\nimages/b.png,\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: line 3: column "label" is empty`);
  });

  it('refuses a group split across two splits', async () => {
    await ready;
    writeCsv('path,label,split,patient\nimages/a.png,0,train,p1\nimages/b.png,1,test,p2\nimages/c.png,1,test,p1\n');
    await expect(folder({ csv: csvPath, splitColumn: 'split', groupColumn: 'patient' })).rejects.toThrow(
      `${csvPath}: line 4: group "p1" is in test, but line 2 puts it in train; a group must stay inside one split`,
    );
  });

  it('names a class folder outside the given classes, and reports stray files', async () => {
    const tree = join(work, 'tree');
    for (const name of ['benign/a.png', 'benign/b.png', 'malignant/c.png', 'malignant/d.png', 'other/e.png']) await tiny(join(tree, name));
    writeFileSync(join(tree, 'malignant', 'notes.txt'), 'stray');
    writeFileSync(join(tree, 'README.md'), 'stray');
    await expect(folder({ root: tree, classes: ['benign', 'malignant'] })).rejects.toThrow(
      `${join(tree, 'other')}: class folder is not one of the classes benign, malignant; its 1 images are not read`,
    );
    const skipped = await folder({ root: tree, classes: ['benign', 'malignant'], onError: 'skip', fractions: { train: 0.5, val: 0, test: 0.5 } });
    expect(skipped.issues!()).toEqual([
      { kind: 'skipped', file: join(tree, 'README.md'), message: 'a file beside the class folders; not read' },
      { kind: 'skipped', file: join(tree, 'malignant', 'notes.txt'), message: 'not an image (expected .png, .jpg, .jpeg, .tif, .tiff); not read' },
      { kind: 'skipped', file: join(tree, 'other'), message: 'class folder is not one of the classes benign, malignant; its 1 images are not read' },
      expect.objectContaining({ kind: 'note', message: expect.stringMatching(/^no split folders: made a seeded stratified split/) }),
    ]);
  });

  it('refuses options that contradict each other or the data', async () => {
    await ready;
    await expect(folder({})).rejects.toThrow('folder: give either root (a folder of class folders) or csv (a manifest), not both and not neither');
    await expect(folder({ root, labelColumns: ['a'] })).rejects.toThrow('folder: labelColumns (multilabel) needs a csv manifest');
    writeCsv('path,label\nimages/a.png,x\nimages/b.png,y\nimages/c.png,z\n');
    await expect(folder({ csv: csvPath, type: 'binary' })).rejects.toThrow('folder task.classes: expected exactly 2 names for a binary task, found 3');
    await expect(folder({ csv: csvPath, fractions: { train: 0.5, val: 0.4, test: 0.4 } })).rejects.toThrow(
      'folder: fractions must be non-negative, sum to 1 and leave train above 0, got train 0.5, val 0.4, test 0.4',
    );
    writeCsv('path,label\nimages/a.png,x\nimages/b.png,x\n');
    await expect(folder({ csv: csvPath })).rejects.toThrow(`${csvPath}: found one class only (x); a classification task needs at least two`);
  });

  it('rejects decoding a corrupt image, naming the file', async () => {
    await ready;
    writeFileSync(join(root, 'images', 'broken.png'), readFileSync(join(root, 'images', 'a.png')).subarray(0, 30));
    writeCsv('path,label\nimages/a.png,0\nimages/broken.png,1\n');
    const dataset = await folder({ csv: csvPath, fractions: { train: 0.5, val: 0, test: 0.5 } });
    const all = [...(await collect(dataset, 'train')), ...(await collect(dataset, 'test'))];
    const broken = all.find((sample) => sample.id === 'images/broken.png')!;
    await expect(broken.decode()).rejects.toThrow(`${join(root, 'images', 'broken.png')}: cannot decode image`);
  });
});

describe('folder pixel limit', () => {
  it('checks each image against maxPixels on its header, names the option, and hands the limit to pipelines', async () => {
    const root = join(work, 'pixel-limit');
    for (const [name, value] of [
      ['a', 40],
      ['b', 200],
    ] as const) {
      mkdirSync(join(root, name), { recursive: true });
      for (const index of [0, 1]) {
        await sharp(new Uint8Array(32 * 24).fill(value + index), { raw: { width: 32, height: 24, channels: 1 } })
          .png()
          .toFile(join(root, name, `${index}.png`));
      }
    }
    const limited = await folder({ root, maxPixels: 700, fractions: { train: 1, val: 0, test: 0 } });
    const [sample] = await collect(limited, 'train');
    expect(sample!.maxPixels).toBe(700);
    await expect(sample!.decode()).rejects.toThrow(
      `${sample!.source}: cannot decode image (too large PNG: 32x24 is 768 pixels, above the limit of 700; raise the maxPixels option`,
    );
    const raised = await folder({ root, maxPixels: 768, fractions: { train: 1, val: 0, test: 0 } });
    const [whole] = await collect(raised, 'train');
    expect((await whole!.decode()).width).toBe(32);
    const [unlimited] = await collect(await folder({ root, fractions: { train: 1, val: 0, test: 0 } }), 'train');
    expect(unlimited!.maxPixels).toBeUndefined();
    await expect(folder({ root, maxPixels: -3 })).rejects.toThrow('folder: maxPixels must be a positive integer, got -3');
  });
});
