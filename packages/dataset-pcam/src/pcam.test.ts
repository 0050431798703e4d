import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvColumns, parseCsv } from '@medssl/core';
import { decodeImageFile } from '@medssl/core/node';
import type { Dataset, Sample } from '@medssl/spec';
import { describeDataset } from '@medssl/spec/testing';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { afterAll, describe, expect, it } from 'vitest';
import { pcam, pcamFileName, PCAM_RELEASE, type PcamOfficialSplit } from './index.js';
import { writeHdf5Arrays, writePcamSplit, type Hdf5ArrayToWrite } from './write-pcam.js';

const PATCH_BYTES = 96 * 96 * 3;
const realData = sharedData('pcam');

const folders: string[] = [];
const temporaryFolder = (purpose: string): string => {
  const folder = mkdtempSync(join(tmpdir(), `medssl-pcam-${purpose}-`));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

async function collect(iterable: AsyncIterable<Sample>): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of iterable) samples.push(sample);
  return samples;
}

interface RealSplit {
  /** Patch pixels in the order written (official order, by patch_index). */
  readonly pixels: Uint8Array[];
  readonly labels: number[];
}

/** The 500 real JPEG patches, decoded once and grouped by official split in official order. */
const realSplits = (() => {
  let loaded: Promise<Record<PcamOfficialSplit, RealSplit>> | undefined;
  return () =>
    (loaded ??= (async () => {
      const csvPath = join(realData, 'labels.csv');
      const table = parseCsv(readFileSync(csvPath, 'utf8'), csvPath);
      const column = csvColumns(table, ['path', 'split', 'label', 'patch_index'], csvPath);
      const rows = table.rows
        .map((row) => ({ path: row[column.path]!, split: row[column.split]!, label: Number(row[column.label]), patchIndex: Number(row[column.patch_index]) }))
        .sort((a, b) => a.patchIndex - b.patchIndex);
      const splits = {} as Record<PcamOfficialSplit, RealSplit>;
      for (const official of ['train', 'valid', 'test'] as const) {
        const inSplit = rows.filter((row) => row.split === official);
        const pixels = await Promise.all(
          inSplit.map(async (row) => {
            const image = await decodeImageFile(join(realData, row.path));
            expect(image).toMatchObject({ width: 96, height: 96, channels: 3 });
            return image.data as Uint8Array;
          }),
        );
        splits[official] = { pixels, labels: inSplit.map((row) => row.label) };
      }
      return splits;
    })());
})();

/** Writes the real patches into the official layout, gzip-compressed or plain, once per storage. */
const realLayouts = new Map<string, Promise<string>>();
function realLayout(storage: 'gzip' | 'plain'): Promise<string> {
  let layout = realLayouts.get(storage);
  if (!layout) {
    layout = (async () => {
      const splits = await realSplits();
      const root = temporaryFolder(storage);
      for (const official of ['train', 'valid', 'test'] as const) {
        const { pixels, labels } = splits[official];
        // Blocks of 64 patches, so the gzip writer goes through its create-then-extend path.
        const blocks = Array.from({ length: Math.ceil(pixels.length / 64) }, (_, block) => {
          const rows = pixels.slice(block * 64, block * 64 + 64);
          const patches = new Uint8Array(rows.length * PATCH_BYTES);
          rows.forEach((patch, row) => patches.set(patch, row * PATCH_BYTES));
          return { patches, labels: Uint8Array.from(labels.slice(block * 64, block * 64 + 64)) };
        });
        await writePcamSplit({ root, official, count: pixels.length, blocks, ...(storage === 'gzip' ? { gzipLevel: 4, chunkRows: 16 } : {}) });
      }
      return root;
    })();
    realLayouts.set(storage, layout);
  }
  return layout;
}

const expectedCounts = { train: 300, val: 100, test: 100 };
const expectedClassCounts = {
  train: { normal: 150, tumour: 150 },
  val: { normal: 50, tumour: 50 },
  test: { normal: 50, tumour: 50 },
};

