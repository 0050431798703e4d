/**
 * Conformance tests that every RawInflater passes: the web-standard one (npz.test.ts) and the
 * node:zlib one (node.test.ts).
 */
import { describe, expect, it } from 'vitest';

import { byteSourceFromBytes, type ByteSource } from '../byte-source.js';
import { ArrayFormatError } from '../errors.js';
import { openNpz } from '../npz.js';
import { readZipDirectory, type RawInflater } from '../zip.js';
import { dataBytes, manifest, readFixture, sha256 } from './fixtures.js';

/** Offset of the central directory header of `fileName`. */
function centralDirectoryEntryOffset(bytes: Uint8Array, fileName: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset + 46 <= bytes.length; offset++) {
    if (view.getUint32(offset, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(offset + 28, true);
    if (new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength)) === fileName) return offset;
  }
  throw new Error(`no central directory entry for ${fileName}`);
}

/** savez_compressed.npz with the central directory's sizes of big.npy changed by the given amounts. */
function withChangedSizes(compressedChange: number, uncompressedChange: number): Uint8Array {
  const bytes = readFixture('savez_compressed.npz');
  const view = new DataView(bytes.buffer);
  const entry = centralDirectoryEntryOffset(bytes, 'big.npy');
  view.setUint32(entry + 20, view.getUint32(entry + 20, true) + compressedChange, true);
  view.setUint32(entry + 24, view.getUint32(entry + 24, true) + uncompressedChange, true);
  return bytes;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function describeRawInflater(name: string, inflateRaw: RawInflater): void {
  const options = { inflateRaw };

  describe(`RawInflater conformance: ${name}`, () => {
    it.each(['savez_compressed.npz', 'savez_zip64.npz', 'savez_streamed.npz'])('decodes %s as numpy does', async (fileName) => {
      const archive = await openNpz(readFixture(fileName), fileName, options);
      for (const [key, expected] of Object.entries(manifest.npz[fileName]!.members)) {
        expect(sha256(dataBytes(await archive.read(key))), key).toBe(expected.dataSha256);
      }
    });

    it('stops early to read only a header', async () => {
      const archive = await openNpz(readFixture('savez_compressed.npz'), 'savez_compressed.npz', options);
      expect((await archive.readHeader('big')).shape).toEqual([300, 240]);
      expect((await archive.readHeader('empty')).shape).toEqual([0, 3]);
    });

    it('reports corrupt deflate data, naming the member', async () => {
      const bytes = readFixture('savez_compressed.npz');
      const big = (await readZipDirectory(byteSourceFromBytes(bytes), 'x')).find((entry) => entry.fileName === 'big.npy')!;
      const middle = big.localHeaderOffset + 100 + Math.floor(big.compressedSize / 2);
      bytes.fill(0xff, middle, middle + 64);
      const error = await rejection((await openNpz(bytes, 'broken.npz', options)).read('big'));
      expect(error).toBeInstanceOf(ArrayFormatError);
      expect((error as ArrayFormatError).file).toBe('broken.npz[big.npy]');
    });

    it('reports compressed data cut short', async () => {
      const error = await rejection((await openNpz(withChangedSizes(-1000, 0), 'short.npz', options)).read('big'));
      expect(error).toBeInstanceOf(ArrayFormatError);
      expect((error as ArrayFormatError).message).toMatch(
        /^short\.npz\[big\.npy\]: deflate data: could not be decompressed \(.+\); the archive is corrupt or truncated$/,
      );
    });

    it('reports more or less output than the directory declares', async () => {
      await expect((await openNpz(withChangedSizes(0, -1), 'sizes.npz', options)).read('big')).rejects.toThrow(
        'sizes.npz[big.npy]: uncompressed size: expected 72127 bytes, but decompression produced more',
      );
      await expect((await openNpz(withChangedSizes(0, 5), 'sizes.npz', options)).read('big')).rejects.toThrow(
        'sizes.npz[big.npy]: uncompressed size: expected 72133 bytes, decompression produced 72128',
      );
    });

    it('passes a failure to read the archive on unchanged', async () => {
      const bytes = readFixture('savez_compressed.npz');
      const inputOutput = new Error('EIO: i/o error, read');
      const inner = byteSourceFromBytes(bytes);
      // Directory and header reads are small; the member's compressed data is one 20 KB read.
      const failing: ByteSource = {
        size: inner.size,
        read: (offset, length) => (length > 10_000 ? Promise.reject(inputOutput) : inner.read(offset, length)),
      };
      const archive = await openNpz(failing, 'failing.npz', options);
      expect(await rejection(archive.read('big'))).toBe(inputOutput);
      expect([...(await archive.read('targets')).data]).toEqual([3, 1, 4, 1, 5, 9]);
    });
  });
}
