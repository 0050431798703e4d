import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensorsFile } from '@medssl/weights/node';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';

describe('medssl weights inspect', () => {
  it('lists tensors, their types and shapes, and the file hash', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'medssl-weights-')), 'tiny.safetensors');
    await writeSafetensorsFile(file, {
      'conv1.weight': { dtype: 'F32', shape: [4, 3, 1, 1], data: new Float32Array(12) },
      'bn1.num_batches_tracked': { dtype: 'I64', shape: [], data: new BigInt64Array(1) },
    });
    const { io, out } = captureIo();
    expect(await main(['weights', 'inspect', file], io)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/tiny\.safetensors: safetensors, 2 tensors, 13 values, sha256 [0-9a-f]{64}/);
    expect(text).toMatch(/conv1\.weight\s+float32\s+\[4, 3, 1, 1\]/);
    const json = captureIo();
    expect(await main(['weights', 'inspect', file, '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join('')).tensors).toHaveLength(2);
  });

  it('names a file that is not a checkpoint', async () => {
    const { io, err } = captureIo();
    expect(await main(['weights', 'inspect', join(import.meta.dirname, 'weights.ts')], io)).toBe(1);
    expect(err.join('')).toMatch(/weights\.ts/);
  });
});