describeWithSharedData('PatchCamelyon on 500 real patches', ['pcam/labels.csv'], () => {
  describeDataset('pcam (gzip-compressed HDF5)', async () => pcam({ root: await realLayout('gzip') }), {
    counts: expectedCounts,
    classCounts: expectedClassCounts,
  });
  describeDataset('pcam (plain HDF5)', async () => pcam({ root: await realLayout('plain') }), {
    counts: expectedCounts,
    classCounts: expectedClassCounts,
  });

  it.each([
    ['gzip', 256],
    ['gzip', 5], // rounded up to the 16-patch chunks
    ['plain', 7], // blocks that straddle nothing in particular
  ] as const)('decodes exactly the pixels written (%s, slices of %i)', async (storage, sliceSize) => {
    const root = await realLayout(storage);
    const splits = await realSplits();
    const dataset = await pcam({ root, sliceSize });
    expect(dataset.issues?.()).toEqual([]);
    expect(dataset.version).toBe(PCAM_RELEASE);
    for (const [split, official] of [
      ['train', 'train'],
      ['val', 'valid'],
      ['test', 'test'],
    ] as const) {
      const samples = await collect(dataset.samples(split));
      expect(samples).toHaveLength(splits[official].pixels.length);
      for (const [index, sample] of samples.entries()) {
        expect(sample.id).toBe(`${split}/${String(index).padStart(6, '0')}`);
        expect(sample.source).toBe(`${join(root, pcamFileName(official, 'x'))}[${index}]`);
        expect(sample.target).toBe(splits[official].labels[index]);
        const image = await sample.decode();
        expect(image).toMatchObject({ width: 96, height: 96, channels: 3 });
        expect(Buffer.compare(image.data as Uint8Array, splits[official].pixels[index]!), `${sample.id} pixels`).toBe(0);
      }
    }
  });

  it('decodes samples in any order, also after iteration ended', async () => {
    const dataset = await pcam({ root: await realLayout('gzip'), sliceSize: 32 });
    const splits = await realSplits();
    const samples = await collect(dataset.samples('train'));
    for (const index of [299, 0, 150, 31, 32, 298, 1]) {
      const image = await samples[index]!.decode();
      expect(Buffer.compare(image.data as Uint8Array, splits.train.pixels[index]!)).toBe(0);
    }
    // Decoded pixels are a copy: changing them does not change the next decode.
    const first = await samples[0]!.decode();
    first.data.fill(0);
    expect(Buffer.compare((await samples[0]!.decode()).data as Uint8Array, splits.train.pixels[0]!)).toBe(0);
  });
});

// Bad input, on small synthetic files.

const patchesOf = (count: number, seed = 1): Uint8Array =>
  Uint8Array.from({ length: count * PATCH_BYTES }, (_, byte) => (byte * 31 + seed * 7 + (byte >> 9)) % 251);

/** Writes all six files with `count` patches per split; `change` replaces or removes files per split. */
async function syntheticLayout(
  purpose: string,
  change: Partial<Record<`${PcamOfficialSplit}_${'x' | 'y'}`, readonly Hdf5ArrayToWrite[] | null>> = {},
  count = 4,
): Promise<string> {
  const root = temporaryFolder(purpose);
  for (const official of ['train', 'valid', 'test'] as const) {
    const labels = Uint8Array.from({ length: count }, (_, index) => index % 2);
    const defaults: Record<'x' | 'y', readonly Hdf5ArrayToWrite[]> = {
      x: [{ key: 'x', data: patchesOf(count), shape: [count, 96, 96, 3], dtype: '<B' }],
      y: [{ key: 'y', data: labels, shape: [count, 1, 1, 1], dtype: '<B' }],
    };
    for (const array of ['x', 'y'] as const) {
      const arrays = change[`${official}_${array}`];
      if (arrays === null) continue;
      await writeHdf5Arrays(join(root, pcamFileName(official, array)), arrays ?? defaults[array]);
    }
  }
  return root;
}

