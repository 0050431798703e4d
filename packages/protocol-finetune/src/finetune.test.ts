import { useTfjsBackend } from '@medssl/runtime-tfjs';
import type { Preprocessing, Task } from '@medssl/spec';
import { describeWithSharedData } from '@medssl/test-data';
import { memoryCheckpointStore } from '@medssl/training';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { finetune, runFinetune, type FinetuneInput, type FinetuneOptions, type ImageSplit } from './finetune.js';
import { finetuneLabelFractions } from './fractions.js';
import { PCAM_TASK, pcamSplits } from './__fixtures__/pcam.js';
import { smallBackboneFactory } from './__fixtures__/small-backbone.js';

const IMAGENET: Preprocessing['normalize'] = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/** PCam's 96x96 patches at 32x32: enough for the small backbone, fast on one core. */
const SMALL_INPUT: Preprocessing = { resize: { size: 32, interpolation: 'bilinear' }, centerCrop: 32, normalize: IMAGENET, channels: 3 };

const options = (overrides: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
  backbone: smallBackboneFactory(7),
  preprocessing: SMALL_INPUT,
  modality: 'pathology',
  epochs: 4,
  batchSize: 8,
  backboneLearningRate: 3e-3,
  headLearningRate: 3e-2,
  patience: 4,
  ...overrides,
});

