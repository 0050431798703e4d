import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryCheckpointStore, type CheckpointStore, type EpochRecord } from './checkpoint.js';
import { useCpuBackend } from './__fixtures__/backend.js';
import { linearLoop, syntheticSplit, type LoopSetup } from './__fixtures__/linear-model.js';
import { trainEpochs, type FinishedRun, type TrainedRun } from './loop.js';

const setup: LoopSetup = { train: syntheticSplit(90, 1), val: syntheticSplit(40, 2), test: syntheticSplit(40, 3) };

function checkpoints(store: CheckpointStore, resume = false) {
  return {
    store,
    run: 'linear',
    format: 'medssl.test-checkpoint/v1',
    config: { learningRate: 0.05 },
    resume,
    random: { seed: 5, stream: (epoch: number) => `test/epoch-${epoch}` },
    result: (auc: number) => ({ metrics: { auc }, validation: {}, selected: {} }),
  };
}

beforeAll(useCpuBackend);

describe('trainEpochs', () => {
  it('trains, scores every epoch, and frees every tensor it makes', async () => {
    const before = tf.memory().numTensors;
    const records: EpochRecord[] = [];
    const run = (await trainEpochs(linearLoop(setup, { onEpoch: (record) => void records.push(record) }))) as TrainedRun<number>;
    expect(tf.memory().numTensors).toBe(before);
    expect(run.fromCheckpoint).toBe(false);
    expect(run.history).toEqual(records);
    expect(run.history.map((record) => record.epoch)).toEqual([0, 1, 2, 3, 4, 5].slice(0, run.history.length));
    expect(run.history[run.history.length - 1]!.loss).toBeLessThan(run.history[0]!.loss);
    expect(run.outcome).toBeGreaterThan(0.7);
    // Warm-up over 2 steps of 6 per epoch, then cosine to 0 at the last step.
    expect(run.history[0]!.learningRateFactor).toBeLessThan(1);
    expect(run.history[0]!.learningRateFactor).toBeGreaterThan(0.9);
  });

  it('sums the loss on the device or on the host to the same mean', async () => {
    const host = (await trainEpochs(linearLoop(setup, { lossReadback: 'step' }))) as TrainedRun<number>;
    const device = (await trainEpochs(linearLoop(setup, { lossReadback: 'epoch' }))) as TrainedRun<number>;
    device.history.forEach((record, epoch) => expect(record.loss).toBeCloseTo(host.history[epoch]!.loss, 5));
    expect(device.outcome).toBe(host.outcome);
  });

  it('resumes an interrupted run from its checkpoint to the same result as an uninterrupted one', async () => {
    for (const keepOnDevice of [false, true]) {
      const whole = (await trainEpochs(linearLoop({ ...setup, keepOnDevice }))) as TrainedRun<number>;
      const store = memoryCheckpointStore();
      const controller = new AbortController();
      const interrupted = trainEpochs(
        linearLoop(
          { ...setup, keepOnDevice },
          { checkpoints: checkpoints(store), signal: controller.signal, onEpoch: (record) => void (record.epoch === 1 && controller.abort()) },
        ),
      );
      await expect(interrupted).rejects.toThrow(/abort/i);
      const saved = await store.load('linear');
      expect(saved!.state).toMatchObject({
        format: 'medssl.test-checkpoint/v1',
        epochsCompleted: 2,
        optimizerSteps: 12,
        random: { seed: 5, nextStream: 'test/epoch-2' },
      });
      expect([...(await saved!.tensors()).keys()]).toEqual([
        'weight',
        'bias',
        'adamw.first.0000',
        'adamw.second.0000',
        'adamw.first.0001',
        'adamw.second.0001',
      ]);

      const firstEpochs: number[] = [];
      const resumed = (await trainEpochs(
        linearLoop({ ...setup, keepOnDevice }, { checkpoints: checkpoints(store, true), beforeTraining: (first) => void firstEpochs.push(first) }),
      )) as TrainedRun<number>;
      expect(firstEpochs).toEqual([2]);
      expect(resumed.history.map((record) => [record.loss, record.validation])).toEqual(whole.history.map((record) => [record.loss, record.validation]));
      expect([resumed.bestEpoch, resumed.stop, resumed.outcome]).toEqual([whole.bestEpoch, whole.stop, whole.outcome]);

      // Finished: the stored result comes back without building a model.
      let builds = 0;
      const finished = (await trainEpochs(
        linearLoop(setup, {
          checkpoints: checkpoints(store, true),
          build: async () => {
            builds += 1;
            return undefined as never;
          },
        }),
      )) as FinishedRun;
      expect(builds).toBe(0);
      expect(finished).toMatchObject({ fromCheckpoint: true, bestEpoch: whole.bestEpoch, stop: whole.stop, result: { metrics: { auc: whole.outcome } } });
    }
  });

  it('stops early and scores the test split with the best epoch, kept on the device or rebuilt from tensors', async () => {
    // Validation AUC peaks at epoch 1, then patience (3) runs out at epoch 4.
    const scripted = [0.6, 0.9, 0.7, 0.8, 0.85, 0.95];
    for (const keepOnDevice of [false, true]) {
      const weights: Float32Array[] = [];
      let tested: Float32Array | undefined;
      const base = linearLoop({ ...setup, keepOnDevice });
      const run = (await trainEpochs({
        ...base,
        epochs: 6,
        validate: async (model) => {
          weights.push(model.weight.dataSync() as Float32Array);
          return { auc: scripted[weights.length - 1]! };
        },
        test: async (model) => {
          tested = model.weight.dataSync() as Float32Array;
          return 0;
        },
      })) as TrainedRun<number>;
      expect(run.history.map((record) => record.best)).toEqual([true, true, false, false, false]);
      expect([run.bestEpoch, run.stop]).toEqual([1, 'patience']);
      expect(Array.from(tested!)).toEqual(Array.from(weights[1]!));
      expect(Array.from(tested!)).not.toEqual(Array.from(weights[4]!));
    }
  });

  it('names what stops it: a diverging loss, a checkpoint it must not overwrite or cannot resume', async () => {
    const diverging = linearLoop(setup, {
      build: async (tensors) => {
        const model = await linearLoop(setup).build(tensors);
        tf.tidy(() => model.weight.assign(tf.fill(model.weight.shape, Number.NaN)));
        return model;
      },
    });
    await expect(trainEpochs(diverging)).rejects.toThrow('test loop: loss NaN at epoch 0, step 0');
    await expect(trainEpochs({ ...diverging, lossReadback: 'epoch' })).rejects.toThrow('test loop: loss NaN at epoch 0, step undefined');

    const store = memoryCheckpointStore();
    await trainEpochs(linearLoop(setup, { epochs: 1, checkpoints: checkpoints(store) }));
    await expect(trainEpochs(linearLoop(setup, { epochs: 1, checkpoints: checkpoints(store) }))).rejects.toThrow(
      'test loop: run linear already has a checkpoint in memory (epoch 1); resume it, or remove it to start again',
    );
    await expect(trainEpochs(linearLoop(setup, { epochs: 1, checkpoints: { ...checkpoints(store, true), config: { learningRate: 0.1 } } }))).rejects.toThrow(
      'test loop: cannot resume run linear from memory: the settings differ (learningRate: this run has 0.1, the checkpoint 0.05)',
    );
    await expect(trainEpochs(linearLoop(setup, { epochs: 1, checkpoints: { ...checkpoints(store, true), format: 'other/v2' } }))).rejects.toThrow(
      'test loop: checkpoint of run linear in memory has format "medssl.test-checkpoint/v1", expected other/v2',
    );
    const elsewhere = { ...linearLoop(setup).task, primaryMetric: 'sensitivity_at_95' };
    await expect(trainEpochs(linearLoop(setup, { task: elsewhere }))).rejects.toThrow(
      "test loop: the task's primary metric 'sensitivity_at_95' is not one @medssl/metrics computes for a binary task; early stopping needs it",
    );
  });

  it('frees a batch loaded ahead when training stops before its step', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const loop = linearLoop(setup, { signal: controller.signal });
    await expect(
      trainEpochs({
        ...loop,
        planEpoch: (epoch, model) => {
          const plan = loop.planEpoch(epoch, model);
          return {
            ...plan,
            load: async (rows) => {
              if (epoch === 1) controller.abort();
              return plan.load(rows);
            },
          };
        },
      }),
    ).rejects.toThrow(/abort/i);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(tf.memory().numTensors).toBe(before);
  });
});
