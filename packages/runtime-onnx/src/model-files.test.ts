import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomCanonicalWeights, vitArchitecture } from '@medssl/weights';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOnnxModel } from './model.js';
import { createBuiltModelSession, saveOnnxModel } from './model-files.js';
import { createOnnxSession } from './session.js';

const architecture = vitArchitecture({
  patchSize: 8,
  embedDim: 32,
  depth: 2,
  heads: 2,
  layerScale: true,
  registers: 2,
  positions: { grid: 4, resampling: { mode: 'bicubic', offset: 0.1, antialias: false } },
});
const options = { inputShape: [3, 40, 40], embedding: { kind: 'tokens', classTokens: 2, patchMean: true, tokenNorm: 'final', outputNorm: 'none' } } as const;
const image = new ort.Tensor(
  'float32',
  Float32Array.from({ length: 3 * 40 * 40 }, (_, index) => Math.sin(index)),
  [1, 3, 40, 40],
);
const scratch = mkdtempSync(join(tmpdir(), 'medssl-model-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function embed(session: ort.InferenceSession): Promise<Float32Array> {
  const result = await session.run({ image });
  return result.embedding!.data as Float32Array;
}

describe('models with external data (past protobuf 2 GiB: ViT-g/14, ViT-H/14)', () => {
  it('keeps small models whole, and moves every large initializer to a page-aligned data file when asked', async () => {
    const { tensors } = await randomCanonicalWeights(architecture, 0);
    const whole = buildOnnxModel(architecture, tensors, options);
    expect(whole.externalData).toBeUndefined();
    const split = buildOnnxModel(architecture, tensors, { ...options, externalDataAbove: 0 });
    expect(split.externalData?.location).toBe('weights.bin');
    expect(split.bytes.byteLength).toBeLessThan(whole.bytes.byteLength / 4);

    const reference = await embed((await createOnnxSession(whole.bytes, { threads: 1 })).session);
    const fromParts = await embed((await createBuiltModelSession(split, { threads: 1 })).session);
    expect(Array.from(fromParts)).toEqual(Array.from(reference));

    // Saved as two files, loaded by path as any ONNX tool would.
    const path = join(scratch, 'vit.onnx');
    saveOnnxModel(split, path);
    expect(readdirSync(scratch).sort()).toEqual(['vit.onnx', 'weights.bin']);
    expect(statSync(join(scratch, 'weights.bin')).size).toBe(split.externalData!.byteLength);
    expect(Array.from(await embed((await createOnnxSession(path, { threads: 1 })).session))).toEqual(Array.from(reference));
  });

  it('leaves no temporary files behind', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('medssl-onnx-'));
    const { tensors } = await randomCanonicalWeights(architecture, 1);
    await createBuiltModelSession(buildOnnxModel(architecture, tensors, { ...options, externalDataAbove: 0 }), { threads: 1 });
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith('medssl-onnx-'));
    expect(after.filter((name) => !before.includes(name) && existsSync(join(tmpdir(), name)))).toEqual([]);
  });
});
