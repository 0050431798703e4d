// Damaged PatchCamelyon label files, made from a valid split written by the package's own writer: a file
// whose chunk index claims gigabytes made h5wasm grow its wasm memory towards the 2 GiB limit (and trap), and
// every later read in the process failed. The reader now discards such an instance and starts a fresh one.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSizeAgainstFile, Hdf5ReadError, loadHdf5 } from './hdf5.js';
import { pcam, pcamFileName } from './pcam.js';
import { writePcamSplit } from './write-pcam.js';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function folder(purpose: string): string {
  const made = mkdtempSync(join(tmpdir(), `medssl-pcam-${purpose}-`));
  folders.push(made);
  return made;
}

const count = 8;
const patches = Uint8Array.from({ length: count * 96 * 96 * 3 }, (_, index) => (index * 31) & 255);
const labels = Uint8Array.from({ length: count }, (_, index) => index % 2);

async function readAll(root: string): Promise<number[]> {
  const dataset = await pcam({ root, onError: 'skip' });
  const sums: number[] = [];
  for await (const sample of dataset.samples('test')) sums.push(Array.from((await sample.decode()).data).reduce((sum, value) => sum + value, 0));
  return sums;
}

/** A seeded generator of damage: each call sets 1 to 4 bytes of a copy of the file to random values. */
function damager(seed: number): (bytes: Buffer) => Buffer {
  let state = seed >>> 0 || 1;
  const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return (bytes) => {
    const damaged = Buffer.from(bytes);
    const changes = 1 + Math.floor(random() * 4);
    for (let change = 0; change < changes; change++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
    return damaged;
  };
}

describe('damaged PatchCamelyon HDF5 files', () => {
  it('a label file that swells or traps the HDF5 reader is a typed error, and valid files read afterwards', async () => {
    const good = folder('good');
    await writePcamSplit({ root: good, official: 'test', count, blocks: [{ patches, labels }], gzipLevel: 4, chunkRows: 4 });
    const expected = await readAll(good);
    expect(expected).toHaveLength(count);
    const yName = pcamFileName('test', 'y');
    const valid = readFileSync(join(good, yName));
    const bad = folder('bad');
    copyFileSync(join(good, pcamFileName('test', 'x')), join(bad, pcamFileName('test', 'x')));

    // A small seeded search for a corruption that breaks the reader (found within the first ten seeds).
    let found: { damaged: Buffer; error: Hdf5ReadError } | undefined;
    const damage = damager(7);
    for (let trial = 0; trial < 300 && found === undefined; trial++) {
      const damaged = damage(valid);
      writeFileSync(join(bad, yName), damaged);
      const instance = await loadHdf5();
      try {
        await pcam({ root: bad, onError: 'skip' });
      } catch (error) {
        // Every failure is typed and names the file.
        expect(error, String(error)).toBeInstanceOf(Hdf5ReadError);
        expect((error as Hdf5ReadError).file).toBe(join(bad, yName));
        // Broken: it trapped, or its wasm memory (which never shrinks) swelled past 1 GiB on a 4 KB file.
        if (instance.broken || instance.runtime.HEAPU8.length > 2 ** 30) found = { damaged, error: error as Hdf5ReadError };
      }
    }
    expect(found, 'no seed broke the reader').toBeDefined();
    const { damaged, error } = found!;
    expect(error.dataset).toBe('y');
    expect(error.message).toMatch(new RegExp(`^${join(bad, yName).replace(/[.]/g, '\\.')}: cannot read dataset "y" \\(`));

    // The same damaged file again and again: each time a fresh instance, each time the same typed error.
    writeFileSync(join(bad, yName), damaged);
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(pcam({ root: bad, onError: 'skip' })).rejects.toBeInstanceOf(Hdf5ReadError);
    }
    // And the valid split reads whole in the same process, through an instance with its memory to spare.
    expect(await readAll(good)).toEqual(expected);
    expect((await loadHdf5()).runtime.HEAPU8.length).toBeLessThan(2 ** 28);
  });

  it('a shape claiming more bytes than the file can hold is refused before anything is read', async () => {
    const root = folder('shape');
    await writePcamSplit({ root, official: 'test', count, blocks: [{ patches, labels }] });
    const yPath = join(root, pcamFileName('test', 'y'));
    const fileBytes = readFileSync(yPath).length;
    expect(() => checkSizeAgainstFile(yPath, 'y', [count, 1, 1, 1], false)).not.toThrow();
    expect(() => checkSizeAgainstFile(yPath, 'y', [2 ** 31, 1, 1, 1], false)).toThrow(
      new Hdf5ReadError(
        yPath,
        'y',
        `${yPath}: dataset "y" claims shape (2147483648, 1, 1, 1) (2147483648 bytes), more than a ${fileBytes}-byte file can hold stored plain; the file is damaged`,
      ),
    );
    // Compressed, deflate's ratio bounds it: 1100 times the file passes, more does not.
    expect(() => checkSizeAgainstFile(yPath, 'y', [fileBytes * 1100, 1, 1, 1], true)).not.toThrow();
    expect(() => checkSizeAgainstFile(yPath, 'y', [fileBytes * 1100 + 1, 1, 1, 1], true)).toThrow(/stored compressed|can hold compressed/);
  });
});
