import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectedFile, expectTensors, fixturePath } from './__fixtures__/fixtures.js';
import { readCheckpointFile, writeSafetensorsFile } from './node.js';
import { encodeSafetensors } from './safetensors.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'medssl-weights-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('checkpoint files', () => {
  it.each(['small_zip.pth', 'dtypes_zip.pth', 'swav_like_legacy.pth.tar', 'all_dtypes.safetensors', 'arrays.npz'])(
    'reads %s with the SHA-256 Python computed',
    async (name) => {
      const path = fixturePath(name);
      const checkpoint = await readCheckpointFile(path);
      expect(checkpoint.sha256).toBe(expectedFile(name).sha256);
      expect(checkpoint.path).toBe(path);
      expect(checkpoint.name).toBe(path);
      expectTensors(checkpoint.tensors, name);
    },
  );

  it('reads zip storages straight into tensor memory, never shared between tensors', async () => {
    const { tensors } = await readCheckpointFile(fixturePath('dtypes_zip.pth'));
    const buffers = [...tensors.values()].filter((tensor) => tensor.data.length > 0).map((tensor) => tensor.data.buffer);
    expect(new Set(buffers).size).toBe(buffers.length);
    // A tensor spanning its whole storage keeps the buffer the storage was read into.
    const counter = tensors.get('int32')!;
    expect(counter.data.byteLength).toBe(counter.data.buffer.byteLength);
  });

  it('names the path when the file is missing or refused', async () => {
    const missing = join(directory, 'nope.pth');
    await expect(readCheckpointFile(missing)).rejects.toThrow(`${missing}: cannot read the checkpoint (ENOENT`);
    await expect(readCheckpointFile(fixturePath('malicious_zip.pth'))).rejects.toThrow(
      `${fixturePath('malicious_zip.pth')}: refusing to load global "posix.system"`,
    );
  });

  it('writes safetensors files that read back the same', async () => {
    const path = join(directory, 'weights.safetensors');
    const tensors = new Map([
      ['fc.weight', { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
      ['bn.num_batches_tracked', { data: new BigInt64Array([9n]), shape: [] }],
    ]);
    await writeSafetensorsFile(path, tensors, { format: 'pt' });
    expect(new Uint8Array(await readFile(path))).toEqual(encodeSafetensors(tensors, { format: 'pt' }));
    const checkpoint = await readCheckpointFile(path);
    expect(checkpoint.stateDict.get('fc.weight')).toEqual({ data: tensors.get('fc.weight')!.data, shape: [2, 3] });
    expect(checkpoint.tensors.get('bn.num_batches_tracked')!.data).toEqual(new BigInt64Array([9n]));
  });
});
