import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFeatureSet } from '@medssl/store';
import type { Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';

const task: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

async function featureFolders(dimensions: { train: number; val: number; test: number } = { train: 8, val: 8, test: 8 }) {
  const root = mkdtempSync(join(tmpdir(), 'medssl-eval-'));
  const rows = { train: 300, val: 80, test: 80 };
  for (const split of ['train', 'val', 'test'] as const) {
    await writeFeatureSet(
      join(root, split),
      syntheticFeatureSet(task, { rows: rows[split], dimension: dimensions[split], seed: split.length, split, separation: 2 }),
    );
  }
  return root;
}

describe('medssl eval', () => {
  it.each(['knn', 'linear'])('runs %s at fractions and seeds and writes results, table and subsets', async (protocol) => {
    const root = await featureFolders();
    const out = join(root, 'results', `${protocol}.json`);
    const { io, out: stdout, err } = captureIo();
    const code = await main(
      [
        'eval',
        protocol,
        '--train',
        join(root, 'train'),
        '--val',
        join(root, 'val'),
        '--test',
        join(root, 'test'),
        '--fractions',
        '0.1,1',
        '--seeds',
        '0,1',
        '--out',
        out,
      ],
      io,
    );
    expect(err.join('')).toMatch(/\[4\/4\] fraction 1, seed 1: auc 0\.\d{4}/);
    expect(code).toBe(0);
    const document = JSON.parse(readFileSync(out, 'utf8'));
    expect(document.format).toBe('medssl.eval/v1');
    expect(document.rows.map((row: { fraction: number; seed: number; split: string }) => [row.fraction, row.seed, row.split])).toEqual([
      [0.1, 0, 'test'],
      [1, 0, 'test'],
      [0.1, 1, 'test'],
      [1, 1, 'test'],
    ]);
    expect(document.rows[1].metrics.auc).toBeGreaterThan(0.8);
    expect(document.summary[1].fraction).toBe(1);
    expect(document.summary[1].metrics.auc.count).toBe(2);
    expect(document.subsetFiles).toEqual([
      'subsets/synthetic-train-f0.1-s0.json',
      'subsets/synthetic-train-f1-s0.json',
      'subsets/synthetic-train-f0.1-s1.json',
      'subsets/synthetic-train-f1-s1.json',
    ]);
    for (const file of document.subsetFiles) expect(existsSync(join(root, 'results', file))).toBe(true);
    expect(stdout.join('')).toMatch(/\| 10 % \| 0\.\d{4} ± 0\.\d{4} \|/);
  });

  it('names what is wrong with the call or the inputs', async () => {
    const root = await featureFolders({ train: 8, val: 8, test: 6 });
    const args = ['--train', join(root, 'train'), '--val', join(root, 'val'), '--test', join(root, 'test'), '--out', join(root, 'x.json')];
    const cases: [string[], RegExp, number][] = [
      [['eval', 'svm', ...args], /expected "linear" or "knn" after "eval", got "svm"/, 2],
      [['eval', 'knn', '--train', 'a', '--val', 'b', '--test', 'c'], /--out is required/, 2],
      [['eval', 'knn', ...args, '--fractions', '0.1,ten'], /--fractions: "ten" is not a number/, 2],
      [['eval', 'linear', ...args, '--k', '5'], /--k and --temperature apply to knn only/, 2],
      [['eval', 'knn', ...args], /test \(--test\) has 6-d features, .*train \(--train\) 8-d/, 1],
      [
        ['eval', 'knn', ...args.slice(0, 4), '--test', join(root, 'nothing'), '--out', join(root, 'x.json')],
        /nothing\/manifest\.json: missing: not a feature-set folder/,
        1,
      ],
    ];
    for (const [argv, pattern, expected] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io)).toBe(expected);
      expect(err.join('')).toMatch(pattern);
    }
    const fractionCase = await featureFolders();
    const { io, err } = captureIo();
    expect(
      await main(
        [
          'eval',
          'knn',
          '--train',
          join(fractionCase, 'train'),
          '--val',
          join(fractionCase, 'val'),
          '--test',
          join(fractionCase, 'test'),
          '--fractions',
          '1.5',
          '--out',
          join(fractionCase, 'x.json'),
        ],
        io,
      ),
    ).toBe(1);
    expect(err.join('')).toMatch(/label fraction must be in \(0, 1\], got 1\.5/);
  });
});
