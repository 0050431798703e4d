import type { CanonicalWeights } from '@medssl/spec';
import { architectures, canonicalTensorShapes, classTokenEmbedding, DINO_POSITION_RESAMPLING, vitArchitecture } from '@medssl/weights';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { formulaCanonicalWeights, formulaImages, formulaValues, relativeError, testBackbone, weightedSum } from './__fixtures__/reference.js';
import { TfjsBackendError, useTfjsBackend } from './backend.js';
import { createTfjsModel, type TfjsModel } from './model.js';
import { tfjsRuntime } from './runtime.js';

const tinyVit = vitArchitecture({ patchSize: 8, embedDim: 48, depth: 4, heads: 3, positions: { grid: 4, resampling: DINO_POSITION_RESAMPLING } });
// DINOv2 with registers, small: SwiGLU, LayerScale, 4 registers, positions resampled by size with antialiasing.
const registersVit = vitArchitecture({
  patchSize: 8,
  embedDim: 48,
  depth: 3,
  heads: 3,
  mlp: { kind: 'swiglu', hidden: 64 },
  layerScale: true,
  registers: 4,
  positions: { grid: 4, resampling: { mode: 'bicubic', antialias: true } },
});
const resnet = testBackbone('test:resnet50', architectures.resnet50, 'pooled', 32);
const vit = testBackbone('test:vit', tinyVit, 'cls-last-4', 40);
const registers = testBackbone('test:registers', registersVit, classTokenEmbedding(1, { patchMean: true }), 40);
const globalPool = testBackbone(
  'test:registers',
  registersVit,
  { kind: 'tokens', classTokens: 0, patchMean: true, tokenNorm: 'none', outputNorm: 'plain' },
  40,
);
let resnetWeights: CanonicalWeights;
let vitWeights: CanonicalWeights;
let registersWeights: CanonicalWeights;

const images = (count: number, size: number) => tf.tensor4d(formulaImages(count, size).data, [count, 3, size, size]);
const names = (model: TfjsModel) => model.trainableVariables.map((variable) => variable.name.slice(variable.name.indexOf('/') + 1));

/** One plain SGD step on sum(embedding ⊙ R). */
function sgdStep(model: TfjsModel, batch: tf.Tensor4D, learningRate: number): void {
  const projection = tf.tensor2d(formulaValues('sgd', batch.shape[0] * model.dimension, 0, 1), [batch.shape[0], model.dimension]);
  const { value, grads } = tf.variableGrads(() => weightedSum(model.embed(batch, true), projection), [...model.trainableVariables]);
  for (const variable of model.trainableVariables) {
    const updated = tf.tidy(() => tf.sub(variable, tf.mul(grads[variable.name]!, learningRate)));
    variable.assign(updated);
    updated.dispose();
  }
  tf.dispose([value, projection, ...Object.values(grads)]);
}

beforeAll(async () => {
  await useTfjsBackend('wasm');
  resnetWeights = formulaCanonicalWeights(architectures.resnet50);
  vitWeights = formulaCanonicalWeights(tinyVit);
  registersWeights = formulaCanonicalWeights(registersVit);
});

