import type { Backbone } from '@medssl/spec';
import { describeRuntime } from '@medssl/spec/testing';
import { architectures } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { formulaCanonicalWeights, testBackbone } from './__fixtures__/reference.js';
import { TfjsBackendError, useTfjsBackend } from './backend.js';
import { tfjsRuntime } from './runtime.js';

// Closed-form weights: generated in a fraction of the time of seeded random ones, and as good a test.
const resnetWeights = formulaCanonicalWeights(architectures.resnet50);
const vitWeights = formulaCanonicalWeights(architectures.vits16);
// Small inputs keep the suites quick (the ViT resamples its positions to 2x2 patches).
const resnet50 = testBackbone('random:resnet50', architectures.resnet50, 'pooled', 32);
const vits16 = testBackbone('random:vits16', architectures.vits16, 'cls-last-4', 32);

describeRuntime('tfjs-wasm runtime, ResNet-50', () => ({ runtime: tfjsRuntime({ backend: 'wasm' }), backbone: resnet50, weights: resnetWeights }), {
  batchSize: 2,
});
describeRuntime('tfjs-wasm runtime, ViT-S/16', () => ({ runtime: tfjsRuntime({ backend: 'wasm' }), backbone: vits16, weights: vitWeights }), { batchSize: 3 });
// The cpu backend is about 40x slower than wasm: the contract with the ViT (ResNet-50 on cpu: parity.test.ts).
describeRuntime('tfjs-cpu runtime, ViT-S/16', () => ({ runtime: tfjsRuntime({ backend: 'cpu' }), backbone: vits16, weights: vitWeights }), { batchSize: 3 });

describe('tfjsRuntime', () => {
  it('reports the backend that runs and the input size of the preprocessing', async () => {
    const backbone = testBackbone('random:vits16', architectures.vits16, 'cls', 48);
    const runtime = tfjsRuntime({ backend: 'cpu' });
    expect(runtime.id).toBe('tfjs-cpu');
    const embedder = await runtime.createEmbedder(backbone, vitWeights, { device: 'cpu' });
    try {
      expect(embedder.provider).toBe('cpu');
      expect(embedder.runtimeId).toBe('tfjs-cpu');
      expect(embedder.inputShape).toEqual([3, 48, 48]);
      expect(embedder.dimension).toBe(384);
      const empty = await embedder.embed({ data: new Float32Array(0), shape: [0, 3, 48, 48] });
      expect(empty.shape).toEqual([0, 384]);
    } finally {
      await embedder.dispose();
    }
  });

  it('refuses unknown backends, other devices, and WebGPU without navigator.gpu', async () => {
    expect(() => tfjsRuntime({ backend: 'webgl' as 'wasm' })).toThrow(/unknown tfjs backend "webgl"; expected one of wasm, cpu, webgpu/);
    await expect(tfjsRuntime({ backend: 'wasm' }).createEmbedder(vits16, vitWeights, { device: 'cuda' })).rejects.toThrow(
      /tfjs-wasm runs on the tfjs 'wasm' backend, not device 'cuda'/,
    );
    // This test process never set up Dawn.
    await expect(useTfjsBackend('webgpu')).rejects.toThrow(TfjsBackendError);
    await expect(useTfjsBackend('webgpu')).rejects.toThrow(/needs navigator\.gpu/);
  });

  it('refuses weights, embeddings and inputs that do not fit, naming them', async () => {
    const runtime = tfjsRuntime({ backend: 'wasm' });
    await expect(runtime.createEmbedder(resnet50, vitWeights)).rejects.toThrow(/random:resnet50 is a ResNet-50 .* weights from formula\(v2\) are for a ViT/);
    const withoutNorm = { ...vitWeights, tensors: new Map([...vitWeights.tensors].filter(([name]) => name !== 'norm.bias')) };
    await expect(runtime.createEmbedder(vits16, withoutNorm)).rejects.toThrow(/norm\.bias/);
    await expect(runtime.createEmbedder({ ...vits16, embedding: { kind: 'pooled', dimension: 384 } }, vitWeights)).rejects.toThrow(
      /a ViT gives a 'tokens' embedding, not 'pooled'/,
    );
    await expect(
      runtime.createEmbedder(
        {
          ...testBackbone('random:vits16', architectures.vits16, 'cls'),
          embedding: { ...testBackbone('random:vits16', architectures.vits16, 'cls').embedding, dimension: 1536 },
        },
        vitWeights,
      ),
    ).rejects.toThrow(/384-d .* declares 1536/);
    const noFixedSize: Backbone = { ...vits16, preprocessing: { resize: { size: 256, interpolation: 'bicubic' }, channels: 3 } };
    await expect(runtime.createEmbedder(noFixedSize, vitWeights)).rejects.toThrow(/no fixed input size/);
  });

  it('refuses a batch whose values do not fill its shape, and use after dispose', async () => {
    const embedder = await tfjsRuntime({ backend: 'wasm' }).createEmbedder(vits16, vitWeights);
    try {
      await expect(embedder.embed({ data: new Float32Array(10), shape: [1, 3, 32, 32] })).rejects.toThrow(/\[1, 3, 32, 32\] needs 3072 values, got 10/);
      await expect(embedder.embed({ data: new Float32Array(3 * 32 * 32), shape: [3, 32, 32] })).rejects.toThrow(
        /expected a batch of shape \[n, 3, 32, 32\], got \[3, 32, 32\]/,
      );
    } finally {
      await embedder.dispose();
    }
    await expect(embedder.embed({ data: new Float32Array(3 * 32 * 32), shape: [1, 3, 32, 32] })).rejects.toThrow(/disposed/);
  });

  it('fails loudly, rather than moving data, when another backend became active', async () => {
    const embedder = await tfjsRuntime({ backend: 'wasm' }).createEmbedder(vits16, vitWeights);
    try {
      await useTfjsBackend('cpu');
      await expect(embedder.embed({ data: new Float32Array(3 * 32 * 32), shape: [1, 3, 32, 32] })).rejects.toThrow(
        /lives on tfjs backend 'wasm', but 'cpu' is active now/,
      );
    } finally {
      await embedder.dispose();
    }
  });
});
