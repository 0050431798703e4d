import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckpointState } from './checkpoint.js';
import { fileCheckpointStore, SIDECAR_FILE } from './node.js';

const state = (epochsCompleted: number, bestEpoch: number): CheckpointState => ({
  format: 'medssl.test-checkpoint/v1',
  run: 'run/1',
  config: {},
  epochsCompleted,
  optimizerSteps: epochsCompleted * 3,
  history: [],
  bestEpoch,
  random: { seed: 0, nextStream: `test/epoch-${epochsCompleted}` },
});
const tensors = (value: number) =>
  new Map([
    ['weight', { data: Float32Array.from([value, value]), shape: [2] }],
    ['adamw.first.0000', { data: Float32Array.from([0, 0]), shape: [2] }],
  ]);

describe('fileCheckpointStore', () => {
  it('keeps the last and the best epoch, and the best one alone once the run finishes', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-training-'));
    const store = fileCheckpointStore(folder, { format: 'medssl.test-checkpoint/v1' });
    await store.save(state(1, 0), tensors(1), true);
    await store.save(state(2, 0), tensors(2), false);
    await store.save(state(3, 0), tensors(3), false);
    const runFolder = join(folder, 'run_1');
    expect(readdirSync(runFolder).sort()).toEqual([SIDECAR_FILE, 'epoch-0001.npz', 'epoch-0003.npz']);
    const saved = await store.load('run/1');
    expect(saved!.state.epochsCompleted).toBe(3);
    expect(Array.from((await saved!.tensors()).get('weight')!.data)).toEqual([3, 3]);
    expect([...(await saved!.bestTensors())].map(([name, tensor]) => [name, Array.from(tensor.data)])).toEqual([['weight', [1, 1]]]);
    await store.finish({ ...state(3, 0), stop: 'epochs', result: { metrics: { auc: 0.5 }, validation: {}, selected: {} } });
    expect(readdirSync(runFolder).sort()).toEqual([SIDECAR_FILE, 'epoch-0001.npz']);
    expect(JSON.parse(readFileSync(join(runFolder, SIDECAR_FILE), 'utf8')).result).toEqual({ metrics: { auc: 0.5 }, validation: {}, selected: {} });
    await expect(fileCheckpointStore(folder, { format: 'other/v1' }).load('run/1')).rejects.toThrow(
      `checkpoint sidecar ${join(runFolder, SIDECAR_FILE)}: format is "medssl.test-checkpoint/v1", expected other/v1`,
    );
  });
});