describe('createTfjsModel', () => {
  it('holds variables for the trainable stages only', () => {
    const all = createTfjsModel(resnet, resnetWeights);
    const frozen = createTfjsModel(resnet, resnetWeights, { frozenStages: 2 });
    const none = createTfjsModel(resnet, resnetWeights, { trainable: false });
    try {
      // 53 convolutions: a kernel and a batch norm's weight and bias each; running statistics are state.
      expect(all.trainableVariables).toHaveLength(159);
      expect(all.stateVariables).toHaveLength(106);
      expect(names(all).slice(0, 3)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
      expect(names(frozen).every((name) => /^layer[34]\./.test(name))).toBe(true);
      expect(names(frozen)).toHaveLength(159 - 3 * (1 + 3 * 3 + 1 + 4 * 3 + 1));
      expect(none.trainableVariables).toHaveLength(0);
      expect(none.stateVariables).toHaveLength(0);
      expect(all.trainableVariables.find((variable) => variable.name.endsWith('/conv1.weight'))!.shape).toEqual([7, 7, 3, 64]);
    } finally {
      [all, frozen, none].forEach((model) => model.dispose());
    }
    const vitAll = createTfjsModel(vit, vitWeights);
    const vitFrozen = createTfjsModel(vit, vitWeights, { frozenStages: 4 });
    try {
      // Patch embedding (2), class token, positions; per block 2 norms, q, k, v, projection, fc1, fc2; final norm.
      expect(vitAll.trainableVariables).toHaveLength(4 + 4 * 16 + 2);
      expect(names(vitFrozen)).toEqual(['norm.weight', 'norm.bias']);
    } finally {
      vitAll.dispose();
      vitFrozen.dispose();
    }
    const withRegisters = createTfjsModel(registers, registersWeights);
    const pooledFrozen = createTfjsModel(globalPool, registersWeights, { frozenStages: 1 });
    try {
      // Patch embedding (2), class token, positions, registers; per block as above with w12 and w3 for fc1 and fc2, and two γ; final norm.
      expect(withRegisters.trainableVariables).toHaveLength(5 + 3 * (16 + 2) + 2);
      expect(names(withRegisters).slice(0, 4)).toEqual(['patch_embed.proj.weight', 'patch_embed.proj.bias', 'cls_token', 'pos_embed']);
      expect(names(withRegisters)).toContain('register_tokens');
      expect(names(withRegisters)).toContain('blocks.2.ls2.gamma');
      // Global pool reads no final norm: it holds no variable there that could lack a gradient.
      expect(names(pooledFrozen).some((name) => name.startsWith('norm.'))).toBe(false);
      expect(names(pooledFrozen).some((name) => /^(patch_embed|cls_token|pos_embed|register_tokens|blocks\.0\.)/.test(name))).toBe(false);
    } finally {
      withRegisters.dispose();
      pooledFrozen.dispose();
    }
  });

  it('exports exactly the weights it was given until they train', async () => {
    for (const [backbone, weights] of [
      [resnet, resnetWeights],
      [vit, vitWeights],
      [registers, registersWeights],
    ] as const) {
      const model = createTfjsModel(backbone, weights, { frozenStages: 1 });
      try {
        const exported = await model.canonicalWeights();
        expect([...exported.tensors.keys()]).toEqual([...canonicalTensorShapes(backbone.architecture).keys()]);
        for (const [name, tensor] of weights.tensors) {
          expect(exported.tensors.get(name)!.shape, name).toEqual(tensor.shape);
          expect(Buffer.from(exported.tensors.get(name)!.data.buffer).equals(Buffer.from(tensor.data.buffer)), name).toBe(true);
        }
        expect(exported.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(exported.source).toMatch(/formula\(v2\), trained with @medssl\/runtime-tfjs/);
      } finally {
        model.dispose();
      }
    }
    const frozen = createTfjsModel(vit, vitWeights, { trainable: false });
    expect((await frozen.canonicalWeights()).sha256).toBe(vitWeights.sha256);
    frozen.dispose();
  });

  it('after a training step, exports weights that the frozen embedder reproduces', async () => {
    for (const [backbone, weights, size] of [
      [resnet, resnetWeights, 32],
      [vit, vitWeights, 40],
      [globalPool, registersWeights, 40],
    ] as const) {
      const model = createTfjsModel(backbone, weights, { frozenStages: backbone === resnet ? 3 : 1 });
      const batch = images(4, size);
      try {
        const before = (await model.canonicalWeights()).tensors;
        sgdStep(model, batch, 0.01);
        const trained = await model.canonicalWeights();
        const changed = [...trained.tensors].filter(([name, tensor]) => relativeError(tensor.data, before.get(name)!.data) > 0).map(([name]) => name);
        // Every trainable tensor moved (ResNet: its running statistics too); frozen ones did not.
        if (backbone === resnet) {
          expect(changed).toContain('layer4.2.conv3.weight');
          expect(changed).toContain('layer4.0.bn1.running_var');
          expect(changed.some((name) => /^(conv1|bn1|layer[123])\./.test(name))).toBe(false);
        } else if (backbone === vit) {
          expect(changed).toContain('blocks.1.attn.qkv.weight');
          expect(changed).toContain('norm.bias');
          expect(changed.some((name) => /^(patch_embed|cls_token|pos_embed|blocks\.0\.)/.test(name))).toBe(false);
        } else {
          expect(changed).toEqual(expect.arrayContaining(['blocks.1.mlp.w12.weight', 'blocks.1.ls1.gamma', 'blocks.2.mlp.w3.bias']));
          expect(changed.some((name) => /^(patch_embed|cls_token|pos_embed|register_tokens|blocks\.0\.|norm\.)/.test(name))).toBe(false);
        }
        expect(trained.sha256).not.toBe(weights.sha256);
        const expected = model.embed(batch, false);
        const embedder = await tfjsRuntime({ backend: 'wasm' }).createEmbedder(backbone, trained);
        const reproduced = await embedder.embed({ data: (await batch.data()) as Float32Array, shape: batch.shape });
        await embedder.dispose();
        expect(relativeError(reproduced.data, (await expected.data()) as Float32Array)).toBeLessThan(1e-5);
        expected.dispose();
      } finally {
        model.dispose();
        batch.dispose();
      }
    }
  });

  it('runs ResNet batch norm on batch statistics in train mode and on running estimates in eval mode', async () => {
    const model = createTfjsModel(resnet, resnetWeights);
    const batch = images(3, 32);
    const firstImage = tf.slice(batch, [0, 0, 0, 0], [1, 3, 32, 32]);
    try {
      const runningVariance = model.stateVariables.find((variable) => variable.name.endsWith('/layer2.1.bn2.running_var'))!;
      const before = (await runningVariance.data()).slice();
      const evalAlone = model.embed(firstImage, false);
      const evalBatch = model.embed(batch, false);
      expect((await runningVariance.data()).every((value, index) => value === before[index])).toBe(true);
      // Eval: an image gives the same embedding alone and in a batch. Train: batch statistics differ.
      expect(relativeError((await evalBatch.data()).slice(0, 2048), (await evalAlone.data()) as Float32Array)).toBeLessThan(1e-5);
      const trainBatch = model.embed(batch, true);
      const trainPair = model.embed(tf.slice(batch, [0, 0, 0, 0], [2, 3, 32, 32]), true);
      expect(relativeError((await trainPair.data()).slice(0, 2048), (await trainBatch.data()).slice(0, 2048))).toBeGreaterThan(1e-3);
      expect((await runningVariance.data()).some((value, index) => value !== before[index])).toBe(true);
      tf.dispose([evalAlone, evalBatch, trainBatch, trainPair]);
      expect(() => model.embed(firstImage, true)).toThrow(
        /batch norm layer4\.0\.\S+ in train mode needs more than 1 value per channel, got a batch of 1 at 1x1/,
      );
    } finally {
      model.dispose();
      tf.dispose([batch, firstImage]);
    }
  });

  it('keeps no tensor after embedding and training', () => {
    for (const [backbone, weights] of [
      [vit, vitWeights],
      [registers, registersWeights],
      [globalPool, registersWeights],
    ] as const) {
      const model = createTfjsModel(backbone, weights, { frozenStages: 1 });
      const batch = images(2, 40);
      try {
        sgdStep(model, batch, 0.01); // first call makes the position resampling constants
        const before = tf.memory().numTensors;
        sgdStep(model, batch, 0.01);
        tf.dispose(model.embed(batch, true));
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        model.dispose();
        batch.dispose();
      }
    }
  });

  it('refuses options, inputs and backends that do not fit', async () => {
    expect(() => createTfjsModel(resnet, resnetWeights, { frozenStages: 5 })).toThrow(/frozenStages must be an integer from -1 \(none\) to 4, got 5/);
    expect(() => createTfjsModel(vit, vitWeights, { frozenStages: 1.5 })).toThrow(/from -1 \(none\) to 4, got 1.5/);
    expect(() => createTfjsModel(vit, vitWeights, { batchNormMomentum: 2 })).toThrow(/batchNormMomentum must lie in \[0, 1\], got 2/);
    expect(() => createTfjsModel(vit, resnetWeights)).toThrow(/test:vit is a ViT .* weights from formula\(v2\) are for a ResNet-50/);
    const model = createTfjsModel(vit, vitWeights);
    const nhwc = tf.zeros([1, 40, 40, 3]) as tf.Tensor4D;
    expect(() => model.embed(nhwc, false)).toThrow(/expected NCHW images of shape \[n, 3, height, width\], got \[1, 40, 40, 3\]/);
    expect(() => model.embed(tf.zeros([1, 3, 4, 4]) as tf.Tensor4D, false)).toThrow(/an input of 4x4 is smaller than one 8x8 patch/);
    await useTfjsBackend('cpu');
    try {
      expect(() => model.embed(tf.zeros([1, 3, 40, 40]) as tf.Tensor4D, false)).toThrow(TfjsBackendError);
    } finally {
      await useTfjsBackend('wasm');
    }
    model.dispose();
    expect(() => model.embed(nhwc, false)).toThrow(/disposed/);
    nhwc.dispose();
  });
});
