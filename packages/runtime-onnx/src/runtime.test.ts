import { describeRuntime } from '@medssl/spec/testing';
import type { CanonicalWeights } from '@medssl/spec';
import { architectures, randomCanonicalWeights, vitArchitecture } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { testBackbone } from '@medssl/parity';
import { onnxRuntime } from './runtime.js';

// One set of weights per architecture for all the checks: generating them takes seconds.
const cached = new Map<string, Promise<CanonicalWeights>>();
const randomWeights = (name: keyof typeof architectures) => {
  if (!cached.has(name)) cached.set(name, randomCanonicalWeights(architectures[name], 0));
  return cached.get(name)!;
};

const resnet50 = testBackbone('random:resnet50', architectures.resnet50, 'pooled');
const vits16 = testBackbone('random:vits16', architectures.vits16, 'cls-last-4');

describeRuntime(
  'onnx runtime, ResNet-50',
  async () => ({ runtime: onnxRuntime(), backbone: resnet50, weights: await randomWeights('resnet50'), options: { threads: 2 } }),
  { batchSize: 2 },
);
describeRuntime('onnx runtime, ViT-S/16', async () => ({ runtime: onnxRuntime(), backbone: vits16, weights: await randomWeights('vits16') }), { batchSize: 3 });
// DINOv2 with registers, small (SwiGLU, LayerScale, 4 registers, positions resampled by size with
// antialiasing), with MAE's global pool: the contract holds for random weights of any description.
const registersVit = vitArchitecture({
  patchSize: 14,
  embedDim: 48,
  depth: 3,
  heads: 3,
  mlp: { kind: 'swiglu', hidden: 64 },
  layerScale: true,
  registers: 4,
  positions: { grid: 5, resampling: { mode: 'bicubic', antialias: true } },
});
const globalPool = testBackbone(
  'random:registers',
  registersVit,
  { kind: 'tokens', classTokens: 0, patchMean: true, tokenNorm: 'none', outputNorm: 'plain' },
  56,
);
describeRuntime(
  'onnx runtime, ViT with SwiGLU, LayerScale and registers',
  async () => ({ runtime: onnxRuntime(), backbone: globalPool, weights: await randomCanonicalWeights(registersVit, 0) }),
  { batchSize: 3 },
);

describe('onnxRuntime', () => {
  it('reports the CPU execution provider and the input size of the preprocessing', async () => {
    const backbone = testBackbone('random:vits16', architectures.vits16, 'cls', 160);
    const embedder = await onnxRuntime({ threads: 1 }).createEmbedder(backbone, await randomWeights('vits16'), { device: 'cpu' });
    try {
      expect(embedder.provider).toBe('cpu');
      expect(embedder.inputShape).toEqual([3, 160, 160]);
      expect(embedder.dimension).toBe(384);
      const empty = await embedder.embed({ data: new Float32Array(0), shape: [0, 3, 160, 160] });
      expect(empty.shape).toEqual([0, 384]);
    } finally {
      await embedder.dispose();
    }
  });

  it('refuses CUDA clearly when its provider is not installed', async () => {
    const weights = await randomWeights('vits16');
    await expect(onnxRuntime().createEmbedder(vits16, weights, { device: 'cuda' })).rejects.toThrow(/CUDA.*ONNXRUNTIME_NODE_INSTALL_CUDA=1/s);
    await expect(onnxRuntime().createEmbedder(vits16, weights, { device: 'tpu' })).rejects.toThrow(/'cpu' or 'cuda', not 'tpu'/);
  });

  it('refuses weights, embeddings and inputs that do not fit, naming them', async () => {
    const weights = await randomWeights('vits16');
    const runtime = onnxRuntime();
    await expect(runtime.createEmbedder(resnet50, weights)).rejects.toThrow(/random:resnet50 is a ResNet-50 .* weights from random\(seed=0\) are for a ViT/);
    const withoutNorm = { ...weights, tensors: new Map([...weights.tensors].filter(([name]) => name !== 'norm.bias')) };
    await expect(runtime.createEmbedder(vits16, withoutNorm)).rejects.toThrow(/norm\.bias/);
    const pooledVit = { ...vits16, embedding: { kind: 'pooled' as const, dimension: 384 } };
    await expect(runtime.createEmbedder(pooledVit, weights)).rejects.toThrow(/a ViT gives a 'tokens' embedding, not 'pooled'/);
    const cls = testBackbone('random:vits16', architectures.vits16, 'cls');
    const wrongDimension = { ...cls, embedding: { ...cls.embedding, dimension: 1536 } };
    await expect(runtime.createEmbedder(wrongDimension, weights)).rejects.toThrow(/384-d .* declares 1536/);
    const noFixedSize = { ...vits16, preprocessing: { resize: { size: 256, interpolation: 'bicubic' as const }, channels: 3 as const } };
    await expect(runtime.createEmbedder(noFixedSize, weights)).rejects.toThrow(/no fixed input size/);
  });

  it('refuses a batch whose values do not fill its shape', async () => {
    const embedder = await onnxRuntime().createEmbedder(vits16, await randomWeights('vits16'));
    try {
      await expect(embedder.embed({ data: new Float32Array(10), shape: [1, 3, 224, 224] })).rejects.toThrow(/\[1, 3, 224, 224\] needs 150528 values, got 10/);
      await expect(embedder.embed({ data: new Float32Array(3 * 224 * 224), shape: [3, 224, 224] })).rejects.toThrow(
        /expected a batch of shape \[n, 3, 224, 224\], got \[3, 224, 224\]/,
      );
    } finally {
      await embedder.dispose();
    }
    await expect(embedder.embed({ data: new Float32Array(3 * 224 * 224), shape: [1, 3, 224, 224] })).rejects.toThrow(/disposed/);
  });
});
