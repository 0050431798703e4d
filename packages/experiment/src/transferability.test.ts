import { createRng } from '@medssl/core';
import type { FeatureSet, Task } from '@medssl/spec';
import { ESTIMATOR_IDS } from '@medssl/transferability';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ranksOf, scoreFeatureSets, writeTransferabilityDocument } from './transferability.js';

const task: Task = { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' };
const rows = 90;
const labels = Int32Array.from({ length: rows }, (_, row) => row % 3);

/** A feature set whose class means are `separation` apart in 16 dimensions, with unit noise. */
function featureSet(backbone: string, separation: number, seed: number, ids = Array.from({ length: rows }, (_, row) => `sample-${row}`)): FeatureSet {
  const rng = createRng(seed);
  const width = 16;
  const data = new Float32Array(rows * width);
  for (let row = 0; row < rows; row++)
    for (let column = 0; column < width; column++) data[row * width + column] = rng.normal() + (column === labels[row] ? separation : 0);
  return {
    features: { data, shape: [rows, width] },
    targets: { type: 'class', data: labels, shape: [rows] },
    ids,
    manifest: {
      format: 'medssl.features/v1',
      dataset: { id: 'synthetic', version: '1' },
      task,
      split: 'train',
      backbone,
      weightsSha256: '0'.repeat(64),
      preprocessing: { channels: 3 },
      runtime: { id: 'test', provider: 'cpu', precision: 'float32' },
      count: rows,
      dimension: width,
      created: '2026-12-08T00:00:00.000Z',
    },
  };
}

describe('scoreFeatureSets', () => {
  it('ranks well-separated features above noise by every estimator, on the subset the protocols train on', async () => {
    const sets = [
      { set: featureSet('noise', 0, 1), source: 'noise/' },
      { set: featureSet('separated', 4, 2), source: 'separated/' },
      { set: featureSet('somewhat', 1.5, 3), source: 'somewhat/' },
    ];
    const whole = await scoreFeatureSets(sets);
    expect(whole.trainCount).toBe(rows);
    expect(whole.scores.map((entry) => entry.backbone)).toEqual(['noise', 'separated', 'somewhat']);
    for (const estimator of ESTIMATOR_IDS) {
      const scores = whole.scores.map((entry) => entry.scores[estimator]);
      expect(scores.every(Number.isFinite), estimator).toBe(true);
      expect(ranksOf(scores), estimator).toEqual([3, 1, 2]);
    }
    const subset = await scoreFeatureSets(sets, { fraction: 0.5, seed: 1, estimators: ['logme', 'knn'] });
    expect(subset.trainCount).toBe(45);
    expect(subset.scoredCount).toBe(45);
    expect(Object.keys(subset.scores[0]!.scores).sort()).toEqual(['knn', 'logme']);
  });

  it("scores at most maxRows rows: a stratified subset nested in the fraction's", async () => {
    const sets = [
      { set: featureSet('separated', 4, 2), source: 'separated/' },
      { set: featureSet('somewhat', 1.5, 3), source: 'somewhat/' },
    ];
    const capped = await scoreFeatureSets(sets, { maxRows: 30, estimators: ['logme'] });
    expect(capped).toMatchObject({ trainCount: rows, scoredCount: 30 });
    const same = await scoreFeatureSets(sets, { fraction: 30 / rows, estimators: ['logme'] });
    // The cap draws the subset the protocols would train on at that size.
    expect(capped.scores).toEqual(same.scores);
    await expect(scoreFeatureSets(sets, { maxRows: 2 })).rejects.toThrow(/maxRows must be an integer of at least 3, got 2/);
  });

  it('refuses feature sets of other rows or another split, naming both', async () => {
    const other = featureSet(
      'b',
      1,
      2,
      Array.from({ length: rows }, (_, row) => (row === 7 ? 'elsewhere' : `sample-${row}`)),
    );
    await expect(
      scoreFeatureSets([
        { set: featureSet('a', 1, 1), source: 'a/' },
        { set: other, source: 'b/' },
      ]),
    ).rejects.toThrow(/b\/ and a\/ hold other samples \(row 7 is elsewhere, not sample-7\)/);
    const val = { ...featureSet('c', 1, 3), manifest: { ...featureSet('c', 1, 3).manifest, split: 'val' } };
    await expect(
      scoreFeatureSets([
        { set: featureSet('a', 1, 1), source: 'a/' },
        { set: val, source: 'c/' },
      ]),
    ).rejects.toThrow(/c\/ holds synthetic\/val, but a\/ holds synthetic\/train/);
  });

  it('ranks ties alike, 1 for the highest', () => {
    expect(ranksOf([0.5, 2, 0.5, -1])).toEqual([2, 1, 2, 4]);
  });
});

describe('writeTransferabilityDocument', () => {
  it('averages the scored seeds per fraction and keeps the subsets it could not score, with the reason', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'medssl-transferability-')), 'results', 'transferability.json');
    await writeTransferabilityDocument(out, {
      dataset: { id: 'synthetic', version: '1' },
      task,
      estimators: ['logme'],
      backbones: ['a'],
      fractions: [0.01, 1],
      seeds: [0, 1],
      rows: [
        { fraction: 0.01, seed: 0, skipped: 'needs at least 3 rows, got 2' },
        { fraction: 0.01, seed: 1, skipped: 'needs at least 3 rows, got 2' },
        { fraction: 1, seed: 0, trainCount: 90, scoredCount: 90, scores: { a: { logme: 1 } } },
        { fraction: 1, seed: 1, trainCount: 90, scoredCount: 90, scores: { a: { logme: 2 } } },
      ],
      elapsedMilliseconds: 5,
    });
    const document = JSON.parse(readFileSync(out, 'utf8'));
    expect(document.summary).toEqual([{ fraction: 1, scores: { a: { logme: 1.5 } } }]);
    expect(document.rows.filter((row: { skipped?: string }) => row.skipped)).toHaveLength(2);
  });
});
