/**
 * ChestX-ray14 on the real sample (250 NIH images, 64x64, and NIH's full v2020 label table) laid out in
 * the official layouts in a temporary folder; the expected counts are computed here from the table
 * itself, independently of the loader. Bad-input cases use small synthetic layouts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRng } from '@medssl/core';
import { decodeImage } from '@medssl/core/node';
import type { Dataset, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESTXRAY14_LABELS, chestxray14, chestxray14Info, chestxray14Pneumonia, chestxray14PneumoniaInfo } from './index.js';

const sampleFolder = sharedData('chestxray14');
const TABLE = 'Data_Entry_2017_v2020.csv.gz';

const temporaryFolders: string[] = [];
function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), `medssl-chestxray14-${prefix}-`));
  temporaryFolders.push(folder);
  return folder;
}
afterAll(() => {
  for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
});

async function collect(dataset: Dataset, split: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  return samples;
}

// ---------------------------------------------------------------------------------------------------
// What the real sample should give, computed from the table with a plain line split (the table has no
// quoted fields, checked below) and the documented split rules.

interface TableRow {
  readonly name: string;
  readonly findings: readonly string[];
  readonly patient: number;
}

/** The test list of these tests: every patient whose id is a multiple of 5 (about a fifth of them). */
const isTestPatient = (patient: number) => patient % 5 === 0;

interface Expected {
  readonly rows: readonly TableRow[];
  readonly imageNames: readonly string[];
  /** Split of each image on disk, by the official-list rules and by the list-free patient split. */
  readonly officialSplit: ReadonlyMap<string, string>;
  readonly patientSplit: ReadonlyMap<string, string>;
}

/** The documented rule: distinct patients ascending, shuffled by createRng(seed).fork(purpose). */
function shuffledPatients(patients: Iterable<number>, seed: number, purpose: string): number[] {
  const ordered = [...new Set(patients)].sort((a, b) => a - b);
  return createRng(seed).fork(purpose).shuffle(ordered);
}

function computeExpected(seed = 0): Expected {
  const text = gunzipSync(readFileSync(join(sampleFolder, TABLE))).toString('utf8');
  expect(text.includes('"')).toBe(false);
  const lines = text.split('\n').filter((line) => line.length > 0);
  expect(lines[0]!.split(',').slice(0, 4)).toEqual(['Image Index', 'Finding Labels', 'Follow-up #', 'Patient ID']);
  const rows = lines.slice(1).map((line) => {
    const fields = line.split(',');
    return { name: fields[0]!, findings: fields[1]!.split('|'), patient: Number(fields[3]) };
  });
  const imageNames = readdirSync(join(sampleFolder, 'images'))
    .filter((name) => name.endsWith('.png'))
    .sort();

  const trainValPatients = shuffledPatients(
    rows.filter((row) => !isTestPatient(row.patient)).map((row) => row.patient),
    seed,
    'chestxray14/val-patients',
  );
  const valPatients = new Set(trainValPatients.slice(0, Math.round(0.1 * trainValPatients.length)));
  const allPatients = shuffledPatients(
    rows.map((row) => row.patient),
    seed,
    'chestxray14/patient-split',
  );
  const testCount = Math.round(0.2 * allPatients.length);
  const valCount = Math.round(0.1 * allPatients.length);
  const fallbackSplit = new Map(
    allPatients.map((patient, position) => [patient, position < testCount ? 'test' : position < testCount + valCount ? 'val' : 'train']),
  );

  const rowOf = new Map(rows.map((row) => [row.name, row]));
  const officialSplit = new Map<string, string>();
  const patientSplit = new Map<string, string>();
  for (const name of imageNames) {
    const row = rowOf.get(name)!;
    officialSplit.set(name, isTestPatient(row.patient) ? 'test' : valPatients.has(row.patient) ? 'val' : 'train');
    patientSplit.set(name, fallbackSplit.get(row.patient)!);
  }
  return { rows, imageNames, officialSplit, patientSplit };
}

