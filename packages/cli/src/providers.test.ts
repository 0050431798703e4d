// A plugin is one package exporting its provider, plus one line in the registry list. Here a backbone
// provider and a dataset provider that exist only in this test run `medssl run` end to end, through the
// CLI's own commands, with nothing else changed: ids, usage texts, lists and presets all come from the list.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, defineDatasetProvider } from '@medssl/core';
import { captureIo } from '@medssl/experiment/testing';
import type { Dataset, RawImage, Sample } from '@medssl/spec';
import { defineBackbone, defineBackboneProvider, evaluationPreprocessing, pooledEmbedding, classTokenEmbedding, vitArchitecture } from '@medssl/weights';
import { afterAll, describe, expect, it } from 'vitest';
import { createCommands } from './commands.js';
import { main } from './main.js';
import { cliRegistry } from './registry.js';

/** Two tiny networks of the open architecture: a ResNet of one bottleneck per stage, a two-block ViT of DINOv2's kind. */
const tinyProvider = defineBackboneProvider({
  method: 'tiny',
  title: 'Tiny test networks',
  variants: {
    resnet: () =>
      defineBackbone({
        method: 'tiny',
        variant: 'resnet',
        architecture: { family: 'resnet', blocks: [1, 1, 1, 1], width: 8 },
        preprocessing: { ...evaluationPreprocessing('bilinear', true), resize: { size: 32, interpolation: 'bilinear' }, centerCrop: 32 },
        embedding: pooledEmbedding,
        pretraining: { supervision: 'none', data: 'none', domain: 'natural' },
        weightSource: 'seed',
        layout: { name: 'medssl canonical', details: 'canonical names' },
        canonicalName: (key) => key,
        checkpoints: [],
      }),
    vit: () =>
      defineBackbone({
        method: 'tiny',
        variant: 'vit',
        // SwiGLU, LayerScale and two registers, as DINOv2's, at a fraction of the width.
        architecture: vitArchitecture({
          patchSize: 8,
          embedDim: 32,
          depth: 2,
          heads: 2,
          mlp: { kind: 'swiglu', hidden: 64 },
          layerScale: true,
          registers: 2,
          positions: { grid: 4, resampling: { mode: 'bicubic', antialias: true } },
        }),
        preprocessing: { ...evaluationPreprocessing('bicubic', true), resize: { size: 32, interpolation: 'bicubic' }, centerCrop: 32 },
        embedding: classTokenEmbedding(2, { patchMean: true }),
        pretraining: { supervision: 'none', data: 'none', domain: 'natural' },
        weightSource: 'seed',
        layout: { name: 'medssl canonical', details: 'canonical names' },
        canonicalName: (key) => key,
        checkpoints: [],
      }),
  },
});

/** Stripes: horizontal for class 0, vertical for class 1, generated in memory (the root is not read). */
function stripes(): Dataset {
  const sizes: Record<string, number> = { train: 24, val: 12, test: 12 };
  const image = (label: number, seed: number): RawImage => {
    const rng = createRng(seed);
    const data = new Uint8Array(32 * 32 * 3);
    const period = 3 + rng.int(4);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const on = Math.floor((label === 0 ? y : x) / period) % 2 === 0;
        for (let channel = 0; channel < 3; channel++) data[(y * 32 + x) * 3 + channel] = (on ? 200 : 40) + rng.int(30);
      }
    }
    return { data, width: 32, height: 32, channels: 3 };
  };
  return {
    specificationVersion: 'medssl/v1',
    id: 'stripes',
    version: 'generated-1',
    task: { type: 'binary', classes: ['horizontal', 'vertical'], primaryMetric: 'auc' },
    splits: ['train', 'val', 'test'],
    modality: 'natural',
    async size(split) {
      return sizes[split]!;
    },
    async *samples(split, options = {}) {
      const end = Math.min(options.end ?? sizes[split]!, sizes[split]!);
      for (let row = options.start ?? 0; row < end; row++) {
        const label = row % 2;
        const seed = split.length * 1000 + row;
        const sample: Sample = { id: `${split}-${row}`, target: label, decode: async () => image(label, seed) };
        yield sample;
      }
    },
  };
}

