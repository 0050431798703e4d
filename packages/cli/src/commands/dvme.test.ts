import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpyFile } from '@medssl/arrays/node';
import { writeFeatureSet } from '@medssl/store';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { FeatureManifest, FeatureSet, Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import { describe, expect, it } from 'vitest';
import { embedSplit, loadBackboneWeights } from '@medssl/experiment';
import { main } from '../main.js';
import { cliRegistry } from '../registry.js';
import { captureIo } from '@medssl/experiment/testing';

const task: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
/** Small modules: the defaults (512 wide) are for real features. */
const smallModule = ['--projection', '16', '--heads', '2', '--mlp-ratio', '2', '--batch', '64', '--learning-rate', '0.003'];

/** Three backbones' feature sets per split: two see the class along different directions, the third is noise. */
async function featureFolders(options: { dimensions?: number[]; tamper?: (split: string, source: number, set: FeatureSet) => FeatureSet } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'medssl-dvme-'));
  const rows = { train: 240, val: 80, test: 80 };
  const dimensions = options.dimensions ?? [8, 6, 5];
  const folders: Record<string, string[]> = { train: [], val: [], test: [] };
  for (const split of ['train', 'val', 'test'] as const) {
    for (const [source, dimension] of dimensions.entries()) {
      // Binary synthetic targets alternate by row whatever the seed: a seed per backbone keeps the targets and ids, not the noise.
      const made = syntheticFeatureSet(task, { rows: rows[split], dimension, seed: split.length * 10 + source, split, separation: source === 2 ? 0 : 2 });
      let set: FeatureSet = { ...made, manifest: { ...made.manifest, backbone: `synthetic:source-${source}`, weightsSha256: String(source).repeat(64) } };
      set = options.tamper?.(split, source, set) ?? set;
      const folder = join(root, split, `source-${source}`);
      await writeFeatureSet(folder, set);
      folders[split]!.push(folder);
    }
  }
  return { root, args: (['train', 'val', 'test'] as const).flatMap((split) => [`--${split}`, folders[split]!.join(',')]) };
}

