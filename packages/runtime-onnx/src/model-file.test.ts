import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VisionTransformerArchitecture } from '@medssl/spec';
import { classTokenEmbedding, DINO_POSITION_RESAMPLING, randomCanonicalWeights, vitArchitecture } from '@medssl/weights';
import { afterAll, describe, expect, it } from 'vitest';
import { testBackbone } from '@medssl/parity';
import { attribute, GraphBuilder } from './graph-builder.js';
import { buildOnnxModel } from './model.js';
import { onnxModelEmbedder } from './model-file.js';
import { onnxRuntime } from './runtime.js';

// A small ViT keeps these tests quick; the full-size paths are covered by the parity tests.
const tinyVit: VisionTransformerArchitecture = vitArchitecture({
  patchSize: 16,
  embedDim: 64,
  depth: 4,
  heads: 2,
  mlp: { kind: 'gelu', hidden: 128 },
  positions: { grid: 4, resampling: DINO_POSITION_RESAMPLING },
});
const folder = mkdtempSync(join(tmpdir(), 'medssl-runtime-onnx-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const preprocessing = (size: number) => testBackbone('test:tiny', tinyVit, 'cls', size).preprocessing;

async function writeTinyVit(): Promise<string> {
  const weights = await randomCanonicalWeights(tinyVit, 3);
  const path = join(folder, 'tiny-vit.onnx');
  writeFileSync(path, buildOnnxModel(tinyVit, weights.tensors, { inputShape: [3, 64, 64], embedding: classTokenEmbedding(4) }).bytes);
  return path;
}

describe('onnxModelEmbedder', () => {
  it('runs a saved model exactly as the runtime runs the same graph', async () => {
    const path = await writeTinyVit();
    const fromFile = await onnxModelEmbedder(path, { outputName: 'embedding', preprocessing: preprocessing(64) });
    const backbone = testBackbone('test:tiny', tinyVit, 'cls-last-4', 64);
    const built = await onnxRuntime({ fusedAttention: false }).createEmbedder(backbone, await randomCanonicalWeights(tinyVit, 3));
    try {
      expect(fromFile.backboneId).toBe(`onnx:${path}`);
      expect(fromFile.provider).toBe('cpu');
      expect(fromFile.dimension).toBe(256);
      expect(fromFile.inputShape).toEqual([3, 64, 64]);
      const batch = { data: Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, index) => Math.sin(index)), shape: [2, 3, 64, 64] };
      expect(Array.from((await fromFile.embed(batch)).data)).toEqual(Array.from((await built.embed(batch)).data));
    } finally {
      await fromFile.dispose();
      await built.dispose();
    }
  });

  it('names what is wrong: a missing file, an absent output or input, a size the model does not take', async () => {
    const path = await writeTinyVit();
    await expect(onnxModelEmbedder(join(folder, 'absent.onnx'), { outputName: 'embedding', preprocessing: preprocessing(64) })).rejects.toThrow(
      /absent\.onnx does not exist/,
    );
    await expect(onnxModelEmbedder(path, { outputName: 'logits', preprocessing: preprocessing(64) })).rejects.toThrow(
      /no output named logits; its outputs are embedding/,
    );
    await expect(onnxModelEmbedder(path, { outputName: 'embedding', inputName: 'pixels', preprocessing: preprocessing(64) })).rejects.toThrow(
      /no input named pixels; its inputs are image/,
    );
    await expect(onnxModelEmbedder(path, { outputName: 'embedding', preprocessing: preprocessing(96) })).rejects.toThrow(
      /image has shape \[batch, 3, 64, 64\], but the preprocessing gives \[n, 3, 96, 96\]/,
    );
    await expect(onnxModelEmbedder(path, { outputName: 'embedding', preprocessing: preprocessing(64), dimension: 64 })).rejects.toThrow(
      /256 values per image, but dimension 64 was given/,
    );
  });

  it('learns a symbolic output width from one probe run', async () => {
    const graph = new GraphBuilder('pool');
    const image = graph.input('pixels', ['batch', 3, 'height', 'width']);
    const pooled = graph.node('Flatten', 'features', [graph.node('GlobalAveragePool', 'pooled', [image])], { axis: attribute.int(1) });
    graph.output(pooled, ['batch', 'channels']);
    const path = join(folder, 'pool.onnx');
    writeFileSync(path, graph.encode('test'));
    const embedder = await onnxModelEmbedder(path, { outputName: 'features', preprocessing: preprocessing(32), backboneId: 'onnx:pool' });
    try {
      expect(embedder.dimension).toBe(3);
      const ones = await embedder.embed({ data: new Float32Array(3 * 32 * 32).fill(1), shape: [1, 3, 32, 32] });
      expect(Array.from(ones.data)).toEqual([1, 1, 1]);
      // A view into a larger buffer is read from its own offset.
      const buffer = new Float32Array(4 * 3 * 32 * 32).map((_, index) => Math.floor(index / (3 * 32 * 32)));
      const view = await embedder.embed({ data: buffer.subarray(2 * 3 * 32 * 32), shape: [2, 3, 32, 32] });
      expect(Array.from(view.data)).toEqual([2, 2, 2, 3, 3, 3]);
      await expect(embedder.embed({ data: new Float32Array(3 * 64 * 32), shape: [1, 3, 64, 32] })).rejects.toThrow(
        /onnx:pool: expected a batch of shape \[n, 3, 32, 32\], got \[1, 3, 64, 32\]/,
      );
    } finally {
      await embedder.dispose();
    }
  });
});
