// The foundation preset: which tasks each backbone runs on, what is left out when files are missing, and
// a whole run on tiny inputs in the official layouts (PCam's HDF5 files, APTOS's CSV and PNGs) with
// seeded random weights written in each method's published layout.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writePcamSplit } from '@medssl/dataset-pcam/testing';
import { foundationExperiment, presetBackboneIds } from '@medssl/experiment';
import { captureIo } from '@medssl/experiment/testing';
import type { Backbone } from '@medssl/spec';
import { encodeTorchCheckpoint, huggingFaceCheckpointKey, randomCanonicalWeights, stateDictInLayout } from '@medssl/weights';
import { writeSafetensorsFile } from '@medssl/weights/node';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { cliRegistry } from './registry.js';

const registry = cliRegistry();
const root = mkdtempSync(join(tmpdir(), 'medssl-foundation-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const idOf = (entry: { id: string } | { backbone: Backbone }) => ('id' in entry ? entry.id : entry.backbone.id);

/** A folder holding an empty file under the first published name of each of `ids` (the config step reads none). */
function emptyWeights(name: string, ids: readonly string[]): string {
  const folder = join(root, name);
  for (const id of ids) {
    const [checkpoint] = registry.backbone(id).checkpoints;
    if (!checkpoint) continue;
    mkdirSync(dirname(join(folder, checkpoint.file)), { recursive: true });
    writeFileSync(join(folder, checkpoint.file), '');
  }
  return folder;
}

function dataFolders(name: string, folders: readonly string[]): string {
  for (const folder of folders) mkdirSync(join(root, name, folder), { recursive: true });
  return join(root, name);
}

describe('the foundation preset', () => {
  const foundationIds = presetBackboneIds(registry, 'foundation');
  const paperIds = presetBackboneIds(registry, 'paper');

  it('runs natural-image backbones on every task and each in-domain one only on the tasks of its modality', () => {
    const weights = emptyWeights('all', [...paperIds, ...foundationIds]);
    const { config, missing, missingDatasets } = foundationExperiment(registry, {
      dataRoot: dataFolders('data-all', ['pcam', 'aptos', 'chestxray14']),
      weightsRoot: weights,
    });
    expect(missing).toEqual([]);
    expect(missingDatasets).toEqual([]);
    expect(config.datasets.map((entry) => ('id' in entry ? entry.id : ''))).toEqual(['pcam', 'aptos', 'chestxray14', 'chestxray14:pneumonia']);
    expect(config.backbones.map(idOf)).toEqual([...new Set([...paperIds, ...foundationIds])]);
    const modalities: Record<string, string> = { pcam: 'pathology', aptos: 'fundus', chestxray14: 'chest-xray', 'chestxray14:pneumonia': 'chest-xray' };
    for (const entry of config.datasets) {
      const id = 'id' in entry ? entry.id : '';
      const expected = config.backbones.map(idOf).filter((backbone) => ['natural', modalities[id]].includes(registry.backbone(backbone).pretraining.domain));
      expect(entry.backbones, id).toEqual(expected);
    }
    const on = (dataset: string) => config.datasets.find((entry) => 'id' in entry && entry.id === dataset)!.backbones;
    expect(on('pcam')).toContain('ibot:phikon');
    expect(on('aptos')).toContain('mae:retfound');
    expect(on('aptos')).not.toContain('ibot:phikon');
    expect(on('pcam')).toEqual(expect.arrayContaining(['mae:vitb16', 'dino:vits16', 'random:resnet50']));
    expect(config.protocols).toEqual(['linear', 'knn']);
    expect(config.fusions ?? []).toEqual([]);
  });

  it('lists backbones whose files are missing and tasks whose folders are missing, and leaves them out', () => {
    const weights = emptyWeights('some', ['dino:vits16', 'ibot:phikon']);
    const { config, missing, missingDatasets } = foundationExperiment(registry, {
      dataRoot: dataFolders('data-some', ['pcam', 'aptos']),
      weightsRoot: weights,
    });
    expect(missingDatasets.map((entry) => entry.id)).toEqual(['chestxray14', 'chestxray14:pneumonia']);
    expect(config.backbones.map(idOf)).toEqual(['dino:vits16', 'random:resnet50', 'ibot:phikon']);
    // In-domain models for modalities with no task here are not asked for; RETFound (APTOS) is.
    expect(missing.map((entry) => entry.id)).toContain('mae:retfound');
    expect(missing.map((entry) => entry.id)).toContain('simclr:resnet50-1x');
    expect(missing.find((entry) => entry.id === 'mae:vitb16')!.expected).toMatch(/mae_pretrain_vit_base\.pth \(https:\/\/dl\.fbaipublicfiles\.com\//);
    for (const entry of missing) expect(registry.backbone(entry.id).pretraining.domain).not.toBe('chest-xray');
    expect(() => foundationExperiment(registry, { dataRoot: join(root, 'nothing'), weightsRoot: weights })).toThrow(/none of its tasks' folders is in/);
  });
});

/** Tiny PCam in the official HDF5 layout: patches whose brightness follows the label. */
async function writeTinyPcam(folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  for (const [official, count] of [
    ['train', 12],
    ['valid', 6],
    ['test', 6],
  ] as const) {
    const labels = Uint8Array.from({ length: count }, (_, index) => index % 2);
    const patches = new Uint8Array(count * 96 * 96 * 3);
    for (let index = 0; index < patches.length; index++) {
      const patch = Math.floor(index / (96 * 96 * 3));
      patches[index] = (labels[patch]! * 90 + ((index * 37 + patch * 11) % 120)) & 255;
    }
    await writePcamSplit({ root: folder, official, count, blocks: [{ patches, labels }] });
  }
}

/** Tiny APTOS in its layout: train.csv and 64x64 PNGs, six per grade. */
async function writeTinyAptos(folder: string): Promise<void> {
  mkdirSync(join(folder, 'train_images'), { recursive: true });
  const rows = ['id_code,diagnosis'];
  for (let index = 0; index < 30; index++) {
    const grade = index % 5;
    const id = `img${String(index).padStart(3, '0')}`;
    rows.push(`${id},${grade}`);
    const pixels = Buffer.alloc(64 * 64 * 3, 0);
    for (let offset = 0; offset < pixels.length; offset++) pixels[offset] = (40 * grade + ((offset * 13 + index * 7) % 60)) & 255;
    await sharp(pixels, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toFile(join(folder, 'train_images', `${id}.png`));
  }
  writeFileSync(join(folder, 'train.csv'), `${rows.join('\n')}\n`);
}

/** Seeded random weights of a backbone, written under its first published file name in its published layout. */
async function writeCheckpoint(weightsRoot: string, id: string, layout: 'canonical' | 'hugging-face-vit'): Promise<void> {
  const backbone = registry.backbone(id);
  const { tensors } = await randomCanonicalWeights(backbone.architecture, 1);
  const file = join(weightsRoot, backbone.checkpoints[0]!.file);
  mkdirSync(dirname(file), { recursive: true });
  if (layout === 'canonical') {
    // DINO's backbone-only release: the canonical names, as the official file spells them.
    writeFileSync(file, encodeTorchCheckpoint(Object.fromEntries(tensors)));
    return;
  }
  await writeSafetensorsFile(
    file,
    stateDictInLayout(backbone.architecture, (name) => huggingFaceCheckpointKey(name, 'vit'), {}, tensors),
  );
}

describe('medssl run --preset foundation, end to end on tiny inputs', () => {
  it('runs what is there, lists what is not, and reports in-domain against natural-image pretraining', async () => {
    const data = join(root, 'tiny-data');
    await writeTinyPcam(join(data, 'pcam'));
    await writeTinyAptos(join(data, 'aptos'));
    const weights = join(root, 'tiny-weights');
    await writeCheckpoint(weights, 'dino:vits16', 'canonical');
    await writeCheckpoint(weights, 'ibot:phikon', 'hugging-face-vit');

    const out = join(root, 'tiny-out');
    const { io, err } = captureIo();
    const args = ['run', '--preset', 'foundation', '--data', data, '--weights', weights, '--out', out, '--store', join(root, 'tiny-store'), '--seeds', '0'];
    const code = await main(args, io);
    const log = err.join('');
    expect(code, log).toBe(0);
    expect(log).toMatch(/foundation preset: left out chestxray14: no folder .*chestxray14/);
    expect(log).toMatch(/foundation preset: left out supervised:resnet50: no checkpoint in .*tiny-weights; expected resnet50-0676ba61\.pth/);
    expect(log).toMatch(/foundation preset: left out mae:retfound: no checkpoint/);

    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      results: { dataset: { id: string }; backbone: string; protocol: string; pretraining: { domain: string } }[];
    };
    const units = run.results.map((result) => `${result.dataset.id} ${result.protocol} ${result.backbone}`).sort();
    expect(units).toEqual(
      [
        'aptos knn dino:vits16',
        'aptos knn random:resnet50',
        'aptos linear dino:vits16',
        'aptos linear random:resnet50',
        'pcam knn dino:vits16',
        'pcam knn ibot:phikon',
        'pcam knn random:resnet50',
        'pcam linear dino:vits16',
        'pcam linear ibot:phikon',
        'pcam linear random:resnet50',
      ].sort(),
    );
    expect(run.results.find((result) => result.backbone === 'ibot:phikon')!.pretraining.domain).toBe('pathology');

    const report = readFileSync(join(out, 'report.html'), 'utf8');
    const pcam = report.split('<section class="task"').find((section) => section.includes('<h2>pcam '))!;
    expect(pcam).toContain('<h3>In-domain vs natural-image pretraining</h3>');
    expect(pcam).toContain('<td class="pretraining">in-domain (pathology), self-supervised</td>');
    expect(pcam.match(/<tr data-verdict="/g)).toHaveLength(2 * 3);
    const aptos = report.split('<section class="task"').find((section) => section.includes('<h2>aptos '))!;
    expect(aptos).not.toContain('In-domain vs natural-image pretraining');
  }, 240_000);
});
