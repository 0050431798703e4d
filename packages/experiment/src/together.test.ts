import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, randomCanonicalWeights } from '@medssl/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dinoProvider } from '@medssl/backbone-dino';
import { randomProvider, supervisedProvider } from '@medssl/backbone-supervised';
import { folderProvider } from '@medssl/dataset-folder';
import { captureIo } from './testing/io.js';
import { defineExperiment } from './config.js';
import { writeSyntheticDataset } from './demo/write-dataset.js';
import { extractSplit } from './extraction.js';
import { createRegistry } from './registry.js';
import { runExperiment, type ExtractSplit } from './runner.js';

const registry = createRegistry([randomProvider, supervisedProvider, dinoProvider, folderProvider]);

// Backbones that preprocess alike share one pass over each split: random and supervised ResNet-50 (bilinear)
// do; ViT-S/16 (bicubic) does not.
let root: string;
let weightsFile: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'medssl-together-'));
  await writeSyntheticDataset(join(root, 'data'), { train: 16, val: 8, test: 8 }, 3, 32);
  // A supervised ResNet-50 checkpoint with seeded random weights, in torchvision's names, as safetensors.
  const weights = await randomCanonicalWeights(registry.backbone('supervised:resnet50').architecture, 5);
  weightsFile = join(root, 'resnet50.safetensors');
  writeFileSync(
    weightsFile,
    encodeSafetensors(
      Object.fromEntries([...weights.tensors].map(([name, tensor]) => [name, { dtype: 'F32' as const, shape: tensor.shape, data: tensor.data }])),
    ),
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('extraction of backbones that preprocess alike', () => {
  it('asks for them together, one pass per split, with the same features as one at a time', async () => {
    const experiment = (together: boolean) =>
      defineExperiment({
        name: 'together',
        datasets: [{ id: 'folder', root: join(root, 'data') }],
        backbones: [
          { id: 'random:resnet50', seed: 1 },
          { id: 'supervised:resnet50', weights: weightsFile },
        ],
        protocols: [{ id: 'knn', k: [3] }],
        fractions: [1],
        extraction: { resize: 32, crop: 32, batch: 8, workers: 1, together },
      });
    const store = join(root, 'store');
    const asked: string[] = [];
    const folders = new Map<string, string[]>();
    const extract: ExtractSplit = async (request) => {
      asked.push([request.backbone.id, ...(request.companions ?? []).map((companion) => `+${companion.backbone.id}`)].join(' '));
      const answer = await extractSplit({ ...request, store });
      for (const [id, folder] of [
        [request.backbone.id, answer.folder],
        ...(request.companions ?? []).map((companion, position) => [companion.backbone.id, answer.companions![position]!.folder]),
      ] as const) {
        folders.set(id, [...(folders.get(id) ?? []), folder]);
      }
      return answer;
    };
    const together = await runExperiment(experiment(true), { providers: registry, out: join(root, 'out-together'), io: captureIo().io, extract });
    expect(asked).toEqual(Array(3).fill('random:resnet50 +supervised:resnet50'));

    // The same features as each backbone alone (another store, so that nothing is reused).
    const dataset = await registry.openDataset('folder', join(root, 'data'));
    for (const [id, weightsPath, seed] of [
      ['random:resnet50', undefined, 1],
      ['supervised:resnet50', weightsFile, 0],
    ] as const) {
      const alone = await extractSplit({
        dataset,
        split: 'train',
        backbone: registry.backbone(id),
        weightsPath,
        seed,
        settings: { resize: 32, crop: 32, batch: 8, workers: 1 },
        io: captureIo().io,
        store: join(root, 'store-alone'),
      });
      expect(readFileSync(join(alone.folder, 'features.npy')).equals(readFileSync(join(folders.get(id)![0]!, 'features.npy'))), id).toBe(true);
    }

    // together: false asks for one backbone at a time (answered here from the same store: all reused).
    asked.length = 0;
    const apart = await runExperiment(experiment(false), { providers: registry, out: join(root, 'out-apart'), io: captureIo().io, extract });
    expect(asked).toEqual([...Array(3).fill('random:resnet50'), ...Array(3).fill('supervised:resnet50')]);
    const rows = (documents: readonly object[]) => documents.map((document) => (document as { rows: { metrics: unknown }[] }).rows.map((row) => row.metrics));
    expect(rows(apart.documents)).toEqual(rows(together.documents));
  }, 300_000);

  it('leaves out a companion that preprocesses otherwise, for the runner to ask alone', async () => {
    const dataset = await registry.openDataset('folder', join(root, 'data'));
    const io = captureIo();
    const request = {
      dataset,
      split: 'train',
      seed: 1,
      weightsPath: undefined,
      settings: { resize: 32, crop: 32, batch: 8, workers: 1, limit: 8 },
      io: io.io,
      store: join(root, 'store-alone'),
    };
    const answer = await extractSplit({
      ...request,
      backbone: registry.backbone('random:resnet50'),
      companions: [
        { backbone: registry.backbone('random:vits16'), weightsPath: undefined, seed: 2 },
        { backbone: registry.backbone('random:resnet50'), weightsPath: undefined, seed: 3 },
      ],
    });
    expect(answer.companions?.[0]).toBeUndefined();
    expect(answer.companions?.[1]).toMatchObject({ reused: false });
    expect(answer.companions![1]!.folder).not.toBe(answer.folder);
    expect(io.err.join('')).toContain('train × random:resnet50 (+1 in the same pass)');

    // The first model stored already: the companion that computes draws the progress bar.
    const later = captureIo();
    const next = await extractSplit({
      ...request,
      io: later.io,
      backbone: registry.backbone('random:resnet50'),
      companions: [{ backbone: registry.backbone('random:resnet50'), weightsPath: undefined, seed: 4 }],
    });
    expect(next).toMatchObject({ folder: answer.folder, reused: true, companions: [{ reused: false }] });
    expect(later.err.join('')).toMatch(/reusing stored features[\s\S]*train × random:resnet50 \(\+1 in the same pass\)/);
  }, 120_000);
});
