import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { architectures, canonicalTensorShapes, encodeTorchCheckpoint, huggingFaceCheckpointKey, stateDictInLayout } from '@medssl/weights';
import { writeSafetensorsFile } from '@medssl/weights/node';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';
import { cliRegistry } from '../registry.js';

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

  it('names the layout and architecture of a checkpoint, and the backbone ids that read it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-weights-'));
    // DINO's full training checkpoint: teacher and student, heads, and the pickled training arguments.
    const teacher = Object.fromEntries(stateDictInLayout(architectures.vits16, (name) => `backbone.${name}`));
    const file = join(folder, 'dino_deitsmall16_pretrain_full_checkpoint.pth');
    writeFileSync(file, encodeTorchCheckpoint({ teacher: { ...teacher, 'head.last_layer.weight': { data: new Float32Array(4), shape: [2, 2] } }, epoch: 100 }));
    const { io, out } = captureIo();
    expect(await main(['weights', 'inspect', file], io)).toBe(0);
    expect(out.join('')).toContain('Read by:\n  DINO (official), ViT-S/16, 12 blocks, no registers: dino:vits16, dino:vits16-cls\n');

    const json = captureIo();
    expect(await main(['weights', 'inspect', file, '--json'], json.io)).toBe(0);
    // iBOT's full checkpoints wrap the teacher the same way, so its ViT-S/16 reads DINO's file too.
    expect(JSON.parse(json.out.join('')).readers).toEqual([
      { layout: 'DINO (official)', architecture: 'ViT-S/16, 12 blocks, no registers', backbones: ['dino:vits16', 'dino:vits16-cls'] },
      { layout: 'iBOT (official)', architecture: 'ViT-S/16, 12 blocks, no registers', backbones: ['ibot:vits16', 'ibot:vits16-cls'] },
    ]);
  });

  it("names a Hugging Face Dinov2Model file's readers: RAD-DINO and DINOv2 ViT-B/14 from the Hub", async () => {
    const architecture = cliRegistry().backbone('dinov2:rad-dino').architecture;
    // One shared zero buffer: the mapping reads shapes and names, and a ViT-B need not be allocated.
    const zeros = new Float32Array(Math.max(...[...canonicalTensorShapes(architecture).values()].map((shape) => shape.reduce((a, b) => a * b, 1))));
    const tensors = new Map(
      [...canonicalTensorShapes(architecture)].map(([name, shape]) => [
        name,
        {
          data: zeros.subarray(
            0,
            shape.reduce((a, b) => a * b, 1),
          ),
          shape,
        },
      ]),
    );
    const stateDict = stateDictInLayout(architecture, (name) => huggingFaceCheckpointKey(name, 'dinov2'), { 'embeddings.mask_token': [1, 768] }, tensors);
    const file = join(mkdtempSync(join(tmpdir(), 'medssl-weights-')), 'model.safetensors');
    await writeSafetensorsFile(file, stateDict);
    const { io, out } = captureIo();
    expect(await main(['weights', 'inspect', file], io)).toBe(0);
    expect(out.join('')).toMatch(
      /Read by:\n {2}Hugging Face Dinov2Model, ViT-B\/14, 12 blocks, no registers: [^\n]*dinov2:vitb14-hf[^\n]*dinov2:rad-dino[^\n]*\n/,
    );
  });

  it('says when no backbone reads a checkpoint', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'medssl-weights-')), 'unknown.pth');
    writeFileSync(file, encodeTorchCheckpoint({ 'encoder.stem.weight': { data: new Float32Array(6), shape: [2, 3] } }));
    const { io, out } = captureIo();
    expect(await main(['weights', 'inspect', file], io)).toBe(0);
    expect(out.join('')).toMatch(/No backbone here reads this layout/);
  });

  it('names a file that is not a checkpoint', async () => {
    const { io, err } = captureIo();
    expect(await main(['weights', 'inspect', join(import.meta.dirname, 'weights.ts')], io)).toBe(1);
    expect(err.join('')).toMatch(/weights\.ts/);
  });
});
