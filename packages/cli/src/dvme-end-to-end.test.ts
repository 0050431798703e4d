import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { random, randomWeights } from '@medssl/backbone-supervised';
import { preprocessInto } from '@medssl/core';
import { decodeImageFile } from '@medssl/core/node';
import { trainEndToEnd } from '@medssl/dvme';
import { createTfjsModel, useTfjsBackend } from '@medssl/runtime-tfjs';
import type { Preprocessing, TargetArray } from '@medssl/spec';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

// DVME trained end to end through two real backbones of @medssl/runtime-tfjs (ResNet-50 and ViT-S/16 with
// seeded random weights, most stages frozen to keep it quick) on real PCam patches at 32x32.
const pcam = sharedData('pcam', 'data');
const SIZE = 32;
const preprocessing: Preprocessing = {
  resize: { size: SIZE, interpolation: 'bilinear' },
  centerCrop: SIZE,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

async function split(name: string, perClass: number): Promise<{ images: Float32Array; targets: TargetArray }> {
  const files = [0, 1].flatMap((label) => {
    const folder = join(pcam, name, String(label));
    return readdirSync(folder)
      .sort()
      .slice(0, perClass)
      .map((file) => ({ path: join(folder, file), label }));
  });
  const values = 3 * SIZE * SIZE;
  const images = new Float32Array(files.length * values);
  for (const [index, file] of files.entries()) preprocessInto(await decodeImageFile(file.path), preprocessing, images, index * values);
  return { images, targets: { type: 'class', data: Int32Array.from(files.map((file) => file.label)), shape: [files.length] } };
}

describeWithSharedData('DVME end to end through runtime-tfjs backbones', ['pcam/data'], () => {
  it('trains the backbones at a lower learning rate than the fusion, and every trainable backbone tensor moves', async () => {
    await useTfjsBackend('wasm');
    const resnet = random({ architecture: 'resnet50' });
    const vit = random({ architecture: 'vits16' });
    const sources = [
      createTfjsModel(resnet, await randomWeights(resnet, 1), { frozenStages: 3 }),
      createTfjsModel(vit, await randomWeights(vit, 2), { frozenStages: 10 }),
    ];
    const before = sources.flatMap((source) => source.trainableVariables.map((variable) => variable.dataSync().slice()));
    expect(before.length).toBeGreaterThan(0);
    const [train, val, test] = await Promise.all([split('train', 8), split('valid', 4), split('test', 4)]);
    const asSplit = (data: { images: Float32Array; targets: TargetArray }) => ({
      targets: data.targets,
      images: async (rows: Int32Array) => {
        const values = 3 * SIZE * SIZE;
        const batch = new Float32Array(rows.length * values);
        rows.forEach((row, index) => batch.set(data.images.subarray(row * values, (row + 1) * values), index * values));
        return tf.tensor4d(batch, [rows.length, 3, SIZE, SIZE]);
      },
    });
    const report = await trainEndToEnd(
      {
        task: { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' },
        sources,
        train: asSplit(train),
        val: asSplit(val),
        test: asSplit(test),
        seed: 0,
      },
      { fusion: 'dvme', epochs: 2, batchSize: 8, projection: 32, heads: 2, learningRate: 1e-3 },
    );
    expect(report.sources).toEqual(['random:resnet50', 'random:vits16']);
    expect(report.learningRates.sources).toBeLessThan(report.learningRates.fusion);
    expect(report.history).toHaveLength(2);
    expect(report.result.attention?.[0]?.sources).toEqual(['random:resnet50', 'random:vits16']);
    expect(report.result.metrics.auc).toBeGreaterThanOrEqual(0);
    const after = sources.flatMap((source) => source.trainableVariables.map((variable) => variable.dataSync()));
    const moved = after.filter((values, index) => values.some((value, at) => value !== before[index]![at]));
    expect(moved.length).toBe(after.length);
    for (const source of sources) source.dispose();
  }, 300_000);
});
