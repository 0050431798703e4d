import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@medssl/core';
import { readFeatureSet } from '@medssl/store';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { afterAll, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';
import { writeSmallConvnet } from './__fixtures__/small-convnet.js';

const medmnist = sharedData('medmnist');
const pcamJpegs = sharedData('pcam', 'data');

const repository = join(import.meta.dirname, '../../../..');
const bin = join(import.meta.dirname, '../bin.ts');
const scratch = mkdtempSync(join(tmpdir(), 'medssl-embed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;
const fresh = (name: string) => join(scratch, `${name}-${made++}`);

// A small convnet as an ONNX file: real onnxruntime inference, without ResNet-50's seconds of weight generation
// and graph optimisation in every one of the many runs below (ResNet-50 has its own test at the end).
const model = join(scratch, 'small-convnet.onnx');
writeSmallConvnet(model);

/** The PCam JPEG patches through the folder dataset: real decoding, preprocessing and inference. */
const pcamArgs = (store: string, ...more: string[]) => [
  'embed',
  '--dataset',
  'folder',
  '--root',
  pcamJpegs,
  '--split',
  'train',
  '--backbone',
  `onnx:${model}`,
  '--output-name',
  'features',
  '--resize',
  '64',
  '--crop',
  '56',
  '--limit',
  '120',
  '--chunk-rows',
  '8',
  '--batch',
  '4',
  '--threads',
  '1',
  '--workers',
  '1',
  '--store',
  store,
  ...more,
];

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from the "embedding" line to the exit. */
  readonly extracting: number;
}

/** Runs the real `medssl` command (bin.ts on TypeScript source) as a child process. */
function runCli(args: readonly string[], kill?: { afterEmbeddingMs?: number; whenJournalHas?: { store: string; chunks: number } }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@medssl/source', '--import', 'tsx', bin, ...args], {
      cwd: repository,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let embeddingAt: number | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
      if (embeddingAt === undefined && /embedding \d+ of \d+ rows/.test(stderr)) {
        embeddingAt = performance.now();
        if (kill?.afterEmbeddingMs !== undefined) setTimeout(() => child.kill('SIGKILL'), kill.afterEmbeddingMs);
        const journal = kill?.whenJournalHas;
        if (journal) {
          poll = setInterval(() => {
            const records = readdirSync(journal.store).flatMap((key) => {
              const folder = join(journal.store, key, '.extraction', 'journal');
              return existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.json')) : [];
            });
            if (records.length >= journal.chunks) child.kill('SIGKILL');
          }, 5);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr, extracting: embeddingAt === undefined ? 0 : performance.now() - embeddingAt });
    });
  });
}

const featuresOf = (folder: string) => readFileSync(join(folder, 'features.npy'));
const storeEntry = (store: string) => join(store, readdirSync(store)[0]!);