const stripesProvider = defineDatasetProvider({
  datasets: [
    {
      id: 'stripes',
      title: 'Generated stripes (test)',
      layout: '(generated; the root is not read)',
      source: 'this test',
      license: 'none',
      modality: 'natural',
    },
  ],
  open: async () => stripes(),
});

const root = mkdtempSync(join(tmpdir(), 'medssl-providers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const commands = createCommands(cliRegistry([tinyProvider, stripesProvider]));

describe('a backbone and a dataset provider that live only in this test', () => {
  it('are listed and run by medssl run like the built-in ones', async () => {
    const datasets = captureIo();
    expect(await main(['datasets', 'list'], datasets.io, commands)).toBe(0);
    expect(datasets.out.join('')).toContain('stripes  Generated stripes (test)');
    const backbones = captureIo();
    expect(await main(['backbones', 'list', '--json'], backbones.io, commands)).toBe(0);
    const listed = JSON.parse(backbones.out.join('')) as { id: string; dimension?: number; architecture: string }[];
    expect(listed.find((entry) => entry.id === 'tiny:resnet')).toMatchObject({ dimension: 256, architecture: 'ResNet-14 (0.125x width)' });
    expect(listed.find((entry) => entry.id === 'tiny:vit')).toMatchObject({ dimension: 96 });

    const configFile = join(root, 'medssl.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        name: 'providers',
        datasets: [{ id: 'stripes', root }],
        backbones: [{ id: 'tiny:resnet' }, { id: 'tiny:vit' }],
        protocols: ['linear', { id: 'knn', k: [3] }],
        fusions: [{ method: 'concat', backbones: ['tiny:resnet', 'tiny:vit'], epochs: 2 }],
        fractions: [1],
        seeds: [0],
        extraction: { batch: 8, workers: 1 },
      }),
    );
    const run = captureIo();
    const code = await main(['run', configFile, '--out', join(root, 'out'), '--store', join(root, 'store'), '--no-report'], run.io, commands);
    expect(code, run.err.join('')).toBe(0);
    const document = JSON.parse(readFileSync(join(root, 'out', 'run.json'), 'utf8')) as {
      results: { protocol: string; summary: { metrics: Record<string, { mean: number }> }[] }[];
    };
    expect(document.results.map((result) => result.protocol)).toEqual(['linear', 'knn', 'linear', 'knn', 'concat']);
    for (const result of document.results) expect(result.summary[0]!.metrics.auc!.mean).toBeGreaterThan(0.5);
    // Before the protocols, every estimator scored both backbones on the fraction's training rows.
    const estimates = JSON.parse(readFileSync(join(root, 'out', 'results', 'stripes', 'transferability.json'), 'utf8')) as {
      format: string;
      backbones: string[];
      rows: { fraction: number; seed: number; scores: Record<string, Record<string, number>> }[];
    };
    expect(estimates).toMatchObject({ format: 'medssl.transferability/v1', backbones: ['tiny:resnet', 'tiny:vit'] });
    expect(estimates.rows.map((row) => [row.fraction, row.seed])).toEqual([[1, 0]]);
    for (const backbone of estimates.backbones) {
      expect(Object.keys(estimates.rows[0]!.scores[backbone]!)).toEqual(['logme', 'hscore', 'nleep', 'transrate', 'gbc', 'knn']);
    }
    expect(JSON.parse(readFileSync(join(root, 'out', 'run.json'), 'utf8')).transferability).toHaveLength(1);

    // Without the test's providers the same ids are unknown, and the error lists what is known.
    const unknown = captureIo();
    expect(await main(['run', configFile, '--out', join(root, 'out2'), '--store', join(root, 'store')], unknown.io)).toBe(2);
    expect(unknown.err.join('')).toMatch(
      /unknown dataset "stripes"; known: pcam, aptos, chestxray14, chestxray14:pneumonia, pneumonia, medmnist:<flag>, folder/,
    );
  }, 120_000);
});