describeWithSharedData('finetuning on real PCam patches (small backbone)', ['pcam/labels.csv'], () => {
  let splits: Record<'train' | 'val' | 'test', ImageSplit>;
  let input: FinetuneInput;
  beforeAll(async () => {
    await useTfjsBackend('wasm');
    splits = await pcamSplits({ train: 24, val: 16, test: 16 });
    input = { task: PCAM_TASK, ...splits, seed: 1 };
  });

  it('lowers the training loss, computes validation metrics every epoch, and scores the test split', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const result = await runFinetune(input, options({ epochs: 5, patience: 5 }));
    expect(tf.memory().numTensors).toBe(tensorsBefore); // everything disposed
    expect(result.history).toHaveLength(5);
    const losses = result.history.map((record) => record.loss);
    expect(losses[0]).toBeGreaterThan(0.5); // a fresh head on two classes starts near ln 2
    expect(Math.min(...losses.slice(-2))).toBeLessThan(losses[0]! - 0.05);
    for (const record of result.history) {
      expect(Object.keys(record.validation)).toEqual(['auc', 'accuracy', 'balanced_accuracy', 'macro_f1']);
      expect(record.validation.auc).toBeGreaterThanOrEqual(0);
      expect(record.validation.auc).toBeLessThanOrEqual(1);
    }
    expect(result.selected.epochs).toBe(result.bestEpoch + 1);
    expect(result.validation).toEqual(result.history[result.bestEpoch]!.validation);
    const best = Math.max(...result.history.map((record) => record.validation.auc!));
    expect(result.validation.auc).toBe(best);
    expect(result.metrics.auc).toBeGreaterThan(0.5); // tumour patches differ in colour: even this model learns some of it
    expect(result.scores!.shape).toEqual([32, 2]);
    for (let row = 0; row < 32; row++) expect(result.scores!.data[2 * row]! + result.scores!.data[2 * row + 1]!).toBeCloseTo(1, 5);
    // Learning rates: warm-up over the first epoch (3 steps), then cosine towards 0.
    expect(result.history[0]!.learningRateFactor).toBe(1);
    expect(result.history[4]!.learningRateFactor).toBeLessThan(0.2);
  });

  it('gives the same run for the same seed, another for another seed', async () => {
    const short = options({ epochs: 2 });
    const [first, again, other] = [await runFinetune(input, short), await runFinetune(input, short), await runFinetune({ ...input, seed: 2 }, short)];
    expect(again.history.map((record) => record.loss)).toEqual(first.history.map((record) => record.loss));
    expect(Array.from(again.scores!.data)).toEqual(Array.from(first.scores!.data));
    expect(other.history[0]!.loss).not.toBe(first.history[0]!.loss);
  });

  it('resumes an interrupted run from its last checkpoint to the same result, and keeps the best epoch', async () => {
    // Patience 1 stops a run after its first epoch without progress, so the best epoch is not the last.
    const settings = options({ epochs: 8, patience: 1, backboneLearningRate: 1e-2, headLearningRate: 1e-1 });
    const whole = await runFinetune({ ...input, run: 'whole' }, settings);

    const store = memoryCheckpointStore();
    const controller = new AbortController();
    const interrupted = runFinetune(
      { ...input, run: 'a', signal: controller.signal },
      {
        ...settings,
        checkpoints: store,
        onEpoch: (record) => {
          if (record.epoch === 1) controller.abort();
        },
      },
    );
    await expect(interrupted).rejects.toThrow(/abort/i);
    expect((await store.load('a'))!.state.epochsCompleted).toBe(2);

    await expect(runFinetune({ ...input, run: 'a' }, { ...settings, checkpoints: store })).rejects.toThrow(
      'finetune: run a already has a checkpoint in memory (epoch 2); resume it, or remove it to start again',
    );
    await expect(runFinetune({ ...input, run: 'a' }, { ...settings, epochs: 9, checkpoints: store, resume: true })).rejects.toThrow(
      'finetune: cannot resume run a from memory: the settings differ (epochs: this run has 9, the checkpoint 8)',
    );

    const builds: number[] = [];
    const resumedEpochs: number[] = [];
    const resumed = await runFinetune(
      { ...input, run: 'a' },
      {
        ...settings,
        backbone: smallBackboneFactory(7, () => builds.push(builds.length)),
        checkpoints: store,
        resume: true,
        onEpoch: (record) => void resumedEpochs.push(record.epoch),
      },
    );
    expect(resumedEpochs[0]).toBe(2);
    expect(resumed.history.map((record) => record.loss)).toEqual(whole.history.map((record) => record.loss));
    expect(resumed.history.map((record) => record.validation)).toEqual(whole.history.map((record) => record.validation));
    expect(resumed.metrics).toEqual(whole.metrics);
    expect(Array.from(resumed.scores!.data)).toEqual(Array.from(whole.scores!.data));
    expect(resumed.stop).toBe('patience');
    expect(resumed.bestEpoch).toBeLessThan(resumed.history.length - 1);
    expect(builds).toHaveLength(2); // from the checkpoint, then from the best epoch's weights for the test split

    // A finished run comes back from its checkpoint without training.
    const again = await runFinetune({ ...input, run: 'a' }, { ...settings, checkpoints: store, resume: true });
    expect(again.fromCheckpoint).toBe(true);
    expect(again.metrics).toEqual(whole.metrics);
  });

  it('runs at label fractions and seeds with the rows and summary of the linear protocol', async () => {
    const evaluation = await finetuneLabelFractions({
      protocol: finetune(options({ epochs: 1 })),
      input: { task: PCAM_TASK, ...splits },
      dataset: 'pcam-sample',
      fractions: [0.25, 1],
      seeds: [0, 1],
    });
    expect(evaluation.rows.map((row) => [row.fraction, row.seed, row.trainCount])).toEqual([
      [0.25, 0, 12],
      [1, 0, 48],
      [0.25, 1, 12],
      [1, 1, 48],
    ]);
    expect(evaluation.runs.map((run) => run.name)).toEqual([
      'pcam-sample-train-f0.25-s0',
      'pcam-sample-train-f1-s0',
      'pcam-sample-train-f0.25-s1',
      'pcam-sample-train-f1-s1',
    ]);
    expect(evaluation.summary.map((entry) => [entry.fraction, entry.metrics.auc!.count])).toEqual([
      [0.25, 2],
      [1, 2],
    ]);
    const small = evaluation.subsets.find((subset) => subset.fraction === 0.25 && subset.seed === 0)!;
    const all = evaluation.subsets.find((subset) => subset.fraction === 1 && subset.seed === 0)!;
    expect(Array.from(small.rows).every((row) => all.rows.includes(row))).toBe(true);
    expect(small.counts).toEqual({ normal: 6, tumour: 6 });
  });

  it('trains a multilabel head with one sigmoid per label', async () => {
    // Two labels from PCam's class: tumour, and its complement (every row has exactly one).
    const task: Task = { type: 'multilabel', labels: ['tumour', 'normal'], primaryMetric: 'mean_auc' };
    const asFlags = (split: ImageSplit): ImageSplit => {
      const rows = split.targets.shape[0];
      const data = new Uint8Array(rows * 2);
      for (let row = 0; row < rows; row++) data[row * 2 + (split.targets.data[row] === 1 ? 0 : 1)] = 1;
      return { ...split, targets: { type: 'labels', data, shape: [rows, 2] } };
    };
    const result = await runFinetune(
      { task, train: asFlags(splits.train), val: asFlags(splits.val), test: asFlags(splits.test), seed: 1 },
      options({ epochs: 3 }),
    );
    expect(result.history[2]!.loss).toBeLessThan(result.history[0]!.loss);
    expect(Object.keys(result.metrics)).toEqual(['mean_auc']);
    expect(Object.keys(result.perLabel!.mean_auc!)).toEqual(['tumour', 'normal']);
    expect(result.scores!.shape).toEqual([32, 2]);
    // Independent sigmoids: a row's probabilities need not sum to 1, each lies in (0, 1).
    expect(Array.from(result.scores!.data).every((value) => value > 0 && value < 1)).toBe(true);
  });

  it('names what is wrong with the input', async () => {
    const run = (overrides: Partial<FinetuneInput>, optionOverrides: Partial<FinetuneOptions> = {}) =>
      runFinetune({ ...input, ...overrides }, options({ epochs: 1, ...optionOverrides }));
    const multilabel: Task = { type: 'multilabel', labels: ['effusion', 'mass', 'nodule'], primaryMetric: 'mean_auc' };
    const flags = (labels: number): ImageSplit => ({ ...splits.train, targets: { type: 'labels', data: new Uint8Array(48 * labels), shape: [48, labels] } });
    await expect(run({ task: multilabel, train: flags(2), val: flags(2), test: flags(2) })).rejects.toThrow(
      'finetune: train targets: expected shape [48, 3], got [48, 2]',
    );
    await expect(run({ task: multilabel })).rejects.toThrow('finetune: train targets: a multilabel task needs label targets [n, 3], got class targets');
    await expect(run({ trainRows: Int32Array.from([0, 2, 4]) })).rejects.toThrow(
      'finetune: the 3 training rows hold one class only ("normal"); a classifier needs two or more',
    );
    await expect(run({ trainRows: Int32Array.from([0, 99]) })).rejects.toThrow('finetune: trainRows[1] = 99 is not a row of the 48-row train split');
    await expect(run({}, { preprocessing: { resize: { size: 32, interpolation: 'bilinear' }, channels: 3 } })).rejects.toThrow(
      /needs one input size for every image/,
    );
    expect(() => finetune(options({ modality: 'dermatology' as never }))).toThrow(
      'modality must be one of pathology, fundus, chest-xray, natural, got "dermatology"',
    );
    expect(() => finetune(options({ batchSize: 0 }))).toThrow('finetune: batchSize must be a positive integer, got 0');
    await expect(
      finetuneLabelFractions({ protocol: finetune(options()), input: { task: PCAM_TASK, ...splits }, dataset: 'pcam', fractions: [0] }),
    ).rejects.toThrow('label fraction must be in (0, 1], got 0');
    // A backbone whose embeddings do not fit the head of a resumed checkpoint, or a head for another task.
    const wide = async () => ({ ...(await smallBackboneFactory(1)()), dimension: 32 });
    await expect(run({}, { backbone: wide })).rejects.toThrow('loss: the backbone gave embeddings of shape [8,16], the head takes 32-d ones');
  });
});