describe('medssl dvme', () => {
  it('fuses backbones at fractions and seeds, and writes results with attention maps, table and subsets', async () => {
    const { root, args } = await featureFolders();
    const out = join(root, 'results', 'dvme.json');
    const { io, out: stdout, err } = captureIo();
    const code = await main(['dvme', ...args, '--fractions', '0.5,1', '--seeds', '0,1', '--epochs', '15', ...smallModule, '--out', out], io);
    expect(err.join('')).toMatch(
      /dvme on synthetic × synthetic:source-0 \+ synthetic:source-1 \+ synthetic:source-2: 240 train, 80 val, 80 test rows; 2 fractions × 2 seeds; tfjs wasm/,
    );
    expect(err.join('')).toMatch(/\[4\/4\] fraction 1, seed 1: auc 0\.\d{4} \(240 training rows, best epoch \d+ of \d+, [\d.]+ s\)/);
    expect(code).toBe(0);
    const document = JSON.parse(readFileSync(out, 'utf8'));
    expect(document).toMatchObject({
      format: 'medssl.dvme/v1',
      protocol: 'dvme',
      task,
      dataset: { id: 'synthetic' },
      sources: ['synthetic:source-0', 'synthetic:source-1', 'synthetic:source-2'],
      weightsSha256: ['0'.repeat(64), '1'.repeat(64), '2'.repeat(64)],
      config: {
        fractions: [0.5, 1],
        seeds: [0, 1],
        fusion: 'dvme',
        backend: 'wasm',
        options: { projection: 16, heads: 2, blocks: 1, epochs: 15, batchSize: 64 },
      },
      versions: { tfjs: '4.22.0' },
    });
    expect(document.inputs.val.map((input: { count: number }) => input.count)).toEqual([80, 80, 80]);
    expect(document.rows.map((row: { fraction: number; seed: number; split: string }) => [row.fraction, row.seed, row.split])).toEqual([
      [0.5, 0, 'test'],
      [1, 0, 'test'],
      [0.5, 1, 'test'],
      [1, 1, 'test'],
    ]);
    for (const row of document.rows) {
      expect(row.metrics.auc).toBeGreaterThan(0.8);
      expect(row.attention).toHaveLength(1);
      const [map] = row.attention;
      expect(map).toMatchObject({ block: 0, sources: document.sources, heads: 2 });
      expect(map.weights).toHaveLength(2);
      for (const head of map.weights) {
        expect(head).toHaveLength(3);
        for (const weights of head) expect(weights.reduce((sum: number, value: number) => sum + value, 0)).toBeCloseTo(1, 5);
      }
      expect(row.history.length).toBeGreaterThan(0);
    }
    expect(document.summary[1].metrics.auc.count).toBe(2);
    expect(document.subsetFiles).toEqual([
      'subsets/synthetic-train-f0.5-s0.json',
      'subsets/synthetic-train-f1-s0.json',
      'subsets/synthetic-train-f0.5-s1.json',
      'subsets/synthetic-train-f1-s1.json',
    ]);
    for (const file of document.subsetFiles) expect(existsSync(join(root, 'results', file))).toBe(true);
    expect(stdout.join('')).toMatch(/### dvme · synthetic · synthetic:source-0 \+ synthetic:source-1 \+ synthetic:source-2/);
    expect(stdout.join('')).toMatch(/\| 50 % \| 0\.\d{4} ± 0\.\d{4} \|/);
  });

  it('reports DME source weights and writes per-sample weights on request', async () => {
    const { root, args } = await featureFolders();
    const out = join(root, 'dme.json');
    const { io, err } = captureIo();
    expect(await main(['dvme', ...args, '--fusion', 'dme', '--fractions', '1', '--epochs', '6', '--sample-attention', ...smallModule, '--out', out], io)).toBe(
      0,
    );
    expect(err.join('')).toMatch(/wrote /);
    const document = JSON.parse(readFileSync(out, 'utf8'));
    const [row] = document.rows;
    expect(Object.keys(row.sourceWeights)).toEqual(document.sources);
    expect(row.attention).toBeUndefined();
    expect(row.sampleAttentionFile).toBe('attention/dme-f1-s0.npy');
    const weights = await readNpyFile(join(root, row.sampleAttentionFile));
    expect(weights.shape).toEqual([80, 3]);
  });

  it('names what is wrong with the call or the inputs', async () => {
    const { root, args } = await featureFolders();
    const folders = (split: string) => args[args.indexOf(`--${split}`) + 1]!.split(',');
    const outArgs = ['--out', join(root, 'x.json')];
    const shuffled = await featureFolders({
      tamper: (split, source, set) => (split === 'test' && source === 1 ? { ...set, ids: [...set.ids].reverse() } : set),
    });
    const multiclass: Task = { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' };
    const otherTask = await featureFolders({
      tamper: (split, source, set) => (split === 'val' && source === 2 ? { ...set, manifest: { ...set.manifest, task: multiclass } as FeatureManifest } : set),
    });
    const cases: [string[], RegExp, number][] = [
      [
        ['dvme', '--train', folders('train')[0]!, '--val', folders('val')[0]!, '--test', folders('test')[0]!, ...outArgs],
        /--train names 1 folder; dvme fuses at least 2 backbones \(K >= 2\)/,
        2,
      ],
      [
        ['dvme', '--train', folders('train').join(','), '--val', folders('val').slice(0, 2).join(','), '--test', folders('test').join(','), ...outArgs],
        /--val names 2 folders, --train 3; give one per backbone, in the same order/,
        2,
      ],
      [['dvme', ...args, '--fusion', 'attention', ...outArgs], /--fusion must be one of dvme, dme, concat, single, got "attention"/, 2],
      [['dvme', ...args, '--backend', 'webgl', ...outArgs], /--backend must be one of wasm, cpu, webgpu, got "webgl"/, 2],
      [['dvme', ...args, '--epochs', '0', ...outArgs], /--epochs must be a positive integer, got "0"/, 2],
      [['dvme', ...args, '--heads', '3', ...outArgs], /projection \(512\) must be a multiple of heads \(3\)/, 2],
      [['dvme', ...args], /--out is required/, 2],
      [
        ['dvme', ...shuffled.args, ...outArgs],
        /row 0 of .*test\/source-1 \(--test, backbone 2\) is "test-79", of .*test\/source-0 \(--test, backbone 1\) "test-0"; the backbones of a split must hold the same samples in the same order/,
        1,
      ],
      [
        ['dvme', ...otherTask.args, ...outArgs],
        /val\/source-2 \(--val, backbone 3\) has a multiclass \(a, b, c\) task, .*train\/source-0 \(--train, backbone 1\) a binary \(normal, tumour\) task/,
        1,
      ],
      [
        [
          'dvme',
          '--train',
          folders('train').join(','),
          '--val',
          folders('val').join(','),
          '--test',
          [folders('test')[1]!, folders('test')[0]!, folders('test')[2]!].join(','),
          ...outArgs,
        ],
        /test\/source-1 \(--test, backbone 1\) was embedded by synthetic:source-1 .* by synthetic:source-0 .*same order for every split/,
        1,
      ],
    ];
    for (const [argv, pattern, expected] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io), err.join('')).toBe(expected);
      expect(err.join('')).toMatch(pattern);
    }
  });
});