describeWithSharedData('medssl embed', ['medmnist/retinamnist.npz', 'pcam/data/train'], () => {
  let reference: { folder: string; extracting: number } | undefined;

  it('embeds, then reuses the stored features and says so; a changed transform computes anew', async () => {
    const store = fresh('store');
    const first = await runCli(pcamArgs(store));
    expect(first.stderr).toMatch(/embedding 120 of 120 rows into .* on cpu \(1 preprocessing worker\)/);
    expect(first.code).toBe(0);
    const folder = first.stdout.trim();
    reference = { folder, extracting: first.extracting };
    const set = await readFeatureSet(folder);
    expect(set.features.shape).toEqual([120, 32]);
    expect(set.manifest).toMatchObject({
      backbone: `onnx:${model}`,
      runtime: { id: 'onnx', provider: 'cpu', precision: 'float32' },
      preprocessing: { resize: { size: 64 }, centerCrop: 56 },
      count: 120,
    });
    expect(set.features.data.every(Number.isFinite)).toBe(true);

    const again = captureIo();
    const out = fresh('out');
    expect(await main(pcamArgs(store, '--batch', '7', '--workers', '2', '--out', out), again.io)).toBe(0);
    expect(again.err.join('')).toMatch(/reusing stored features: 120 x 32 in .*; nothing to compute/);
    expect(featuresOf(out).equals(featuresOf(folder))).toBe(true);
    expect(again.out.join('').trim()).toBe(out);

    const cropped = captureIo();
    expect(await main(pcamArgs(store, '--crop', '48'), cropped.io)).toBe(0);
    expect(cropped.err.join('')).toMatch(/embedding 120 of 120 rows/);
    expect(cropped.out.join('').trim()).not.toBe(folder);
  });

  it('resumes after SIGKILL at random points and writes the same features.npy byte for byte', async () => {
    expect(reference).toBeDefined();
    const expected = featuresOf(reference!.folder);
    const rng = createRng(6);
    let killedMidway = 0;
    for (const seed of [1, 2, 3]) {
      const store = fresh(`killed-${seed}`);
      // A random moment inside the extraction as the reference run timed it.
      const delay = Math.floor(rng.next() * 0.9 * reference!.extracting);
      const killed = await runCli(pcamArgs(store), { afterEmbeddingMs: delay });
      if (killed.signal !== 'SIGKILL') {
        expect(killed.code, `seed ${seed} finished before its kill at ${delay} ms`).toBe(0);
        continue;
      }
      killedMidway++;
      if (killedMidway === 1) {
        const refused = captureIo();
        expect(await main(pcamArgs(store), refused.io)).toBe(1);
        expect(refused.err.join('')).toMatch(
          /an interrupted extraction of the same features is in .*; run again with --resume to continue from it, or with --restart to discard it/,
        );
      }
      const resumed = await runCli(pcamArgs(store, '--resume'));
      expect(resumed.stderr, `seed ${seed}, killed after ${delay} ms`).toMatch(/resuming .*: \d+ of 15 chunks durable/);
      expect(resumed.code).toBe(0);
      expect(featuresOf(resumed.stdout.trim()).equals(expected), `seed ${seed}, killed after ${delay} ms`).toBe(true);
    }
    expect(killedMidway).toBeGreaterThanOrEqual(2);
  });

  it('detects a damaged chunk after a kill and recomputes it', async () => {
    const store = fresh('damaged');
    const killed = await runCli(pcamArgs(store), { whenJournalHas: { store, chunks: 2 } });
    expect(killed.signal).toBe('SIGKILL');
    const chunk = join(storeEntry(store), '.extraction', 'chunks', '000000.npy');
    const bytes = readFileSync(chunk);
    bytes[bytes.length - 10]! ^= 0x20;
    writeFileSync(chunk, bytes);
    const resumed = await runCli(pcamArgs(store, '--resume'));
    expect(resumed.stderr).toMatch(
      /chunk 0 \(rows 0\.\.7\) is not usable: .*000000\.npy has SHA-256 [0-9a-f]{64}, its journal record says [0-9a-f]{64}; recomputing it/,
    );
    expect(resumed.code).toBe(0);
    expect(featuresOf(resumed.stdout.trim()).equals(featuresOf(reference!.folder))).toBe(true);
  });

  it('splits a split into shards that merge into the unsharded features, and refuses a missing shard', async () => {
    const store = fresh('shards');
    const shardFolders: string[] = [];
    for (const shard of ['0/2', '1/2']) {
      const { io, out } = captureIo();
      expect(await main(pcamArgs(store, '--shard', shard, '--out', fresh(`shard-${shard.replace('/', '-of-')}`)), io)).toBe(0);
      shardFolders.push(out.join('').trim());
    }
    const rows = await Promise.all(shardFolders.map(async (folder) => (await readFeatureSet(folder)).ids.length));
    expect(rows).toEqual([56, 64]);
    const merged = captureIo();
    const target = fresh('merged');
    expect(await main(['features', 'merge', ...shardFolders, '--out', target], merged.io)).toBe(0);
    expect(merged.err.join('')).toMatch(/merged 2 shards into 120 x 32 features \(rows 0\.\.119/);
    expect(featuresOf(target).equals(featuresOf(reference!.folder))).toBe(true);
    expect(readFileSync(join(target, 'ids.json')).equals(readFileSync(join(reference!.folder, 'ids.json')))).toBe(true);

    const missing = captureIo();
    expect(await main(['features', 'merge', shardFolders[1]!, '--out', fresh('bad')], missing.io)).toBe(1);
    expect(missing.err.join('')).toMatch(/cannot merge into rows 0\.\.119: rows 0\.\.55 are missing: no input holds them/);
  });

  it('embeds real fundus images with a random ResNet-50; batch size changes no byte', async () => {
    const store = fresh('store');
    const { io, out, err } = captureIo();
    const args = [
      'embed',
      '--dataset',
      'medmnist:retinamnist',
      '--root',
      medmnist,
      '--split',
      'train',
      '--limit',
      '12',
      '--resize',
      '28',
      '--crop',
      '28',
      '--threads',
      '1',
    ];
    expect(await main([...args, '--backbone', 'random:resnet50', '--batch', '5', '--store', store], io)).toBe(0);
    expect(err.join('')).toMatch(/wrote 12 x 2048 features to .* \(inference on cpu\)/);
    const set = await readFeatureSet(out.join('').trim());
    expect(set.ids.slice(0, 2)).toEqual(['train/000000', 'train/000001']);
    expect(set.manifest).toMatchObject({ dataset: { id: 'medmnist:retinamnist' }, split: 'train', backbone: 'random:resnet50', count: 12, dimension: 2048 });
    expect(set.manifest.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(set.features.data.every(Number.isFinite)).toBe(true);
    // Batch size is not part of the key, since it changes no feature: two fresh stores, two batch sizes, the same bytes.
    const folders: string[] = [];
    for (const batch of ['5', '12']) {
      const run = captureIo();
      expect(await main([...args, '--backbone', `onnx:${model}`, '--output-name', 'features', '--batch', batch, '--store', fresh('store')], run.io)).toBe(0);
      folders.push(run.out.join('').trim());
    }
    expect(featuresOf(folders[0]!).equals(featuresOf(folders[1]!))).toBe(true);
  });

  it('embeds several backbones, those that preprocess alike in one pass, each into its own set', async () => {
    const second = join(scratch, 'small-convnet-2.onnx');
    writeSmallConvnet(second, 1);
    const common = [
      'embed',
      '--dataset',
      'folder',
      '--root',
      pcamJpegs,
      '--split',
      'train',
      '--output-name',
      'features',
      '--resize',
      '32',
      '--crop',
      '28',
      '--limit',
      '12',
      '--batch',
      '4',
      '--threads',
      '1',
      '--workers',
      '1',
    ];
    const backbones = [`onnx:${model}`, 'random:resnet50', `onnx:${second}`];
    const out = fresh('out');
    const { io, out: printed, err } = captureIo();
    expect(await main([...common, ...backbones.flatMap((id) => ['--backbone', id]), '--store', fresh('store'), '--out', out], io)).toBe(0);
    // The two model files preprocess alike (no normalisation); ResNet-50 normalises with ImageNet's mean and std.
    expect(err.join('')).toContain(`folder/train × onnx:${model} (+1 in the same pass)`);
    expect(err.join('')).toMatch(/folder\/train × random:resnet50 12\/12/);
    const folders = printed.join('').trim().split('\n');
    expect(folders).toEqual(backbones.map((id) => join(out, id.replace(/[^\w.-]+/g, '_'))));
    for (const [position, id] of backbones.entries()) {
      const set = await readFeatureSet(folders[position]!);
      expect(set.manifest).toMatchObject({ backbone: id, count: 12 });
      if (id.startsWith('onnx:')) {
        const alone = captureIo();
        expect(await main([...common, '--backbone', id, '--store', fresh('store')], alone.io)).toBe(0);
        expect(featuresOf(alone.out.join('').trim()).equals(featuresOf(folders[position]!)), id).toBe(true);
      }
    }
  });

  it('names what is missing or wrong', async () => {
    const root = fresh('errors');
    const base = ['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--store', root];
    const cases: [string[], RegExp, number][] = [
      [[...base, '--backbone', 'dino:vits16'], /dino:vits16 needs --weights FILE: dino_deitsmall16_pretrain\.pth/, 2],
      [[...base, '--backbone', 'simmim:vitb16'], /unknown backbone "simmim:vitb16"/, 2],
      [[...base, '--backbone', 'random:resnet50', '--batch', '0'], /--batch must be a positive integer, got "0"/, 2],
      [[...base, '--backbone', 'random:resnet50', '--weights', 'x.pth'], /random:resnet50 takes no --weights/, 2],
      [[...base, '--backbone', 'random:resnet50', '--shard', '2/2'], /--shard: shard index must be an integer from 0 to 1/, 2],
      [[...base, '--backbone', 'random:resnet50', '--resume', '--restart'], /--resume and --restart exclude each other/, 2],
      [[...base, '--backbone', 'random:resnet50', '--device', 'tpu'], /--device must be cpu or cuda, got "tpu"/, 2],
      [[...base, '--backbone', 'random:resnet50', '--backbone', 'random:resnet50'], /--backbone random:resnet50 is given twice/, 2],
      [
        [...base, '--backbone', 'random:resnet50', '--backbone', 'dino:vits16', '--weights', 'dino.pth'],
        /--weights "dino\.pth": with several backbones, name the one it is for: --weights ID=FILE, ID one of random:resnet50, dino:vits16/,
        2,
      ],
      [
        [...base, '--backbone', 'dino:vits16', '--backbone', 'swav:resnet50', '--weights', 'dino:vits16=a.pth', '--weights', 'dino:vits16=b.pth'],
        /--weights for dino:vits16 is given twice/,
        2,
      ],
      [
        [...base, '--backbone', `onnx:${model}`, '--output-name', 'features', '--limit', '4', '--resize', '28', '--crop', '28', '--device', 'cuda'],
        /CUDA execution provider is not installed .*allowBuilds: \{ onnxruntime-node: true \}.*ONNXRUNTIME_NODE_INSTALL_CUDA=1/s,
        1,
      ],
    ];
    for (const [argv, pattern, code] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(code);
      expect(err.join('')).toMatch(pattern);
    }
  });
});