describe('PatchCamelyon bad input', () => {
  it('names a missing folder', async () => {
    const root = join(tmpdir(), 'medssl-pcam-no-such-folder');
    await expect(pcam({ root })).rejects.toThrow(`PatchCamelyon folder ${root} cannot be read (ENOENT)`);
  });

  it('names a missing file and lists what the folder holds', async () => {
    const root = await syntheticLayout('missing', { test_y: null });
    const missing = join(root, 'camelyonpatch_level_2_split_test_y.h5');
    const error = await pcam({ root }).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).toContain(`missing ${missing}`);
    expect(error?.message).toContain(`${root} holds: camelyonpatch_level_2_split_test_x.h5, camelyonpatch_level_2_split_train_x.h5`);
  });

  it('with onError skip, leaves out a split whose file is missing and reports it', async () => {
    const root = await syntheticLayout('missing-skip', { test_y: null });
    const dataset = await pcam({ root, onError: 'skip' });
    expect(dataset.splits).toEqual(['train', 'val']);
    expect(dataset.issues?.()).toEqual([
      expect.objectContaining({
        kind: 'missing-file',
        file: join(root, 'camelyonpatch_level_2_split_test_y.h5'),
        message: expect.stringMatching(/split test left out/),
      }),
    ]);
    await expect(dataset.size('test')).rejects.toThrow('pcam: no split "test"; splits are train, val');
  });

  it('says to gunzip when only the .h5.gz downloads are there', async () => {
    const root = temporaryFolder('gzipped');
    for (const official of ['train', 'valid', 'test'] as const) {
      for (const array of ['x', 'y'] as const) writeFileSync(join(root, `${pcamFileName(official, array)}.gz`), Uint8Array.from([0x1f, 0x8b, 8, 0]));
    }
    const error = await pcam({ root }).then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(error?.message).toMatch(/found only the gzip downloads .*camelyonpatch_level_2_split_train_x\.h5\.gz.*: gunzip them first/);
    expect(error?.message).not.toMatch(/missing/);
  });

  it('names both files and both lengths when x and y lengths differ', async () => {
    const root = await syntheticLayout('lengths', { valid_y: [{ key: 'y', data: new Uint8Array(5), shape: [5, 1, 1, 1], dtype: '<B' }] });
    await expect(pcam({ root })).rejects.toThrow(
      `PatchCamelyon split valid: ${join(root, 'camelyonpatch_level_2_split_valid_x.h5')} holds 4 patches but ${join(root, 'camelyonpatch_level_2_split_valid_y.h5')} holds 5 labels`,
    );
    // A layout error, not a row to skip.
    await expect(pcam({ root, onError: 'skip' })).rejects.toThrow(/holds 4 patches but .* holds 5 labels/);
  });

  it.each([
    [
      'x of 64x64 patches',
      { train_x: [{ key: 'x', data: new Uint8Array(4 * 64 * 64 * 3), shape: [4, 64, 64, 3], dtype: '<B' }] },
      'train_x',
      'dataset "x" must have shape (N, 96, 96, 3), got (4, 64, 64, 3)',
    ],
    [
      'y without its trailing axes',
      { test_y: [{ key: 'y', data: new Uint8Array(4), shape: [4], dtype: '<B' }] },
      'test_y',
      'dataset "y" must have shape (N, 1, 1, 1), got (4)',
    ],
    [
      'float32 labels',
      { valid_y: [{ key: 'y', data: new Float32Array(4), shape: [4, 1, 1, 1], dtype: '<f' }] },
      'valid_y',
      'dataset "y" must hold uint8 values, got float32',
    ],
    [
      '16-bit patches',
      { train_x: [{ key: 'x', data: new Uint16Array(4 * PATCH_BYTES), shape: [4, 96, 96, 3], dtype: '<H' }] },
      'train_x',
      'dataset "x" must hold uint8 values, got uint16',
    ],
    [
      'x stored under another name',
      { test_x: [{ key: 'images', data: patchesOf(4), shape: [4, 96, 96, 3], dtype: '<B' }] },
      'test_x',
      'cannot read dataset "x" (no dataset "x"; the file holds "images")',
    ],
  ] as const)('names the file and expected vs actual for %s', async (_, change, file, message) => {
    const root = await syntheticLayout('shape', change as Parameters<typeof syntheticLayout>[1]);
    const [official, array] = file.split('_') as [PcamOfficialSplit, 'x' | 'y'];
    await expect(pcam({ root })).rejects.toThrow(`${join(root, pcamFileName(official, array))}: ${message}`);
  });

  it('names a file that is not HDF5', async () => {
    const root = await syntheticLayout('not-hdf5');
    const path = join(root, pcamFileName('valid', 'x'));
    writeFileSync(path, 'this is not an HDF5 file, just text');
    await expect(pcam({ root })).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot open it as an HDF5 file \\(HDF5: `));
  });

  it('names the file and index of a label other than 0/1; with onError skip, skips and reports it', async () => {
    const labels = Uint8Array.from([0, 1, 2, 1]);
    const root = await syntheticLayout('labels', { train_y: [{ key: 'y', data: labels, shape: [4, 1, 1, 1], dtype: '<B' }] });
    const yPath = join(root, pcamFileName('train', 'y'));
    await expect(pcam({ root })).rejects.toThrow(`${yPath}: label 2 at index 2 is neither 0 (normal) nor 1 (tumour)`);

    const dataset = await pcam({ root, onError: 'skip' });
    expect(await dataset.size('train')).toBe(3);
    const samples = await collect(dataset.samples('train'));
    expect(samples.map((sample) => [sample.id, sample.target])).toEqual([
      ['train/000000', 0],
      ['train/000001', 1],
      ['train/000003', 1],
    ]);
    // The skipped index is not read in place of its neighbour.
    expect(Buffer.compare((await samples[2]!.decode()).data as Uint8Array, patchesOf(4).subarray(3 * PATCH_BYTES))).toBe(0);
    expect(dataset.issues?.()).toEqual([
      { kind: 'skipped', file: yPath, row: 2, message: `${yPath}: label 2 at index 2 is neither 0 (normal) nor 1 (tumour); patch skipped` },
    ]);
    expect(dataset.version).toBe(`${PCAM_RELEASE}+skipped-1`);
  });

  it('rejects decode() naming the file when a compressed chunk is corrupt', async () => {
    // Incompressible pixels in one-patch chunks, so the middle of the file is chunk data.
    let state = 12345;
    const noise = Uint8Array.from({ length: 8 * PATCH_BYTES }, () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24);
    const root = await syntheticLayout('corrupt', { test_x: [{ key: 'x', data: noise, shape: [8, 96, 96, 3], dtype: '<B', gzipLevel: 1, chunkRows: 1 }] }, 8);
    const xPath = join(root, pcamFileName('test', 'x'));
    const bytes = readFileSync(xPath);
    const middle = Math.floor(bytes.length / 2);
    for (let byte = middle; byte < middle + 64; byte++) bytes[byte] = bytes[byte]! ^ 0xa5;
    writeFileSync(xPath, bytes);

    const dataset = await pcam({ root, sliceSize: 1 });
    const failures: string[] = [];
    for await (const sample of dataset.samples('test')) {
      await sample.decode().catch((error: Error) => failures.push(error.message));
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(
      new RegExp(`^${xPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot read patches \\d+\\.\\.\\d+ \\(HDF5: .*\\) while decoding patch \\d+$`),
    );
    // Other patches still decode after a failed read.
    expect(failures.length).toBeLessThan(8);
  });

  it('rejects unknown splits, bad options and an aborted signal', async () => {
    const root = await syntheticLayout('options');
    const dataset: Dataset = await pcam({ root });
    await expect(dataset.size('valid')).rejects.toThrow('pcam: no split "valid" (the official split valid is called val here); splits are train, val, test');
    await expect(pcam({ root, sliceSize: 0 })).rejects.toThrow('pcam: sliceSize must be a positive integer, got 0');
    const controller = new AbortController();
    const iterator = dataset.samples('train', { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
