import { createRng } from '@medssl/core';
import type { Task } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import { ESTIMATOR_IDS, ESTIMATORS, estimateTransferability, TransferabilityInputError } from './index.js';

const binary: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const ordinal: Task = { type: 'multiclass', classes: ['0', '1', '2', '3', '4'], ordinal: true, primaryMetric: 'kappa' };
const multilabel: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };

/** Rows whose first dimensions shift with the class by `separation`, the rest noise. */
function separable(n: number, d: number, classOf: (row: number) => number, separation: number, seed = 1): Float32Array {
  const rng = createRng(seed);
  const data = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) data[r * d + c] = rng.normal() + (c < 8 ? separation * classOf(r) : 0);
  return data;
}

describe('estimateTransferability', () => {
  it('lists every estimator with its paper, in table order', () => {
    expect(ESTIMATORS.map((estimator) => estimator.id)).toEqual(ESTIMATOR_IDS);
    for (const estimator of ESTIMATORS) expect(estimator.reference).toMatch(/\w/);
  });

  it('gives a finite score from every estimator at 1 % labels of 2048-dimensional features (n < d, rank-deficient)', async () => {
    const n = 26;
    const d = 2048;
    const data = separable(n, d, (row) => row % 2, 1);
    // Dead ReLU units: whole columns of zeros, as ResNet features have.
    for (let r = 0; r < n; r++) for (let c = 100; c < 400; c++) data[r * d + c] = 0;
    const scores = await estimateTransferability({
      features: { data, shape: [n, d] },
      targets: { type: 'class', data: Int32Array.from({ length: n }, (_, r) => r % 2), shape: [n] },
      task: binary,
    });
    for (const id of ESTIMATOR_IDS) expect(Number.isFinite(scores[id]), id).toBe(true);
  });

  it('ranks well-separated features above overlapping ones by every estimator, for binary, ordinal and multilabel tasks', async () => {
    const n = 150;
    const d = 24;
    const cases = [
      {
        task: binary,
        classOf: (row: number) => row % 2,
        targets: { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 2), shape: [n] as [number] },
      },
      {
        task: ordinal,
        classOf: (row: number) => row % 5,
        targets: { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 5), shape: [n] as [number] },
      },
      {
        task: multilabel,
        classOf: (row: number) => row % 2,
        targets: {
          type: 'labels' as const,
          data: Uint8Array.from(
            { length: n * 3 },
            (_, i) => (Math.floor(i / 3) % 2 === 1 || i % 3 === 2 ? 1 : 0) & (i % 3 === 2 ? (Math.floor(i / 3) % 3 === 0 ? 1 : 0) : 1),
          ),
          shape: [n, 3] as [number, number],
        },
      },
    ];
    for (const { task, classOf, targets } of cases) {
      const clear = await estimateTransferability({ features: { data: separable(n, d, classOf, 3), shape: [n, d] }, targets, task });
      const blurred = await estimateTransferability({ features: { data: separable(n, d, classOf, 0.2), shape: [n, d] }, targets, task });
      // TransRate codes each class on the overall mean, so a shift along one direction raises the whole and
      // the class rates alike: it answers to the classes' shapes instead (next test).
      for (const id of ESTIMATOR_IDS.filter((id) => id !== 'transrate')) expect(clear[id], `${task.type} ${id}`).toBeGreaterThan(blurred[id]);
    }
  });

  it('gives classes that fill their own subspaces a higher TransRate than classes that share one', async () => {
    const n = 120;
    const d = 16;
    const rng = createRng(3);
    const own = new Float32Array(n * d);
    const shared = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < d; c++) {
        own[r * d + c] = c < d / 2 === (r % 2 === 0) ? rng.normal() : 0;
        shared[r * d + c] = rng.normal() / Math.SQRT2;
      }
    }
    const targets = { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 2), shape: [n] as [number] };
    const score = async (data: Float32Array) =>
      (await estimateTransferability({ features: { data, shape: [n, d] }, targets, task: binary }, { estimators: ['transrate'] })).transrate;
    expect(await score(own)).toBeGreaterThan(await score(shared));
  });

  it('gives TransRate alone (by Cholesky) the value it has beside the others (from the spectrum)', async () => {
    for (const [n, d] of [
      [80, 12],
      [20, 50],
    ] as const) {
      const input = {
        features: { data: separable(n, d, (row) => row % 3, 1), shape: [n, d] as [number, number] },
        targets: { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 3), shape: [n] as [number] },
        task: { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' } as Task,
      };
      const alone = (await estimateTransferability(input, { estimators: ['transrate'] })).transrate;
      const beside = (await estimateTransferability(input)).transrate;
      expect(Math.abs(alone - beside) / Math.abs(beside), `[${n}, ${d}]`).toBeLessThan(1e-10);
    }
  });

  it('runs only the estimators asked for, and only NLEEP depends on the seed', async () => {
    const n = 60;
    const d = 10;
    const input = {
      features: { data: separable(n, d, (row) => row % 2, 1), shape: [n, d] as [number, number] },
      targets: { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 2), shape: [n] as [number] },
      task: binary,
    };
    expect(Object.keys(await estimateTransferability(input, { estimators: ['gbc', 'knn'] }))).toEqual(['gbc', 'knn']);
    const first = await estimateTransferability({ ...input, seed: 0 });
    const again = await estimateTransferability({ ...input, seed: 0 });
    const other = await estimateTransferability({ ...input, seed: 5 });
    expect(again).toEqual(first);
    for (const id of ESTIMATOR_IDS.filter((id) => id !== 'nleep')) expect(other[id]).toBe(first[id]);
  });

  it('names what is wrong with bad input', async () => {
    const n = 20;
    const d = 4;
    const data = separable(n, d, (row) => row % 2, 1);
    const targets = { type: 'class' as const, data: Int32Array.from({ length: n }, (_, r) => r % 2), shape: [n] as [number] };
    const run = (overrides: object, options = {}) =>
      estimateTransferability({ features: { data, shape: [n, d] }, targets, task: binary, ...overrides }, options);
    await expect(run({ features: { data, shape: [n, d + 1] } })).rejects.toThrow(/claim shape \[20, 5\] but hold 80 values/);
    const withNaN = Float32Array.from(data);
    withNaN[2 * d + 3] = Number.NaN;
    await expect(run({ features: { data: withNaN, shape: [n, d] } })).rejects.toThrow(/feature \[2, 3\] is NaN/);
    await expect(run({ targets: { ...targets, shape: [n - 1] } })).rejects.toThrow(/targets have 19 rows, the features 20/);
    await expect(run({ targets: { ...targets, data: new Int32Array(n) } })).rejects.toThrow(TransferabilityInputError);
    await expect(run({ targets: { ...targets, data: Int32Array.from(targets.data, (value, row) => (row === 7 ? 2 : value)) } })).rejects.toThrow(
      /target of row 7 is 2, outside the task's classes 0..1/,
    );
    await expect(run({}, { estimators: ['leep'] })).rejects.toThrow(/unknown estimator "leep"; known: logme, hscore/);
    await expect(run({ features: { data: new Float32Array(n * d).fill(1), shape: [n, d] } })).rejects.toThrow(/all 20 feature rows are equal/);
    await expect(run({}, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it('scores a multilabel task over the labels with both values present', async () => {
    const n = 40;
    const d = 6;
    const data = separable(n, d, (row) => row % 2, 2);
    // Label c is never positive: left out, not scored as a degenerate problem.
    const flags = Uint8Array.from({ length: n * 3 }, (_, i) => (i % 3 === 2 ? 0 : Math.floor(i / 3) % 2));
    const scores = await estimateTransferability({
      features: { data, shape: [n, d] },
      targets: { type: 'labels', data: flags, shape: [n, 3] },
      task: multilabel,
    });
    const twoLabels = await estimateTransferability({
      features: { data, shape: [n, d] },
      targets: { type: 'labels', data: Uint8Array.from({ length: n * 2 }, (_, i) => Math.floor(i / 2) % 2), shape: [n, 2] },
      task: { ...multilabel, labels: ['a', 'b'] },
    });
    for (const id of ESTIMATOR_IDS.filter((id) => id !== 'nleep')) expect(scores[id]).toBeCloseTo(twoLabels[id], 10);
    const none = Uint8Array.from({ length: n * 3 }, () => 0);
    await expect(
      estimateTransferability({ features: { data, shape: [n, d] }, targets: { type: 'labels', data: none, shape: [n, 3] }, task: multilabel }),
    ).rejects.toThrow(/no label of the task has both positive and negative rows among the 40 given/);
  });
});

describe('@medssl/transferability in a browser', () => {
  it('imports no Node built-in outside its tests', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const sources = readdirSync(import.meta.dirname).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(sources).toContain('index.ts');
    for (const file of sources) expect(readFileSync(new URL(file, import.meta.url), 'utf8'), file).not.toMatch(/from 'node:|\bprocess\.|\bBuffer\b|require\(/);
  });
});
