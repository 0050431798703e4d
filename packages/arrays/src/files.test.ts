import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFileAtomic, writeFileAtomic, writeFileAtomicFrom } from './files.js';

describe('atomic file writes', () => {
  it('write text and byte chunks in order, and leave no temporary file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-files-'));
    const path = join(folder, 'manifest.json');
    await writeFileAtomic(path, ['{"a":', Uint8Array.from([0x31]), '}']);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}');
    await writeFileAtomic(path, 'replaced');
    expect(readFileSync(path, 'utf8')).toBe('replaced');
    expect(readdirSync(folder)).toEqual(['manifest.json']);
  });

  it('stream pieces, returning their size and SHA-256; a failing source leaves the old file as it was', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-files-'));
    const path = join(folder, 'features.npy');
    const pieces = [Uint8Array.from([1, 2, 3]), new Uint8Array(100_000).fill(7)];
    const written = await writeFileAtomicFrom(path, pieces);
    const whole = readFileSync(path);
    expect(written).toEqual({ bytes: 100_003, sha256: createHash('sha256').update(whole).digest('hex') });

    async function* failing() {
      yield Uint8Array.from([9, 9]);
      throw new Error('the source broke');
    }
    await expect(writeFileAtomicFrom(path, failing())).rejects.toThrow('the source broke');
    expect(readFileSync(path).equals(whole)).toBe(true);
    expect(readdirSync(folder)).toEqual(['features.npy']);
  });

  it('copy a file, and name a missing source without leaving anything behind', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-files-'));
    writeFileSync(join(folder, 'source.bin'), 'payload');
    await copyFileAtomic(join(folder, 'source.bin'), join(folder, 'copy.bin'));
    expect(readFileSync(join(folder, 'copy.bin'), 'utf8')).toBe('payload');
    await expect(copyFileAtomic(join(folder, 'missing.bin'), join(folder, 'other.bin'))).rejects.toThrow(/ENOENT.*missing\.bin/);
    expect(readdirSync(folder).sort()).toEqual(['copy.bin', 'source.bin']);
  });
});