function countsOf(expected: Expected, splitOf: ReadonlyMap<string, string>) {
  const rowOf = new Map(expected.rows.map((row) => [row.name, row]));
  const counts: Record<string, number> = { train: 0, val: 0, test: 0 };
  const labelCounts: Record<string, Record<string, number>> = {};
  const pneumoniaCounts: Record<string, Record<string, number>> = {};
  for (const split of ['train', 'val', 'test']) {
    labelCounts[split] = Object.fromEntries(CHESTXRAY14_LABELS.map((label) => [label, 0]));
    pneumoniaCounts[split] = { 'no pneumonia': 0, pneumonia: 0 };
  }
  for (const [name, split] of splitOf) {
    counts[split]!++;
    const findings = rowOf.get(name)!.findings;
    for (const finding of findings) if (finding !== 'No Finding') labelCounts[split]![finding]!++;
    pneumoniaCounts[split]![findings.includes('Pneumonia') ? 'pneumonia' : 'no pneumonia']!++;
  }
  return { counts, labelCounts, pneumoniaCounts };
}

// ---------------------------------------------------------------------------------------------------
// Layouts of the real sample.

/** `images/` holding links to the 250 images, the gzipped table, and (optionally) the two lists. */
function flatLayout(withLists: boolean, expected: Expected): string {
  const root = temporaryFolder(withLists ? 'flat' : 'nolists');
  mkdirSync(join(root, 'images'));
  for (const name of expected.imageNames) symlinkSync(join(sampleFolder, 'images', name), join(root, 'images', name));
  copyFileSync(join(sampleFolder, TABLE), join(root, TABLE));
  if (withLists) writeLists(root, expected.rows);
  return root;
}

function writeLists(root: string, rows: readonly TableRow[]): void {
  writeFileSync(
    join(root, 'train_val_list.txt'),
    `${rows
      .filter((row) => !isTestPatient(row.patient))
      .map((row) => row.name)
      .join('\n')}\n`,
  );
  writeFileSync(
    join(root, 'test_list.txt'),
    `${rows
      .filter((row) => isTestPatient(row.patient))
      .map((row) => row.name)
      .join('\n')}\n`,
  );
}

/** NIH's twelve `images_NNN/images/` folders (copies, not links), image k in folder k mod 12. */
function partsLayout(expected: Expected): string {
  const root = temporaryFolder('parts');
  expected.imageNames.forEach((name, position) => {
    const folder = join(root, `images_${String((position % 12) + 1).padStart(3, '0')}`, 'images');
    mkdirSync(folder, { recursive: true });
    copyFileSync(join(sampleFolder, 'images', name), join(folder, name));
  });
  copyFileSync(join(sampleFolder, TABLE), join(root, TABLE));
  writeLists(root, expected.rows);
  return root;
}

function once<T>(make: () => T): () => T {
  let value: { made: T } | undefined;
  return () => (value ??= { made: make() }).made;
}

