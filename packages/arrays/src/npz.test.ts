import { describe, expect, it } from 'vitest';

import { dataBytes, manifest, readFixture, sha256 } from './__fixtures__/fixtures.js';
import { describeRawInflater } from './__fixtures__/inflater-suite.js';
import { byteSourceFromBytes, type ByteSource } from './byte-source.js';
import { crc32 } from './crc32.js';
import { ArrayFormatError } from './errors.js';
import { openNpz, readNpz } from './npz.js';
import { inflateRawWithDecompressionStream, readZipDirectory, readZipEntry } from './zip.js';

async function rejection(promise: Promise<unknown>): Promise<ArrayFormatError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ArrayFormatError);
    return error as ArrayFormatError;
  }
  throw new Error('expected a rejection');
}

/** A source that counts the bytes read through it. */
function countingSource(bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const inner = byteSourceFromBytes(bytes);
  const source = {
    size: inner.size,
    bytesRead: 0,
    read: (offset: number, length: number) => {
      source.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return source;
}

/** Offset of the first central directory header (signature PK\x01\x02). */
function centralDirectoryOffset(bytes: Uint8Array): number {
  for (let offset = 0; offset + 4 <= bytes.length; offset++) {
    if (bytes[offset] === 0x50 && bytes[offset + 1] === 0x4b && bytes[offset + 2] === 1 && bytes[offset + 3] === 2) return offset;
  }
  throw new Error('no central directory');
}

describeRawInflater('DecompressionStream', inflateRawWithDecompressionStream);

describe('crc32', () => {
  it('gives the standard check value and continues over pieces', () => {
    const text = new TextEncoder().encode('123456789');
    expect(crc32(text)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const long = Uint8Array.from({ length: 1000 }, (_, index) => (index * 7919) & 0xff);
    expect(crc32(long.subarray(333), crc32(long.subarray(0, 333)))).toBe(crc32(long));
  });
});

describe('readNpz on archives written by numpy', () => {
  it.each(Object.entries(manifest.npz))('%s: every array matches numpy', async (fileName, fixture) => {
    const arrays = await readNpz(readFixture(fileName), fileName);
    expect([...arrays.keys()]).toEqual(fixture.keys);
    for (const [key, expected] of Object.entries(fixture.members)) {
      const array = arrays.get(key)!;
      expect(array.dtype, key).toBe(expected.dtype);
      expect(array.shape, key).toEqual(expected.shape);
      expect(sha256(dataBytes(array)), key).toBe(expected.dataSha256);
    }
  });

  it('reads stored (np.savez) and deflated (np.savez_compressed) members, including one over 64 KB', async () => {
    for (const fileName of ['savez_stored.npz', 'savez_compressed.npz']) {
      const archive = await openNpz(readFixture(fileName), fileName);
      const big = archive.members.find((member) => member.key === 'big')!;
      expect(big.uncompressedSize).toBeGreaterThan(64 * 1024);
      expect(big.compressed).toBe(fileName === 'savez_compressed.npz');
      const array = await archive.read('big');
      expect(array.shape).toEqual([300, 240]);
      expect(sha256(dataBytes(array))).toBe(manifest.npz[fileName]!.members.big!.dataSha256);
    }
    const compressed = await openNpz(readFixture('savez_compressed.npz'));
    const big = compressed.members.find((member) => member.key === 'big')!;
    expect(big.compressedSize).toBeLessThan(big.uncompressedSize / 2);
  });

  it('reads ZIP64 end records and ZIP64 extra fields', async () => {
    const bytes = readFixture('savez_zip64.npz');
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).toContain('PK\u0006\u0006');
    expect(text).toContain('PK\u0006\u0007');
    const entries = await readZipDirectory(byteSourceFromBytes(bytes), 'savez_zip64.npz');
    expect(entries.map((entry) => entry.fileName)).toEqual(['features.npy', 'targets.npy', 'labels.npy']);
    expect(entries.every((entry, index) => index === 0 || entry.localHeaderOffset > 0)).toBe(true);
    const arrays = await readNpz(bytes);
    expect([...arrays.get('labels')!.data]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it.each([10, 6000, 65535])('finds the directory behind an archive comment of %i bytes', async (commentLength) => {
    const original = readFixture('savez_zip64.npz');
    const bytes = new Uint8Array(original.length + commentLength);
    bytes.set(original);
    bytes.fill(0x41, original.length);
    new DataView(bytes.buffer).setUint16(original.length - 2, commentLength, true);
    expect([...(await readNpz(bytes)).keys()]).toEqual(['features', 'targets', 'labels']);
  });

  it('reads members followed by data descriptors (written to a stream)', async () => {
    const bytes = readFixture('savez_streamed.npz');
    const entries = await readZipDirectory(byteSourceFromBytes(bytes), 'savez_streamed.npz');
    expect(entries.every((entry) => (entry.flags & 0x08) !== 0)).toBe(true);
    expect([...(await readNpz(bytes)).get('targets')!.data]).toEqual([1, 0]);
  });

  it('decodes one array on demand, reading only that member', async () => {
    const bytes = readFixture('savez_stored.npz');
    const source = countingSource(bytes);
    const archive = await openNpz(source, 'savez_stored.npz');
    expect(archive.keys).toEqual(['features', 'targets', 'big', 'scalar', 'empty', 'flags']);
    expect(archive.has('targets')).toBe(true);
    expect(archive.has('missing')).toBe(false);
    const targets = await archive.read('targets');
    expect([...targets.data]).toEqual([3, 1, 4, 1, 5, 9]);
    // The end of the archive (4 KB, holding the directory) and the member itself, of 72 KB in all.
    expect(source.bytesRead).toBeLessThan(5000);
  });

  it('reads the header of one array without decoding its data', async () => {
    for (const fileName of ['savez_stored.npz', 'savez_compressed.npz']) {
      const archive = await openNpz(readFixture(fileName), fileName);
      const header = await archive.readHeader('big');
      expect(header.dtype).toBe('uint8');
      expect(header.shape).toEqual([300, 240]);
      expect(header.dataOffset).toBe(128);
      const scalarHeader = await archive.readHeader('scalar');
      expect(scalarHeader.shape).toEqual([]);
      expect(scalarHeader.dtype).toBe('float64');
    }
  });

  it('reads from a Blob, as from a browser File', async () => {
    const archive = await openNpz(new Blob([readFixture('savez_compressed.npz')]), 'upload.npz');
    expect([...(await archive.read('targets')).data]).toEqual([3, 1, 4, 1, 5, 9]);
  });

  it('lists members that are not arrays without decoding them', async () => {
    const archive = await openNpz(readFixture('mixed_members.npz'), 'mixed_members.npz');
    expect(archive.keys).toEqual(['values']);
    expect(archive.otherFileNames).toEqual(['notes.txt']);
    expect([...(await readNpz(readFixture('mixed_members.npz'))).keys()]).toEqual(['values']);
  });

  it('names the archive and the known keys when a key is missing', async () => {
    const archive = await openNpz(readFixture('savez_zip64.npz'), 'data.npz');
    await expect(archive.read('train_images')).rejects.toThrow("data.npz: no array named 'train_images'; the archive holds 'features', 'targets', 'labels'");
  });
});

describe('readNpz refuses damaged archives, naming archive and member', () => {
  it('a CRC-32 mismatch', async () => {
    const archive = await openNpz(readFixture('savez_crc_corrupted.npz'), 'savez_crc_corrupted.npz');
    expect([...(await archive.read('features')).data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const error = await rejection(archive.read('targets'));
    expect(error.file).toBe('savez_crc_corrupted.npz[targets.npy]');
    expect(error.field).toBe('CRC-32');
    expect(error.message).toMatch(/mismatch: the central directory says 0x[0-9a-f]{8}, the data gives 0x[0-9a-f]{8}; the member is corrupt/);
  });

  it('a truncated archive', async () => {
    const error = await rejection(readNpz(readFixture('savez_truncated.npz'), 'savez_truncated.npz'));
    expect(error.message).toBe(
      'savez_truncated.npz: end of central directory: signature 50 4b 05 06 not found in the last 368 bytes; ' +
        'the file is not a ZIP (NPZ) archive or is truncated',
    );
    expect((await rejection(readNpz(new Uint8Array(10), 'tiny.npz'))).message).toContain('the file has 10 bytes');
  });

  it('a member cut short inside the archive', async () => {
    const bytes = readFixture('savez_stored.npz');
    const entries = await readZipDirectory(byteSourceFromBytes(bytes), 'cut.npz');
    const big = entries.find((entry) => entry.fileName === 'big.npy')!;
    // The directory as it was, over an archive that ends 1000 bytes into the member.
    const cut = byteSourceFromBytes(bytes.subarray(0, big.localHeaderOffset + 1000));
    const error = await rejection(readZipEntry(cut, big, 'cut.npz'));
    expect(error.file).toBe('cut.npz[big.npy]');
    expect(error.message).toBe(
      `cut.npz[big.npy]: data: truncated: expected 72128 bytes from offset ${big.localHeaderOffset + 30 + 'big.npy'.length + 20}, ` +
        `but the archive has ${1000 - 30 - 'big.npy'.length - 20}`,
    );
  });

  it('an unsupported compression method', async () => {
    const bytes = readFixture('savez_zip64.npz');
    const directory = centralDirectoryOffset(bytes);
    new DataView(bytes.buffer).setUint16(directory + 10, 12, true);
    const error = await rejection((await openNpz(bytes, 'bzip2.npz')).read('features'));
    expect(error.message).toBe('bzip2.npz[features.npy]: compression method: expected 0 (stored) or 8 (deflate), got 12 (bzip2)');
  });
});
