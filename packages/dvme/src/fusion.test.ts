import type { FeatureSet, FusionInput, Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from './__fixtures__/backend.js';
import { SOURCE_NAMES, ordinalTask, syntheticSources } from './__fixtures__/synthetic-sources.js';
import { dvme, fitFusion, type FusionOptions, type FusionReport } from './index.js';

// Small modules so that the whole file trains in seconds; the defaults (512 wide) are for real features.
const small: FusionOptions = { projection: 32, heads: 4, mlpRatio: 2, epochs: 30, batchSize: 64, learningRate: 3e-3, patience: 10 };

function splits(options: { task?: Task; rows?: number } = {}): FusionInput {
  const make = (split: 'train' | 'val' | 'test', rows: number, seed: number) => syntheticSources({ task: options.task, rows, split, seed });
  const train = make('train', options.rows ?? 600, 1);
  return { task: train[0]!.manifest.task, train, val: make('val', 200, 2), test: make('test', 400, 3), seed: 0 };
}

function only(input: FusionInput, source: number): FusionInput {
  return { ...input, train: [input.train[source]!], val: [input.val[source]!], test: [input.test[source]!] };
}

beforeAll(useWasmBackend);

describe('fusions on a task whose signal is split across backbones', () => {
  const input = splits();
  const reports: Partial<Record<'dvme' | 'dme' | 'concat' | 'single', FusionReport>> = {};
  const singleTestAuc: number[] = [];

  beforeAll(async () => {
    for (const kind of ['dvme', 'dme', 'concat', 'single'] as const) {
      reports[kind] = await fitFusion(input, kind, { ...small, sampleAttention: true });
    }
    for (let source = 0; source < SOURCE_NAMES.length; source++) {
      singleTestAuc.push((await fitFusion(only(input, source), 'single', small)).result.metrics.auc!);
    }
  }, 120_000);

  it('beat every single backbone clearly (DVME and DME), as does concatenation', () => {
    const bestSingle = Math.max(...singleTestAuc);
    // Alone a backbone sees one of three summed factors: AUC about 0.7; the noise backbone 0.5.
    expect(bestSingle).toBeGreaterThan(0.6);
    expect(bestSingle).toBeLessThan(0.8);
    expect(singleTestAuc[3]).toBeLessThan(0.6);
    for (const kind of ['dvme', 'dme', 'concat'] as const) {
      expect(reports[kind]!.result.metrics.auc, kind).toBeGreaterThan(bestSingle + 0.12);
    }
    // The single-backbone baseline picks an informative backbone by its validation score.
    const single = reports.single!;
    expect(SOURCE_NAMES.slice(0, 3)).toContain(single.result.selected.source);
    expect(Object.keys(single.sourceScores!)).toEqual([...SOURCE_NAMES]);
    expect(single.result.metrics.auc).toBeLessThan(reports.dvme!.result.metrics.auc! - 0.12);
  });

  it('gives the noise backbone a low DME weight', () => {
    const weights = reports.dme!.result.sourceWeights!;
    expect(Object.keys(weights)).toEqual([...SOURCE_NAMES]);
    expect(Object.values(weights).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
    const noise = weights['synthetic:noise']!;
    expect(noise).toBeLessThan(0.5 / SOURCE_NAMES.length);
    for (const name of SOURCE_NAMES.slice(0, 3)) expect(weights[name]!).toBeGreaterThan(2 * noise);
  });

  it('exports attention maps whose rows sum to 1, averaged and per test sample', () => {
    const report = reports.dvme!;
    const { attention } = report.result;
    const K = SOURCE_NAMES.length;
    expect(attention).toHaveLength(1);
    const map = attention![0]!;
    expect(map.sources).toEqual([...SOURCE_NAMES]);
    expect(map.heads).toBe(4);
    expect(map.weights).toHaveLength(4 * K * K);
    for (let row = 0; row < 4 * K; row++) {
      expect(map.weights.subarray(row * K, (row + 1) * K).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
    }
    const samples = report.sampleAttention!;
    expect(samples.shape).toEqual([400, 1, 4, K, K]);
    // The average of the per-sample maps is the exported map.
    const mean = new Float64Array(4 * K * K);
    for (let sample = 0; sample < 400; sample++)
      for (let index = 0; index < mean.length; index++) mean[index]! += samples.data[sample * mean.length + index]! / 400;
    mean.forEach((value, index) => expect(value).toBeCloseTo(map.weights[index]!, 5));
    expect(reports.dme!.sampleAttention!.shape).toEqual([400, K]);
  });

  it('reports how training went and keeps memory flat across epochs', () => {
    for (const kind of ['dvme', 'dme', 'concat'] as const) {
      const report = reports[kind]!;
      expect(report.backend).toBe('wasm');
      expect(report.sources).toEqual([...SOURCE_NAMES]);
      expect(report.trainingRows).toBe(600);
      expect(report.result.scores!.shape).toEqual([400, 2]);
      expect(report.result.selected.epoch).toBe(report.bestEpoch);
      expect(report.history.length).toBeGreaterThanOrEqual(report.bestEpoch);
      expect(report.result.validation.auc).toBe(report.history[report.bestEpoch - 1]!.validation);
      const tensors = report.history.map((record) => record.tensors);
      expect(new Set(tensors).size, `${kind}: tensors per epoch ${tensors.join(', ')}`).toBe(1);
    }
  });
});

describe('fitFusion', () => {
  beforeAll(useWasmBackend);

  it('gives the same result for the same seed, another for another seed, and frees every tensor', async () => {
    const input = splits({ rows: 300 });
    const options = { ...small, epochs: 4 };
    const tensorsBefore = tf.memory().numTensors;
    const first = await fitFusion(input, 'dvme', options);
    const second = await fitFusion(input, 'dvme', options);
    const other = await fitFusion({ ...input, seed: 1 }, 'dvme', options);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(second.result.metrics).toEqual(first.result.metrics);
    expect(Array.from(second.result.scores!.data)).toEqual(Array.from(first.result.scores!.data));
    expect(Array.from(second.result.attention![0]!.weights)).toEqual(Array.from(first.result.attention![0]!.weights));
    expect(Array.from(other.result.scores!.data)).not.toEqual(Array.from(first.result.scores!.data));
  });

  it('learns from trainRows only, exactly as if the other rows were absent', async () => {
    const input = splits({ rows: 300 });
    const trainRows = Int32Array.from({ length: 150 }, (_, index) => index * 2);
    // Rows outside the subset carry wrong targets: a fusion that looked at them would do worse.
    const poisoned = input.train.map(
      (set) =>
        ({
          ...set,
          targets: { ...set.targets, data: (set.targets.data as Int32Array).map((target, row) => (row % 2 === 0 ? target : 1 - target)) },
        }) as FeatureSet,
    );
    const subset = input.train.map((set) => selectRows(set, trainRows));
    const options = { ...small, epochs: 5 };
    const withRows = await fitFusion({ ...input, train: poisoned, trainRows }, 'dme', options);
    const onlyRows = await fitFusion({ ...input, train: subset }, 'dme', options);
    expect(withRows.trainingRows).toBe(150);
    expect(withRows.result.metrics).toEqual(onlyRows.result.metrics);
  });

  it('handles multiclass (ordinal) and multilabel tasks', async () => {
    const ordinal = await fitFusion(splits({ task: ordinalTask }), 'dvme', { ...small, epochs: 15 });
    expect(ordinal.result.metrics.kappa).toBeGreaterThan(0.6);
    expect(ordinal.result.scores!.shape).toEqual([400, 3]);

    const task: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };
    // Same seed, so the same labels and ids; another dimension, so other features.
    const split = (name: string, rows: number, seed: number) =>
      [12, 7].map((dimension, source) => {
        const set = syntheticFeatureSet(task, { rows, dimension, seed, split: name, separation: 1.5 });
        return { ...set, manifest: { ...set.manifest, backbone: `synthetic:blobs-${source}` } };
      });
    const multilabel = await fitFusion({ task, train: split('train', 300, 1), val: split('val', 100, 2), test: split('test', 150, 3), seed: 0 }, 'dvme', {
      ...small,
      epochs: 15,
    });
    expect(multilabel.result.metrics.mean_auc).toBeGreaterThan(0.8);
    expect(Object.keys(multilabel.result.perLabel!.mean_auc!)).toEqual(['a', 'b', 'c']);
    expect(multilabel.result.scores!.shape).toEqual([150, 3]);
  });

  it('names what is wrong with the inputs', async () => {
    const input = splits({ rows: 60 });
    const swapped = (set: FeatureSet): FeatureSet => ({ ...set, ids: set.ids.map((id, row) => (row === 5 ? set.ids[6]! : row === 6 ? set.ids[5]! : id)) });
    const withTask = (set: FeatureSet, task: Task): FeatureSet => ({ ...set, manifest: { ...set.manifest, task } });
    const cases: [FusionInput, RegExp, ('dvme' | 'single')?][] = [
      [only(input, 0), /dvme: fuses at least 2 backbones, got 1 feature set per split \(K = 1\)/],
      [{ ...input, val: input.val.slice(0, 3) }, /train has 4 feature sets but val has 3/],
      [
        { ...input, val: [input.val[0]!, swapped(input.val[1]!), ...input.val.slice(2)] },
        /val feature set 2 \(synthetic:part-b\) row 5 is "val-6", val feature set 1 \(synthetic:part-a\) row 5 is "val-5"; the sources of a split must hold the same ids in the same order/,
      ],
      [
        { ...input, test: [input.test[0]!, input.test[1]!, withTask(input.test[2]!, ordinalTask), input.test[3]!] },
        /test feature set 3 \(synthetic:part-c\) is a multiclass \(low, middle, high\) task, the fusion's task is binary \(negative, positive\)/,
      ],
      [{ ...input, task: ordinalTask }, /train feature set 1 \(synthetic:part-a\) is a binary \(negative, positive\) task, the fusion's task is multiclass/],
      [{ ...input, test: [input.test[1]!, input.test[0]!, ...input.test.slice(2)] }, /source 1 is synthetic:part-a in train but synthetic:part-b in test/],
      [
        { ...input, test: [input.test[0]!, input.test[1]!, syntheticSources({ rows: 400, split: 'test', seed: 3, dimension: 9 })[2]!, input.test[3]!] },
        /source 3 \(synthetic:part-c\) has train features \[60, 16\] but test features \[400, 9\]/,
      ],
      [{ ...input, trainRows: Int32Array.of(0, 60) }, /trainRows\[1\] = 60 is not a row of the 60-row train split/],
      [
        { ...input, trainRows: Int32Array.of(0, 2, 4).filter((row) => input.train[0]!.targets.data[row] === input.train[0]!.targets.data[0]) },
        /training rows hold one class only/,
      ],
    ];
    for (const [bad, pattern, kind] of cases) await expect(fitFusion(bad, kind ?? 'dvme', small)).rejects.toThrow(pattern);
    await expect(fitFusion(input, 'svm' as 'dvme')).rejects.toThrow(/unknown fusion "svm"; expected one of dvme, dme, concat, single/);
    expect(() => dvme({ projection: 30, heads: 4 })).toThrow(/projection \(30\) must be a multiple of heads \(4\)/);
    expect(() => dvme({ dropout: 1 })).toThrow(/dropout must be a number in \[0, 1\), got 1/);
    expect(() => dvme({ epochs: 0 })).toThrow(/epochs must be a positive integer, got 0/);
  });

  it('implements the Fusion contract', async () => {
    const fusion = dvme({ ...small, epochs: 2 });
    expect(fusion).toMatchObject({ specificationVersion: 'medssl/v1', id: 'dvme', supports: ['binary', 'multiclass', 'multilabel'] });
    const result = await fusion.evaluate(splits({ rows: 200 }));
    expect(Object.keys(result.metrics)).toEqual(['auc', 'accuracy', 'balanced_accuracy', 'macro_f1']);
    expect(result.attention).toHaveLength(1);
  });
});

function selectRows(set: FeatureSet, rows: Int32Array): FeatureSet {
  const dimension = set.features.shape[1];
  const features = new Float32Array(rows.length * dimension);
  rows.forEach((row, index) => features.set(set.features.data.subarray(row * dimension, (row + 1) * dimension), index * dimension));
  return {
    ...set,
    features: { data: features, shape: [rows.length, dimension] },
    targets: { type: 'class', data: Int32Array.from(rows, (row) => set.targets.data[row]!), shape: [rows.length] },
    ids: Array.from(rows, (row) => set.ids[row]!),
    manifest: { ...set.manifest, count: rows.length },
  };
}
