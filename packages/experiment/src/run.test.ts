import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomProvider } from '@medssl/backbone-supervised';
import { folderProvider } from '@medssl/dataset-folder';
import { captureIo } from './testing/io.js';
import { ExperimentConfigError, defineExperiment, validateExperimentConfig, type ExperimentConfig } from './config.js';
import { writeSyntheticDataset } from './demo/write-dataset.js';
import { runExperimentWithDefaults } from './run-with-defaults.js';

const providers = [randomProvider, folderProvider];

// A small grid on generated images: two real architectures with seeded random weights, at 32x32.
let root: string;
let config: ExperimentConfig;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'medssl-run-'));
  await writeSyntheticDataset(join(root, 'data'), { train: 40, val: 20, test: 20 }, 7, 32);
  config = defineExperiment({
    name: 'tiny',
    datasets: [{ id: 'folder', root: join(root, 'data') }],
    backbones: [
      { id: 'random:resnet50', seed: 1 },
      { id: 'random:vits16', seed: 2 },
    ],
    protocols: ['linear', { id: 'knn', k: [5, 10] }],
    fusions: [{ method: 'dme', backbones: ['random:resnet50', 'random:vits16'], epochs: 3 }],
    fractions: [0.25, 1],
    seeds: [0, 1],
    extraction: { resize: 32, crop: 32, batch: 8, workers: 1 },
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What must not change between runs: everything but times and paths. */
function comparable(document: object): unknown {
  const { rows, summary, protocol, unitKey } = document as {
    rows: { metrics: unknown; selected: unknown; fraction: number; seed: number }[];
    summary: unknown;
    protocol: string;
    unitKey: string;
  };
  return { protocol, unitKey, rows: rows.map(({ metrics, selected, fraction, seed }) => ({ metrics, selected, fraction, seed })), summary };
}

describe('medssl run', () => {
  it('runs the grid, then gives identical results for the same config and seeds, and resumes an interrupted run', async () => {
    const store = join(root, 'store');
    const first = captureIo();
    const outcome = await runExperimentWithDefaults(config, { providers, out: join(root, 'first'), io: first.io, store });
    expect(outcome.computed).toBe(5); // 2 backbones x 2 protocols + 1 fusion
    expect(outcome.documents.map((document) => (document as { protocol: string }).protocol)).toEqual(['linear', 'knn', 'linear', 'knn', 'dme']);
    const run = JSON.parse(readFileSync(outcome.runFile, 'utf8')) as { format: string; results: object[] };
    expect(run.format).toBe('medssl.run/v1');
    expect(run.results).toHaveLength(5);
    expect(readFileSync(outcome.summaryFile, 'utf8')).toContain('### dme · folder · random:resnet50 + random:vits16');
    expect(readFileSync(outcome.reportFile!, 'utf8')).toContain('<svg');

    // A second, separate run of the same config: stored features are reused, every result is equal.
    const second = captureIo();
    const again = await runExperimentWithDefaults(config, { providers, out: join(root, 'second'), io: second.io, store, report: false });
    expect(second.err.join('')).toContain('reusing stored features');
    expect(again.computed).toBe(5);
    expect(again.documents.map(comparable)).toEqual(outcome.documents.map(comparable));

    // Interrupted after the first evaluation: the re-run keeps what was finished and computes the rest.
    const controller = new AbortController();
    const interrupted = captureIo();
    const io = {
      stdout: interrupted.io.stdout,
      stderr: (text: string) => {
        interrupted.io.stderr(text);
        if (text.startsWith('knn · folder · random:resnet50')) controller.abort(new Error('interrupted by the test'));
      },
    };
    await expect(
      runExperimentWithDefaults(config, { providers, out: join(root, 'third'), io, store, signal: controller.signal, report: false }),
    ).rejects.toThrow();
    const resumed = captureIo();
    const finished = await runExperimentWithDefaults(config, { providers, out: join(root, 'third'), io: resumed.io, store, report: false });
    expect(finished.reused).toBe(1);
    expect(finished.computed).toBe(4);
    expect(resumed.err.join('')).toMatch(/reused linear · folder · random:resnet50/);
    expect(finished.documents.map(comparable)).toEqual(outcome.documents.map(comparable));

    // Nothing left to do: everything is reused.
    const idle = await runExperimentWithDefaults(config, { providers, out: join(root, 'third'), io: captureIo().io, store, report: false });
    expect({ computed: idle.computed, reused: idle.reused }).toEqual({ computed: 0, reused: 5 });
  }, 600_000);

  it('finetunes as a protocol of the grid, and continues an interrupted finetuning from its last saved epoch', async () => {
    // ResNet-50 with seeded random weights at 32x32, its stem and first two stages fixed: 2 epochs on 16 images.
    const finetuneConfig = defineExperiment({
      name: 'tiny-finetune',
      datasets: [{ id: 'folder', root: join(root, 'data') }],
      backbones: [{ id: 'random:resnet50', seed: 1 }],
      protocols: [{ id: 'finetune', epochs: 2, batchSize: 8, resize: 32, crop: 32, frozenStages: 2, modality: 'pathology', runtime: 'tfjs-wasm', limit: 16 }],
      fractions: [1],
      seeds: [0],
    });
    const store = join(root, 'store-finetune');
    const whole = captureIo();
    const outcome = await runExperimentWithDefaults(finetuneConfig, { providers, out: join(root, 'finetune-whole'), io: whole.io, store });
    expect(outcome.computed).toBe(1);
    expect(readFileSync(outcome.reportFile!, 'utf8')).toMatch(/finetune · random:resnet50/);
    // Finetuning reads images: nothing was extracted for it.
    expect(whole.err.join('')).not.toMatch(/extract|reusing stored features/);
    const [document] = outcome.documents as {
      protocol: string;
      config: { options: object };
      rows: { metrics: { auc: number } }[];
      training: { history: unknown[] }[];
    }[];
    expect(document!.protocol).toBe('finetune');
    expect(document!.config.options).toMatchObject({ epochs: 2, batchSize: 8, modality: 'pathology', frozenStages: 2, runtime: 'tfjs-wasm', limit: 16 });
    expect(document!.training[0]!.history).toHaveLength(2);
    expect(readFileSync(outcome.summaryFile, 'utf8')).toContain('### finetune · folder · random:resnet50');

    // Stopped during the second epoch: the re-run continues after the first one and ends with the same result.
    const controller = new AbortController();
    const stopped = captureIo();
    const io = {
      stdout: stopped.io.stdout,
      stderr: (text: string) => {
        stopped.io.stderr(text);
        if (/epoch 1\/2: loss/.test(text)) controller.abort(new Error('interrupted by the test'));
      },
    };
    const out = join(root, 'finetune-interrupted');
    await expect(runExperimentWithDefaults(finetuneConfig, { providers, out, io, store, signal: controller.signal, report: false })).rejects.toThrow(
      /interrupted by the test/,
    );
    const resumed = captureIo();
    const finished = await runExperimentWithDefaults(finetuneConfig, { providers, out, io: resumed.io, store, report: false });
    expect(resumed.err.join('')).toMatch(/resuming after epoch 1 from .*checkpoints/);
    expect(resumed.err.join('')).toMatch(/epoch 2\/2: loss/);
    expect(resumed.err.join('')).not.toMatch(/epoch 1\/2: loss/);
    expect(finished.documents.map(comparable)).toEqual(outcome.documents.map(comparable));

    // Finished: reused. The checkpoints are kept under the unit's key, so other settings start their own.
    const idle = await runExperimentWithDefaults(finetuneConfig, { providers, out, io: captureIo().io, store, report: false });
    expect({ computed: idle.computed, reused: idle.reused }).toEqual({ computed: 0, reused: 1 });
    const { unitKey } = finished.documents[0] as { unitKey: string };
    expect(readdirSync(join(out, 'checkpoints', 'folder'))).toEqual([`random_resnet50.finetune-${unitKey.slice(0, 16)}`]);
  }, 600_000);

  it('refuses configs with mistakes, naming where they are', () => {
    const base = { name: 'x', datasets: [{ id: 'folder', root: 'data' }], backbones: [{ id: 'random:resnet50' }], protocols: ['linear'] };
    expect(() => validateExperimentConfig({ ...base, name: 'a b' })).toThrow(/config: name: expected a name/);
    expect(() => validateExperimentConfig({ ...base, datasets: [{ id: 'folder' }] })).toThrow(/datasets\[0\]\.root: expected the dataset's folder/);
    expect(() => validateExperimentConfig({ ...base, protocols: ['svm'] })).toThrow(/protocols\[0\]: expected one of linear, knn, finetune, got "svm"/);
    expect(() => validateExperimentConfig({ ...base, protocols: [{ id: 'finetune', epochs: 0 }] })).toThrow(
      /protocols\[0\]\.epochs: expected a positive integer, got 0/,
    );
    expect(() => validateExperimentConfig({ ...base, protocols: [{ id: 'finetune', modality: 'dermoscopy' }] })).toThrow(
      /protocols\[0\]\.modality: expected one of .*pathology/,
    );
    expect(() => validateExperimentConfig({ ...base, protocols: [{ id: 'finetune', runtime: 'onnx' }] })).toThrow(
      /protocols\[0\]\.runtime: expected one of tfjs-wasm, tfjs-webgpu, tfjs-cpu, got "onnx"/,
    );
    expect(() => validateExperimentConfig({ ...base, protocols: [{ id: 'finetune', lr: 1 }] })).toThrow(/protocols\[0\]\.lr: unknown finetune setting/);
    expect(() => validateExperimentConfig({ ...base, fusions: [{ method: 'dvme', backbones: ['random:resnet50'] }] })).toThrow(
      /fusions\[0\]\.backbones: expected two or more/,
    );
    expect(() => validateExperimentConfig({ ...base, fusions: [{ method: 'dvme', backbones: ['random:resnet50', 'dino:vits16'] }] })).toThrow(
      /"dino:vits16" is not one of the config's backbones/,
    );
    expect(() => validateExperimentConfig({ ...base, fractions: [0] })).toThrow(/fractions\[0\]/);
    expect(() => validateExperimentConfig({ ...base, backbones: [{ id: 'random:resnet50' }, { id: 'random:resnet50' }] })).toThrow(/listed twice/);
    expect(() => validateExperimentConfig({ ...base, extraction: { crops: 3 } })).toThrow(/extraction\.crops: unknown setting/);
    expect(() => validateExperimentConfig({ ...base, extraction: { together: 'yes' } })).toThrow(/extraction\.together: expected true or false, got "yes"/);
    expect(() => validateExperimentConfig({ ...base, extraction: { together: false, batch: 0 } })).toThrow(/extraction\.batch: expected a positive integer/);
    expect(() => validateExperimentConfig([])).toThrow(ExperimentConfigError);
    expect(() => validateExperimentConfig({ ...base, transferability: 'all' })).toThrow(
      /transferability: expected true, false or \{ estimators, maxRows \}, got "all"/,
    );
    expect(() => validateExperimentConfig({ ...base, transferability: { estimators: ['leep'] } })).toThrow(
      /transferability\.estimators: expected some of logme, hscore/,
    );
    expect(() => validateExperimentConfig({ ...base, transferability: { maxRows: 1 } })).toThrow(
      /transferability\.maxRows: expected an integer of at least 3, got 1/,
    );
    expect(() => validateExperimentConfig({ ...base, transferability: { rows: 10 } })).toThrow(
      /transferability\.rows: unknown setting; known: estimators, maxRows/,
    );
    expect(validateExperimentConfig({ ...base, transferability: { estimators: ['logme'], maxRows: 1000 } })).toMatchObject({
      transferability: { maxRows: 1000 },
    });
    expect(validateExperimentConfig(base)).toMatchObject({ fractions: [0.01, 0.1, 1], seeds: [0], fusions: [] });
  });
});
