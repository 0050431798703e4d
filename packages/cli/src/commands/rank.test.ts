import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@medssl/core';
import { captureIo } from '@medssl/experiment/testing';
import type { FeatureSet } from '@medssl/spec';
import { writeFeatureSet } from '@medssl/store';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { ESTIMATOR_IDS } from '@medssl/transferability';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

const scratch = mkdtempSync(join(tmpdir(), 'medssl-rank-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A binary feature set written as embed writes one: the positive class shifted by `separation` in every dimension. */
async function writeSet(name: string, separation: number, seed: number): Promise<string> {
  const rows = 60;
  const width = 12;
  const rng = createRng(seed);
  const labels = Int32Array.from({ length: rows }, (_, row) => row % 2);
  const data = Float32Array.from({ length: rows * width }, (_, index) => rng.normal() + labels[Math.floor(index / width)]! * separation);
  const set: FeatureSet = {
    features: { data, shape: [rows, width] },
    targets: { type: 'class', data: labels, shape: [rows] },
    ids: Array.from({ length: rows }, (_, row) => `patch-${row}`),
    manifest: {
      format: 'medssl.features/v1',
      dataset: { id: 'pcam', version: 'test' },
      task: { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' },
      split: 'train',
      backbone: name,
      weightsSha256: '0'.repeat(64),
      preprocessing: { channels: 3 },
      runtime: { id: 'test', provider: 'cpu', precision: 'float32' },
      count: rows,
      dimension: width,
      created: '2026-12-08T00:00:00.000Z',
    },
  };
  const folder = join(scratch, name);
  await writeFeatureSet(folder, set);
  return folder;
}

describe('medssl rank', () => {
  it('scores and ranks feature sets by every estimator, in a table and as JSON', async () => {
    const weak = await writeSet('weak:backbone', 0.3, 1);
    const strong = await writeSet('strong:backbone', 2, 2);
    const { io, out } = captureIo();
    expect(await main(['rank', '--features', `${weak},${strong}`], io)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/^pcam\/train, binary: 60 rows, 2 feature sets, scored in [\d.]+ s; higher is better, rank in brackets\n/);
    for (const id of ESTIMATOR_IDS) expect(text.split('\n')[2]).toContain(id);
    expect(text).toMatch(/strong:backbone( +\S+ \[1\]){6}\n/);
    expect(text).toMatch(/weak:backbone( +\S+ \[2\]){6}\n/);

    const json = captureIo();
    expect(await main(['rank', '--features', `${weak},${strong}`, '--estimators', 'logme,knn', '--fraction', '0.5', '--seed', '3', '--json'], json.io)).toBe(0);
    const document = JSON.parse(json.out.join(''));
    expect(document).toMatchObject({ fraction: 0.5, seed: 3, rows: 30, estimators: ['logme', 'knn'] });
    expect(document.featureSets.map((entry: { backbone: string; ranks: object }) => [entry.backbone, entry.ranks])).toEqual([
      ['weak:backbone', { logme: 2, knn: 2 }],
      ['strong:backbone', { logme: 1, knn: 1 }],
    ]);

    const capped = captureIo();
    expect(await main(['rank', '--features', `${weak},${strong}`, '--estimators', 'gbc', '--max-rows', '20'], capped.io)).toBe(0);
    expect(capped.out.join('')).toMatch(/^pcam\/train, binary: 60 rows, 20 of them scored \(--max-rows\), 2 feature sets/);
  });

  it('names an unknown estimator and a fraction out of range', async () => {
    const folder = await writeSet('any:backbone', 1, 3);
    const unknown = captureIo();
    expect(await main(['rank', '--features', folder, '--estimators', 'logme,leep'], unknown.io)).toBe(2);
    expect(unknown.err.join('')).toMatch(/--estimators: unknown estimator "leep"; known: logme, hscore, nleep, transrate, gbc, knn/);
    const fraction = captureIo();
    expect(await main(['rank', '--features', folder, '--fraction', '2'], fraction.io)).toBe(2);
    expect(fraction.err.join('')).toMatch(/--fraction must be in \(0, 1\], got "2"/);
  });
});

describeWithSharedData('medssl rank on real features', ['pcam/data/train'], () => {
  it('ranks the PCam patches through two backbones, the same way every time', async () => {
    const pcam = sharedData('pcam', 'data');
    const folders: string[] = [];
    for (const backbone of ['random:resnet50', 'random:vits16']) {
      const out = join(scratch, 'real', backbone.replace(':', '_'));
      const { io, err } = captureIo();
      const args = ['embed', '--dataset', 'folder', '--root', pcam, '--split', 'train', '--backbone', backbone, '--limit', '200'];
      args.push('--resize', '64', '--crop', '64', '--store', join(scratch, 'store'), '--out', out, '--threads', '2', '--workers', '1');
      expect(await main(args, io), err.join('')).toBe(0);
      folders.push(out);
    }
    const first = captureIo();
    expect(await main(['rank', '--features', folders.join(','), '--json'], first.io), first.err.join('')).toBe(0);
    const second = captureIo();
    expect(await main(['rank', '--features', folders.join(','), '--json'], second.io)).toBe(0);
    expect(second.out.join('')).toBe(first.out.join(''));
    const document = JSON.parse(first.out.join(''));
    expect(document.rows).toBe(200);
    for (const entry of document.featureSets) {
      for (const id of ESTIMATOR_IDS) {
        expect(Number.isFinite(entry.scores[id]), `${entry.backbone} ${id}`).toBe(true);
        expect([1, 2]).toContain(entry.ranks[id]);
      }
    }
    const table = captureIo();
    expect(await main(['rank', '--features', folders.join(',')], table.io)).toBe(0);
    console.log(`medssl rank on 200 PCam patches (150 normal, 50 tumour):\n${table.out.join('')}`);
  }, 120_000);
});