describeWithSharedData('chestxray14 on the real sample', ['chestxray14/images', `chestxray14/${TABLE}`], () => {
  const expected = once(() => computeExpected());
  const official = once(() => countsOf(expected(), expected().officialSplit));
  const fallback = once(() => countsOf(expected(), expected().patientSplit));
  const flatRoot = once(() => flatLayout(true, expected()));
  const findings = once(() => chestxray14({ root: flatRoot() }));
  const pneumonia = once(() => chestxray14Pneumonia({ root: flatRoot() }));
  const parts = once(() => chestxray14({ root: partsLayout(expected()) }));
  const noLists = once(() => chestxray14({ root: flatLayout(false, expected()) }));

  it('has the counts these tests rely on', () => {
    expect(expected().rows.length).toBe(112_120);
    expect(expected().imageNames.length).toBe(250);
    const { counts } = official();
    expect(counts.train! + counts.val! + counts.test!).toBe(250);
    expect(counts.val).toBeGreaterThan(0);
    expect(counts.test).toBeGreaterThan(0);
  });

  describe('official lists, images/', () => {
    describeDataset('chestxray14', findings, {
      get counts() {
        return official().counts;
      },
      get classCounts() {
        return official().labelCounts;
      },
    });
    describeDataset('chestxray14:pneumonia', pneumonia, {
      get counts() {
        return official().counts;
      },
      get classCounts() {
        return official().pneumoniaCounts;
      },
    });

    it('puts every image where the lists and the seeded val carve say, grouped by patient', async () => {
      const dataset = await findings();
      expect(dataset.id).toBe('chestxray14');
      expect(dataset.task).toEqual({ type: 'multilabel', labels: CHESTXRAY14_LABELS, primaryMetric: 'mean_auc' });
      const rowOf = new Map(expected().rows.map((row) => [row.name, row]));
      const patientsBySplit: Record<string, Set<string>> = {};
      for (const split of dataset.splits) {
        patientsBySplit[split] = new Set();
        for (const sample of await collect(dataset, split)) {
          expect(expected().officialSplit.get(sample.id)).toBe(split);
          expect(sample.group).toBe(String(rowOf.get(sample.id)!.patient));
          expect(sample.source).toBe(join(flatRoot(), 'images', sample.id));
          patientsBySplit[split]!.add(sample.group!);
        }
      }
      for (const [a, b] of [
        ['train', 'val'],
        ['train', 'test'],
        ['val', 'test'],
      ] as const) {
        expect([...patientsBySplit[a]!].filter((patient) => patientsBySplit[b]!.has(patient))).toEqual([]);
      }
    });

    it('gives each sample its findings as 0/1 flags in NIH order', async () => {
      const dataset = await findings();
      const [first] = await collect(dataset, 'train');
      const row = expected().rows.find((candidate) => candidate.name === first!.id)!;
      const flags = CHESTXRAY14_LABELS.map((label) => (row.findings.includes(label) ? 1 : 0));
      expect(Array.from(first!.target as Uint8Array)).toEqual(flags);
      const image = await first!.decode();
      expect([image.width, image.height]).toEqual([64, 64]);
      // The file's bytes, for decoding in a worker thread: the same pixels.
      expect(await decodeImage(await first!.encoded!(), first!.source!)).toEqual(image);
    });

    it('reports the 112,120 - 250 table rows without an image, and nothing else', async () => {
      const issues = (await findings()).issues!();
      expect(issues).toHaveLength(1);
      expect(issues[0]!.kind).toBe('missing-file');
      expect(issues[0]!.message).toContain(`${112_120 - 250} rows (first 5: `);
      expect(issues[0]!.message).toContain('00000001_001.png');
    });

    it('gives the pneumonia view the same rows and splits with binary targets', async () => {
      const dataset = await pneumonia();
      expect(dataset.id).toBe('chestxray14:pneumonia');
      expect(dataset.task).toEqual({ type: 'binary', classes: ['no pneumonia', 'pneumonia'], primaryMetric: 'auc' });
      expect(dataset.version).toBe((await findings()).version);
      for (const split of dataset.splits) {
        const binary = await collect(dataset, split);
        const multilabel = await collect(await findings(), split);
        expect(binary.map((sample) => sample.id)).toEqual(multilabel.map((sample) => sample.id));
        binary.forEach((sample, position) => expect(sample.target).toBe((multilabel[position]!.target as Uint8Array)[6]));
      }
      expect(
        official().pneumoniaCounts.train!.pneumonia! + official().pneumoniaCounts.val!.pneumonia! + official().pneumoniaCounts.test!.pneumonia!,
      ).toBeGreaterThan(0);
    });

    it('names the table revision and the split seed in its version', async () => {
      expect((await findings()).version).toMatch(/^Data_Entry_2017_v2020\.csv;official-lists;val-patients=0\.1;seed=0;samples=[0-9a-f]{16}$/);
    });

    it('pins the sizes the seed-0 rules give on this sample', () => {
      expect(official().counts).toEqual({ train: 185, val: 31, test: 34 });
      expect(fallback().counts).toEqual({ train: 170, val: 30, test: 50 });
    });
  });

  describe("NIH's images_001/images/ ... images_012/images/ folders", () => {
    describeDataset('chestxray14 (images_NNN)', parts, {
      get counts() {
        return official().counts;
      },
      get classCounts() {
        return official().labelCounts;
      },
    });

    it('finds the same samples as the flat layout, in the part folders', async () => {
      const dataset = await parts();
      expect(dataset.version).toBe((await findings()).version);
      for (const split of dataset.splits) {
        const samples = await collect(dataset, split);
        expect(samples.map((sample) => sample.id)).toEqual((await collect(await findings(), split)).map((sample) => sample.id));
        for (const sample of samples) expect(sample.source).toMatch(/\/images_(0\d\d)\/images\/\d{8}_\d{3}\.png$/);
      }
    });
  });

  describe('without the split lists', () => {
    describeDataset('chestxray14 (patient split)', noLists, {
      get counts() {
        return fallback().counts;
      },
      get classCounts() {
        return fallback().labelCounts;
      },
    });

    it('splits patients 0.7/0.1/0.2 by seed and says so', async () => {
      const dataset = await noLists();
      expect(dataset.version).toMatch(/^Data_Entry_2017_v2020\.csv;patient-split=0\.7\/0\.1\/0\.2;seed=0;samples=/);
      const issues = dataset.issues!();
      expect(issues.map((issue) => issue.kind)).toEqual(['note', 'missing-file']);
      expect(issues[0]!.message).toContain('no train_val_list.txt or test_list.txt');
      expect(issues[1]!.message).toContain(`${112_120 - 250} rows`);
      for (const split of dataset.splits) {
        for (const sample of await collect(dataset, split)) expect(expected().patientSplit.get(sample.id)).toBe(split);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Bad input, on small synthetic layouts.

const HEADER = 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position';
let png: Buffer;
beforeAll(async () => {
  png = await sharp(Buffer.alloc(16, 120), { raw: { width: 4, height: 4, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
});

interface SmallLayout {
  readonly rows?: readonly string[];
  readonly header?: string;
  readonly table?: string | null;
  readonly images?: readonly string[];
  readonly trainVal?: readonly string[];
  readonly test?: readonly string[];
}

const DEFAULT_ROWS = [
  '00000001_000.png,Cardiomegaly,0,1,57,M,PA',
  '00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA',
  '00000002_000.png,No Finding,0,2,80,M,PA',
  '00000003_000.png,Hernia,0,3,74,F,PA',
  '00000004_000.png,Mass|Nodule,0,4,82,M,AP',
  '00000005_000.png,Pneumonia,0,5,69,F,PA',
];
const nameOf = (row: string) => row.split(',')[0]!;

function smallLayout(layout: SmallLayout = {}): string {
  const root = temporaryFolder('small');
  const rows = layout.rows ?? DEFAULT_ROWS;
  if (layout.table !== null) writeFileSync(join(root, layout.table ?? 'Data_Entry_2017_v2020.csv'), `${layout.header ?? HEADER}\n${rows.join('\n')}\n`);
  mkdirSync(join(root, 'images'));
  for (const name of layout.images ?? rows.map(nameOf)) writeFileSync(join(root, 'images', name), png);
  if (layout.trainVal) writeFileSync(join(root, 'train_val_list.txt'), `${layout.trainVal.join('\n')}\n`);
  if (layout.test) writeFileSync(join(root, 'test_list.txt'), `${layout.test.join('\n')}\n`);
  return root;
}

const officialLists = {
  trainVal: ['00000001_000.png', '00000001_001.png', '00000002_000.png', '00000003_000.png'],
  test: ['00000004_000.png', '00000005_000.png'],
};

describe('chestxray14 on bad input', () => {
  it('describes itself for `medssl datasets list`', () => {
    expect(chestxray14Info.id).toBe('chestxray14');
    expect(chestxray14PneumoniaInfo.id).toBe('chestxray14:pneumonia');
    expect(chestxray14Info.layout).toContain('images_001/images/');
    expect(chestxray14Info.source).toMatch(/^https:\/\/nihcc\.app\.box\.com/);
  });

  it('reads a small official layout, splitting val off train_val by patient', async () => {
    const root = smallLayout(officialLists);
    const dataset = await chestxray14({ root, valFraction: 0.5 });
    expect(await dataset.size('test')).toBe(2);
    const train = await collect(dataset, 'train');
    const val = await collect(dataset, 'val');
    expect(train.length + val.length).toBe(4);
    // 3 train_val patients: round(0.5 * 3) = 2 of them go to val, and patient 1 keeps both images together.
    expect(new Set(val.map((sample) => sample.group)).size).toBe(2);
    expect(new Set([...train, ...val].filter((sample) => sample.group === '1').map((sample) => (val.includes(sample) ? 'val' : 'train'))).size).toBe(1);
    expect(dataset.issues!()).toEqual([]);
  });

  it('refuses a missing root, table or image folder, naming it', async () => {
    await expect(chestxray14({ root: join(tmpdir(), 'no-such-chestxray14-folder') })).rejects.toThrow(
      /no-such-chestxray14-folder: ChestX-ray14 folder not found/,
    );
    const noTable = smallLayout({ table: null });
    await expect(chestxray14({ root: noTable })).rejects.toThrow(
      `${noTable}: no ChestX-ray14 label table; expected one of Data_Entry_2017_v2020.csv, Data_Entry_2017_v2020.csv.gz`,
    );
    const noImages = smallLayout();
    rmSync(join(noImages, 'images'), { recursive: true });
    await expect(chestxray14({ root: noImages })).rejects.toThrow(`${noImages}: no image folder; expected ${join(noImages, 'images')}`);
    await expect(chestxray14({ root: smallLayout(), labelTable: 'labels.csv' })).rejects.toThrow(/labels\.csv: label table not found/);
  });

  it('refuses a table without the expected columns, naming the file and the column', async () => {
    const root = smallLayout({ header: 'Image Index,Finding Labels,Follow-up #,Patient,Patient Age,Patient Gender,View Position' });
    await expect(chestxray14({ root })).rejects.toThrow(`${join(root, 'Data_Entry_2017_v2020.csv')}: missing column "Patient ID"`);
  });

  it('refuses an unknown finding naming the row, or skips and reports it', async () => {
    const rows = [...DEFAULT_ROWS];
    rows[2] = '00000002_000.png,Pneumonitis,0,2,80,M,PA';
    const root = smallLayout({ rows });
    const table = join(root, 'Data_Entry_2017_v2020.csv');
    await expect(chestxray14({ root })).rejects.toThrow(`${table}: line 4 (00000002_000.png): unknown finding "Pneumonitis"`);
    const dataset = await chestxray14({ root, onError: 'skip' });
    const issues = dataset.issues!();
    expect(issues.filter((issue) => issue.kind === 'skipped')).toEqual([
      { kind: 'skipped', message: expect.stringContaining('unknown finding "Pneumonitis"'), file: table, row: 4 },
    ]);
    // The image of the skipped row is not reported a second time as unlabelled.
    expect(issues.some((issue) => issue.kind === 'missing-label')).toBe(false);
    let total = 0;
    for (const split of dataset.splits) total += await dataset.size(split);
    expect(total).toBe(5);
  });

  it('refuses "No Finding" mixed with findings, and a repeated image row', async () => {
    const mixed = [...DEFAULT_ROWS];
    mixed[1] = '00000001_001.png,No Finding|Mass,1,1,58,M,PA';
    await expect(chestxray14({ root: smallLayout({ rows: mixed }) })).rejects.toThrow(
      /line 3 \(00000001_001\.png\): "No Finding" together with other findings/,
    );
    const repeated = [...DEFAULT_ROWS, '00000001_000.png,Mass,0,1,57,M,PA'];
    await expect(chestxray14({ root: smallLayout({ rows: repeated }) })).rejects.toThrow(
      /line 8 \(00000001_000\.png\): image 00000001_000\.png is listed again \(first at line 2\)/,
    );
  });

  it('rejects a truncated image on decode, naming the file', async () => {
    const root = smallLayout();
    const truncated = join(root, 'images', '00000003_000.png');
    writeFileSync(truncated, png.subarray(0, png.length - 20));
    const dataset = await chestxray14({ root });
    for (const split of dataset.splits) {
      for await (const sample of dataset.samples(split)) {
        if (sample.id === '00000003_000.png') await expect(sample.decode()).rejects.toThrow(`${truncated}: cannot decode image`);
        else await expect(sample.decode()).resolves.toMatchObject({ width: 4, height: 4, channels: 1 });
      }
    }
  });

  it('reports images without a table row and rows without an image', async () => {
    const images = [...DEFAULT_ROWS.map(nameOf).filter((name) => name !== '00000003_000.png'), '00000099_000.png'];
    const root = smallLayout({ images, ...officialLists });
    const dataset = await chestxray14({ root });
    expect(dataset.issues!().map((issue) => [issue.kind, issue.message])).toEqual([
      [
        'missing-file',
        `${join(root, 'Data_Entry_2017_v2020.csv')}: 1 row (00000003_000.png) of the train, val and test splits has no image in ${join(root, 'images')}; skipped`,
      ],
      ['missing-label', `${join(root, 'images')}: 1 image (00000099_000.png) not in the label table ${join(root, 'Data_Entry_2017_v2020.csv')}; skipped`],
    ]);
    await expect(chestxray14({ root, requireAllImages: true })).rejects.toThrow(/1 row \(00000003_000\.png\) .* has no image .*requireAllImages is set/);
  });

  it('refuses a list entry missing from the table, or skips and reports it', async () => {
    const root = smallLayout({ trainVal: officialLists.trainVal, test: [...officialLists.test, '00000077_000.png'] });
    const list = join(root, 'test_list.txt');
    await expect(chestxray14({ root })).rejects.toThrow(`${list}: line 3: image 00000077_000.png is not in the label table`);
    const dataset = await chestxray14({ root, onError: 'skip' });
    expect(dataset.issues!()).toEqual([{ kind: 'missing-label', message: expect.stringContaining('00000077_000.png'), file: list, row: 3 }]);
    expect(await dataset.size('test')).toBe(2);
  });

  it('refuses a patient on both sides of the lists, or leaves its train_val images out', async () => {
    const root = smallLayout({
      trainVal: ['00000001_000.png', '00000002_000.png', '00000003_000.png'],
      test: ['00000001_001.png', '00000004_000.png', '00000005_000.png'],
    });
    await expect(chestxray14({ root })).rejects.toThrow(
      /train_val_list\.txt: patient 1 also has images in .*test_list\.txt; left out the train_val 1 image \(00000001_000\.png\)/,
    );
    const dataset = await chestxray14({ root, onError: 'skip' });
    expect((await dataset.size('train')) + (await dataset.size('val'))).toBe(2);
    expect(await dataset.size('test')).toBe(3);
  });

  it('refuses one list without the other', async () => {
    const root = smallLayout({ trainVal: officialLists.trainVal });
    await expect(chestxray14({ root })).rejects.toThrow(
      `${join(root, 'test_list.txt')}: split list not found, but ${join(root, 'train_val_list.txt')} is present`,
    );
  });

  it('refuses an image name found in two part folders, or keeps the first', async () => {
    const root = smallLayout();
    rmSync(join(root, 'images'), { recursive: true });
    DEFAULT_ROWS.map(nameOf).forEach((name, position) => {
      const folder = join(root, `images_00${(position % 2) + 1}`, 'images');
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, name), png);
    });
    const duplicate = join(root, 'images_002', 'images', '00000001_000.png');
    writeFileSync(duplicate, png);
    await expect(chestxray14({ root })).rejects.toThrow(
      `${duplicate}: image 00000001_000.png is also at ${join(root, 'images_001', 'images', '00000001_000.png')}`,
    );
    const dataset = await chestxray14({ root, onError: 'skip' });
    const sources = (await Promise.all(dataset.splits.map((split) => collect(dataset, split)))).flat().map((sample) => sample.source);
    expect(sources).toContain(join(root, 'images_001', 'images', '00000001_000.png'));
    expect(sources).toHaveLength(6);
  });

  it('prefers the v2020 table, says so, and reads the 2017 one when asked or alone, gzipped or not', async () => {
    const root = smallLayout();
    const older = [...DEFAULT_ROWS];
    older[0] = '00000001_000.png,Cardiomegaly|Effusion,0,1,57,M,PA';
    writeFileSync(join(root, 'Data_Entry_2017.csv.gz'), gzipSync(`${HEADER}\n${older.join('\n')}\n`));
    const newest = await chestxray14({ root });
    expect(newest.version).toMatch(/^Data_Entry_2017_v2020\.csv;/);
    expect(newest.issues!()[0]).toMatchObject({ kind: 'note', message: expect.stringContaining('read Data_Entry_2017_v2020.csv') });
    const chosen = await chestxray14({ root, labelTable: 'Data_Entry_2017.csv.gz' });
    expect(chosen.version).toMatch(/^Data_Entry_2017\.csv;/);
    rmSync(join(root, 'Data_Entry_2017_v2020.csv'));
    const alone = await chestxray14({ root });
    expect(alone.version).toBe(chosen.version);
    const first = (await Promise.all(alone.splits.map((split) => collect(alone, split)))).flat().find((sample) => sample.id === '00000001_000.png')!;
    expect(Array.from(first.target as Uint8Array).flatMap((flag, label) => (flag ? [CHESTXRAY14_LABELS[label]] : []))).toEqual(['Cardiomegaly', 'Effusion']);
  });

  it('carves val by seeded patient shuffle: a new seed moves only val, and changes the version', async () => {
    // 40 patients with 2 images each; patients 5, 10, ... 40 are test, the other 32 train_val.
    const rows = Array.from({ length: 80 }, (_, index) => {
      const patient = Math.floor(index / 2) + 1;
      return `${String(patient).padStart(8, '0')}_00${index % 2}.png,${index % 3 === 0 ? 'Effusion' : 'No Finding'},${index % 2},${patient},50,F,PA`;
    });
    const isTest = (row: string) => Number(row.split(',')[3]) % 5 === 0;
    const root = smallLayout({ rows, trainVal: rows.filter((row) => !isTest(row)).map(nameOf), test: rows.filter(isTest).map(nameOf) });
    const seeded = [await chestxray14({ root }), await chestxray14({ root, seed: 1 })];
    const valPatients = await Promise.all(seeded.map(async (dataset) => [...new Set((await collect(dataset, 'val')).map((sample) => sample.group))].sort()));
    expect(valPatients.map((patients) => patients.length)).toEqual([3, 3]); // round(0.1 * 32)
    expect(valPatients[0]).not.toEqual(valPatients[1]);
    const testIds = await Promise.all(seeded.map(async (dataset) => (await collect(dataset, 'test')).map((sample) => sample.id)));
    expect(testIds[0]).toHaveLength(16);
    expect(testIds[1]).toEqual(testIds[0]);
    expect(seeded[0]!.version).toContain(';seed=0;');
    expect(seeded[1]!.version).toContain(';seed=1;');
    const expectedVal = shuffledPatients(
      Array.from({ length: 40 }, (_, index) => index + 1).filter((patient) => patient % 5 !== 0),
      1,
      'chestxray14/val-patients',
    ).slice(0, 3);
    expect(valPatients[1]).toEqual(expectedVal.map(String).sort());
  });

  it('refuses bad options and unknown splits', async () => {
    const root = smallLayout();
    await expect(chestxray14({ root, seed: -1 })).rejects.toThrow(/seed must be a non-negative integer, got -1/);
    await expect(chestxray14({ root, valFraction: 1 })).rejects.toThrow(/valFraction must be a number in \[0, 1\), got 1/);
    await expect(chestxray14({ root, fractions: { train: 0.5, val: 0.1, test: 0.1 } })).rejects.toThrow(/fractions must add up to 1/);
    await expect(chestxray14({ root, view: 'effusion' as 'findings' })).rejects.toThrow(/view must be 'findings' or 'pneumonia'/);
    const dataset = await chestxray14({ root });
    await expect(dataset.size('holdout')).rejects.toThrow('chestxray14: unknown split "holdout"; splits are train, val, test');
  });
});
