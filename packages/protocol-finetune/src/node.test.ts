import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTfjsBackend } from '@medssl/runtime-tfjs';
import type { Preprocessing } from '@medssl/spec';
import { describeWithSharedData } from '@medssl/test-data';
import { beforeAll, expect, it } from 'vitest';
import { runFinetune, type FinetuneInput, type FinetuneOptions } from './finetune.js';
import { fileCheckpointStore, SIDECAR_FILE } from './node.js';
import { PCAM_TASK, pcamSplits } from './__fixtures__/pcam.js';
import { smallBackboneFactory } from './__fixtures__/small-backbone.js';

const SMALL_INPUT: Preprocessing = {
  resize: { size: 32, interpolation: 'bilinear' },
  centerCrop: 32,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

describeWithSharedData('checkpoint files', ['pcam/labels.csv'], () => {
  let input: FinetuneInput;
  beforeAll(async () => {
    await useTfjsBackend('wasm');
    input = { task: PCAM_TASK, ...(await pcamSplits({ train: 16, val: 12, test: 12 })), seed: 3, run: 'pcam-train-f1-s3' };
  });
  const settings: FinetuneOptions = {
    backbone: smallBackboneFactory(5),
    preprocessing: SMALL_INPUT,
    modality: 'pathology',
    epochs: 5,
    batchSize: 8,
    backboneLearningRate: 1e-2,
    headLearningRate: 1e-1,
    patience: 5,
  };

  it('saves every epoch durably, resumes after an interruption to the same result, and keeps the best epoch at the end', async () => {
    const whole = await runFinetune(input, settings);
    const folder = mkdtempSync(join(tmpdir(), 'medssl-finetune-'));
    const store = fileCheckpointStore(folder);
    const controller = new AbortController();
    const files: string[][] = [];
    await expect(
      runFinetune(
        { ...input, signal: controller.signal },
        {
          ...settings,
          checkpoints: store,
          onEpoch: (record) => {
            files.push(readdirSync(join(folder, 'pcam-train-f1-s3')).sort());
            if (record.epoch === 2) controller.abort();
          },
        },
      ),
    ).rejects.toThrow(/abort/i);
    // Each epoch's tensors, and the sidecar; earlier epochs' files go unless they hold the best epoch.
    expect(files[0]).toEqual([SIDECAR_FILE, 'epoch-0001.npz']);
    for (const listing of files) expect(listing.length).toBeLessThanOrEqual(3);
    const sidecar = JSON.parse(readFileSync(join(folder, 'pcam-train-f1-s3', SIDECAR_FILE), 'utf8'));
    expect(sidecar).toMatchObject({
      format: 'medssl.finetune-checkpoint/v1',
      run: 'pcam-train-f1-s3',
      epochsCompleted: 3,
      optimizerSteps: 12,
      random: { seed: 3, nextStream: 'finetune/epoch-3' },
    });
    expect(sidecar.files.latest).toBe('epoch-0003.npz');
    expect(sidecar.history).toHaveLength(3);
    const tensors = await (await store.load('pcam-train-f1-s3'))!.tensors();
    expect([...tensors.keys()].filter((name) => name.startsWith('head.'))).toEqual(['head.weight', 'head.bias']);
    expect(tensors.get('head.weight')!.shape).toEqual([16, 2]);
    expect([...tensors.keys()].filter((name) => name.startsWith('adamw.first.'))).toHaveLength(8);
    expect(tensors.has('backbone.layer1.norm.running_var')).toBe(true);

    const resumed = await runFinetune(input, { ...settings, checkpoints: fileCheckpointStore(folder), resume: true });
    expect(resumed.history.map((record) => record.loss)).toEqual(whole.history.map((record) => record.loss));
    expect(resumed.metrics).toEqual(whole.metrics);
    expect(Array.from(resumed.scores!.data)).toEqual(Array.from(whole.scores!.data));
    const finished = JSON.parse(readFileSync(join(folder, 'pcam-train-f1-s3', SIDECAR_FILE), 'utf8'));
    expect(finished.result.metrics).toEqual(whole.metrics);
    // A finished run keeps the best epoch's file only.
    expect(readdirSync(join(folder, 'pcam-train-f1-s3')).sort()).toEqual([SIDECAR_FILE, `epoch-${String(whole.bestEpoch + 1).padStart(4, '0')}.npz`]);
    const best = await (await store.load('pcam-train-f1-s3'))!.bestTensors();
    expect([...best.keys()].some((name) => name.startsWith('adamw.'))).toBe(false);
  });

  it('names the file when a sidecar is damaged', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-finetune-'));
    const store = fileCheckpointStore(folder);
    await expect(store.load('nothing')).resolves.toBeUndefined();
    const runFolder = join(folder, 'broken');
    await import('node:fs/promises').then((fs) => fs.mkdir(runFolder));
    writeFileSync(join(runFolder, SIDECAR_FILE), '{"format": "medssl.finetune-checkpoint/v1", "files"');
    await expect(store.load('broken')).rejects.toThrow(`checkpoint sidecar ${join(runFolder, SIDECAR_FILE)} is not JSON`);
    writeFileSync(join(runFolder, SIDECAR_FILE), '{"format": "other/v9"}');
    await expect(store.load('broken')).rejects.toThrow(
      `checkpoint sidecar ${join(runFolder, SIDECAR_FILE)}: format is "other/v9", expected medssl.finetune-checkpoint/v1`,
    );
  });
});
