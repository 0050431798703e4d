import type { Protocol, ProtocolInput, Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { evaluateLabelFractions, summarize } from './evaluation.js';

const task: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const pool = syntheticFeatureSet(task, { rows: 200, dimension: 4, seed: 1 });
const input = {
  task,
  train: pool,
  val: syntheticFeatureSet(task, { rows: 20, dimension: 4, seed: 2, split: 'val' }),
  test: syntheticFeatureSet(task, { rows: 20, dimension: 4, seed: 3, split: 'test' }),
};

/** Reports the training rows it was given, so the test can see the subsets. */
function recordingProtocol(seen: Int32Array[]): Protocol {
  return {
    specificationVersion: 'medssl/v1',
    id: 'recording',
    supports: ['binary'],
    async evaluate(run: ProtocolInput) {
      seen.push(run.trainRows!);
      return { metrics: { auc: run.trainRows!.length / 1000 + run.seed / 100 }, validation: { auc: 0.5 }, selected: { seed: run.seed } };
    },
  };
}

describe('evaluateLabelFractions', () => {
  it('runs every fraction and seed on nested subsets and summarises over seeds', async () => {
    const seen: Int32Array[] = [];
    const progress: number[] = [];
    const result = await evaluateLabelFractions({
      protocol: recordingProtocol(seen),
      input,
      pool,
      dataset: 'synthetic',
      fractions: [0.05, 0.5, 1],
      seeds: [0, 1, 2],
      onRow: (_row, done) => {
        progress.push(done);
      },
    });
    expect(result.rows.map((row) => [row.fraction, row.seed, row.trainCount])).toEqual([
      [0.05, 0, 10],
      [0.5, 0, 100],
      [1, 0, 200],
      [0.05, 1, 10],
      [0.5, 1, 100],
      [1, 1, 200],
      [0.05, 2, 10],
      [0.5, 2, 100],
      [1, 2, 200],
    ]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const small = new Set(seen[0]);
    expect(Array.from(seen[1]!).filter((row) => small.has(row))).toHaveLength(10);
    expect(Array.from(seen[0]!)).not.toEqual(Array.from(seen[3]!)); // another seed, another subset
    const [first] = result.summary;
    expect(first!.fraction).toBe(0.05);
    expect(first!.metrics.auc!.mean).toBeCloseTo(0.01 + 0.01, 12); // seeds 0, 1, 2 add 0, 0.01, 0.02
    expect(first!.metrics.auc!.std).toBeCloseTo(0.01, 12);
    expect(result.subsets).toHaveLength(9);
  });

  it('names the fraction, seed and subset when a run fails', async () => {
    const failing: Protocol = {
      ...recordingProtocol([]),
      evaluate: async () => {
        throw new Error('only one class in the training rows');
      },
    };
    await expect(evaluateLabelFractions({ protocol: failing, input, pool, dataset: 'synthetic', fractions: [0.005], seeds: [4] })).rejects.toThrow(
      /recording at fraction 0\.005, seed 4 \(2 training rows\): only one class/,
    );
  });

  it('gives a zero spread for one seed', () => {
    const summary = summarize([{ fraction: 1, seed: 0, split: 'test', trainCount: 3, metrics: { auc: 0.8 }, validation: {}, selected: {} }], [1]);
    expect(summary[0]!.metrics.auc).toEqual({ mean: 0.8, std: 0, count: 1 });
  });
});