const medmnist = sharedData('medmnist');

describe('medssl dvme on real images', () => {
  itWithSharedData(
    'fuses random-init ResNet-50 and ViT-S/16 features of pediatric chest X-rays end to end',
    ['medmnist/pneumoniamnist.npz'],
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'medssl-dvme-real-'));
      const registry = cliRegistry();
      const dataset = await registry.openDataset('medmnist:pneumoniamnist', medmnist);
      const limits = { train: 60, val: 30, test: 30 };
      const args: string[] = [];
      const folders: Record<string, string[]> = { train: [], val: [], test: [] };
      for (const [backboneId, size] of [
        ['random:resnet50', 28],
        ['random:vits16', 32],
      ] as const) {
        const backbone = registry.backbone(backboneId);
        const preprocessing = { ...backbone.preprocessing, resize: { size, interpolation: 'bilinear' as const }, centerCrop: size };
        const weights = await loadBackboneWeights(backbone, undefined, 0);
        const embedder = await onnxRuntime({ spinning: false }).createEmbedder({ ...backbone, preprocessing }, weights, { threads: 1 });
        try {
          for (const split of ['train', 'val', 'test'] as const) {
            const set = await embedSplit(dataset, split, embedder, preprocessing, { batchSize: 30, limit: limits[split], io: captureIo().io });
            const folder = join(root, split, backboneId.replace(':', '_'));
            await writeFeatureSet(folder, {
              ...set,
              manifest: {
                format: 'medssl.features/v1',
                dataset: { id: dataset.id, version: dataset.version },
                task: dataset.task,
                split,
                backbone: embedder.backboneId,
                weightsSha256: weights.sha256,
                preprocessing,
                runtime: { id: 'onnx', provider: embedder.provider, precision: embedder.precision },
                count: set.ids.length,
                dimension: embedder.dimension,
                created: new Date().toISOString(),
              },
            });
            folders[split]!.push(folder);
          }
        } finally {
          await embedder.dispose();
        }
      }
      for (const split of ['train', 'val', 'test']) args.push(`--${split}`, folders[split]!.join(','));
      const out = join(root, 'results.json');
      const { io, out: stdout, err } = captureIo();
      // The default DVME module (512 wide, 8 heads), a few epochs: the point is the pipeline, not the score.
      expect(await main(['dvme', ...args, '--fractions', '1', '--epochs', '3', '--out', out], io), err.join('')).toBe(0);
      const document = JSON.parse(readFileSync(out, 'utf8'));
      expect(document.sources).toEqual(['random:resnet50', 'random:vits16']);
      expect(document.dataset.id).toBe('medmnist:pneumoniamnist');
      // random:vits16 embeds the class token of the last block (384-d); dino:vits16 the last four (1536-d).
      expect(document.inputs.train.map((input: { manifest: { dimension: number } }) => input.manifest.dimension)).toEqual([2048, 384]);
      const [row] = document.rows;
      expect(row.trainCount).toBe(60);
      expect(Number.isFinite(row.metrics.auc)).toBe(true);
      expect(row.attention[0].weights).toHaveLength(8);
      expect(row.attention[0].weights[0]).toHaveLength(2);
      expect(stdout.join('')).toMatch(/\| 100 % \| 0\.\d{4} ± 0\.0000 \|/);
    },
    120_000,
  );
});
