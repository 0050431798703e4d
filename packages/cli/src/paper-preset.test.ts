import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from '@medssl/experiment/testing';
import { paperExperiment, presetBackboneIds, validateExperimentConfig } from '@medssl/experiment';
import { main } from './main.js';
import { cliRegistry } from './registry.js';

const registry = cliRegistry();

const root = mkdtempSync(join(tmpdir(), 'medssl-paper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A weights folder with a file under each published checkpoint name the preset looks for (contents unread). */
function weightsFolder(name: string, without: readonly string[] = []): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  for (const id of presetBackboneIds(registry, 'paper')) {
    if (without.includes(id)) continue;
    const [checkpoint] = registry.backbone(id).checkpoints;
    if (checkpoint) writeFileSync(join(folder, checkpoint.file), '');
  }
  return folder;
}

describe('the paper preset', () => {
  it("is the paper's grid: four tasks, five backbones, linear, kNN and finetuning at three fractions, DVME over the SSL backbones", () => {
    const weights = weightsFolder('all');
    const config = validateExperimentConfig(paperExperiment(registry, { dataRoot: '/data', weightsRoot: weights }));
    expect(config.datasets).toEqual([
      { id: 'pcam', root: '/data/pcam' },
      { id: 'aptos', root: '/data/aptos' },
      { id: 'chestxray14', root: '/data/chestxray14' },
      { id: 'chestxray14:pneumonia', root: '/data/chestxray14' },
    ]);
    expect(config.backbones.map((entry) => ('id' in entry ? entry.id : entry.backbone.id))).toEqual([
      'simclr:resnet50-1x',
      'swav:resnet50',
      'dino:vits16',
      'supervised:resnet50',
      'random:resnet50',
    ]);
    expect(config.backbones.filter((entry) => entry.weights !== undefined).map((entry) => entry.weights!.startsWith(weights))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(config.protocols).toEqual(['linear', 'knn', 'finetune']);
    expect(config.fractions).toEqual([0.01, 0.1, 1]);
    expect(config.seeds).toEqual([0, 1, 2]);
    expect(config.fusions).toEqual([{ method: 'dvme', backbones: ['simclr:resnet50-1x', 'swav:resnet50', 'dino:vits16'] }]);
  });

  it('names the checkpoint it cannot find, and a protocol it does not know', async () => {
    const weights = weightsFolder('no-swav', ['swav:resnet50']);
    expect(() => paperExperiment(registry, { dataRoot: '/data', weightsRoot: weights })).toThrow(
      /no checkpoint for swav:resnet50 in .*no-swav; expected swav_800ep_pretrain\.pth\.tar/,
    );
    const unknown = captureIo();
    expect(
      await main(
        ['run', '--preset', 'paper', '--data', root, '--weights', weightsFolder('all'), '--out', join(root, 'out'), '--protocols', 'linear,svm'],
        unknown.io,
      ),
    ).toBe(2);
    expect(unknown.err.join('')).toMatch(/--protocols: unknown protocol "svm"; known: linear, knn, finetune/);
    const both = captureIo();
    expect(await main(['run', 'medssl.config.json', '--out', join(root, 'out'), '--protocols', 'linear'], both.io)).toBe(2);
    expect(both.err.join('')).toMatch(/--protocols applies to --preset/);
  });
});
