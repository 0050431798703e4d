import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { expect, it } from 'vitest';
import { captureIo } from '@medssl/experiment/testing';
import { main } from '../main.js';
import { readResultsDocument } from '@medssl/experiment';

/** The real PCam samples (JPEG patches 96x96 in data/{train,valid,test}/{0,1}/): the folder dataset reads them. */
const PCAM = sharedData('pcam', 'data');

/**
 * random:resnet50 at 32x32 on 32 train images (16 at fraction 0.5) and 24 val and test images, 3 epochs on tfjs-wasm, the
 * stem and the first two stages frozen: small enough for CI on two cores (bench/finetune.ts runs more).
 */
const quickRun = [
  'eval',
  'finetune',
  '--dataset',
  'folder',
  '--root',
  PCAM,
  '--modality',
  'pathology',
  '--backbone',
  'random:resnet50',
  '--resize',
  '32',
  '--crop',
  '32',
  '--limit',
  '32',
  '--eval-limit',
  '24',
  '--fractions',
  '0.5',
  '--epochs',
  '3',
  '--batch',
  '8',
  '--frozen-stages',
  '2',
  '--estimate-steps',
  '1',
  '--backbone-lr',
  '1e-4',
  '--head-lr',
  '1e-3',
];

describeWithSharedData('medssl eval finetune (real PCam patches, ResNet-50 on tfjs-wasm)', ['pcam/data'], () => {
  it('estimates the time, finetunes with falling training loss and a validation metric each epoch, and writes the eval document', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-finetune-cli-'));
    const out = join(root, 'results', 'finetune.json');
    const checkpoints = join(root, 'checkpoints');
    const { io, out: stdout, err } = captureIo();
    const code = await main([...quickRun, '--checkpoint-dir', checkpoints, '--out', out], io);
    const log = err.join('');
    expect(log).not.toMatch(/medssl eval: /);
    expect(code).toBe(0);
    expect(log).toMatch(/estimate on tfjs-wasm: measured [\d.]+ (ms|s) per training image and [\d.]+ (ms|s) per scored image at 32x32, batch 8/);
    expect(log).toMatch(/this run: about \d+ (s|min) \(1 runs of up to 3 epochs/);
    expect(log).toMatch(
      /full size: 300 train \/ 100 val \/ 100 test images \(the splits at .*\) at 224x224, 20 epochs: about [\d.]+ (s|min|h|days) per run at 100 % on tfjs-wasm/,
    );
    expect(log).toMatch(/epoch 3\/3: loss \d\.\d{4}, val auc \d\.\d{4}/);

    const document = JSON.parse(readFileSync(out, 'utf8'));
    expect(document).toMatchObject({
      format: 'medssl.eval/v1',
      protocol: 'finetune',
      backbone: 'random:resnet50',
      dataset: { id: 'folder' },
      task: { type: 'binary', primaryMetric: 'auc' },
    });
    expect(document.config.options).toMatchObject({
      epochs: 3,
      batchSize: 8,
      modality: 'pathology',
      runtime: 'tfjs-wasm',
      limit: 32,
      evalLimit: 24,
      frozenStages: 2,
    });
    expect([document.inputs.train.count, document.inputs.val.count, document.inputs.test.count]).toEqual([32, 24, 24]);
    expect(document.rows).toHaveLength(1);
    const [row] = document.rows;
    expect([row.fraction, row.seed, row.split, row.trainCount]).toEqual([0.5, 0, 'test', 16]);
    expect(row.metrics.auc).toBeGreaterThanOrEqual(0);
    expect(row.metrics.auc).toBeLessThanOrEqual(1);
    expect(row.validation.auc).toBeGreaterThanOrEqual(0);
    expect(row.selected.epochs).toBeGreaterThanOrEqual(1);
    const history = document.training[0].history as { loss: number; validation: { auc: number } }[];
    expect(history).toHaveLength(3);
    expect(history[2]!.loss).toBeLessThan(history[0]!.loss);
    for (const epoch of history) expect(Number.isFinite(epoch.validation.auc)).toBe(true);
    expect(document.estimate.measured.trainSecondsPerImage).toBeGreaterThan(0);
    expect(document.estimate.fullSize.secondsPerRun).toBeGreaterThan(document.estimate.requestedSeconds);
    expect(document.subsetFiles).toEqual(['subsets/folder-train-f0.5-s0.json']);
    expect(stdout.join('')).toMatch(/\| 50 % \| 0\.\d{4} ± 0\.0000 \|/);
    // The report command reads it like any other results document.
    expect(readResultsDocument(document, out)[0]!.protocol).toBe('finetune');

    // The run's checkpoint keeps the best epoch; resuming a finished run repeats nothing.
    expect(readdirSync(join(checkpoints, 'folder-train-f0.5-s0'))).toContain('checkpoint.json');
    const again = captureIo();
    expect(await main([...quickRun, '--checkpoint-dir', checkpoints, '--resume', '--out', join(root, 'again.json')], again.io)).toBe(0);
    expect(again.err.join('')).toMatch(/from its finished checkpoint/);
    expect(again.err.join('')).not.toMatch(/epoch 1\/3/);
    expect(JSON.parse(readFileSync(join(root, 'again.json'), 'utf8')).rows).toEqual(document.rows);

    // Without --resume an existing checkpoint is not overwritten; with other settings it is not resumed.
    const refused = captureIo();
    expect(await main([...quickRun, '--checkpoint-dir', checkpoints, '--out', join(root, 'x.json')], refused.io)).toBe(1);
    expect(refused.err.join('')).toMatch(
      /run folder-train-f0\.5-s0 already has a checkpoint in .*checkpoints \(epoch 3\); resume it, or remove it to start again/,
    );
    const mismatch = captureIo();
    expect(
      await main(
        [...quickRun.slice(0, -4), '--backbone-lr', '2e-4', '--head-lr', '1e-3', '--checkpoint-dir', checkpoints, '--resume', '--out', join(root, 'x.json')],
        mismatch.io,
      ),
    ).toBe(1);
    expect(mismatch.err.join('')).toMatch(/settings differ \(backboneLearningRate: this run has 0\.0002, the checkpoint 0\.0001\)/);
  }, 300_000);

  it('names what is wrong with the call', async () => {
    const base = ['eval', 'finetune', '--dataset', 'folder', '--root', PCAM, '--backbone', 'random:resnet50', '--out', join(tmpdir(), 'never.json')];
    const cases: [string[], RegExp, number][] = [
      [[...base, '--runtime', 'tfjs-gpu'], /--runtime tfjs-gpu cannot finetune; use one of tfjs-wasm, tfjs-webgpu, tfjs-cpu/, 2],
      [[...base, '--runtime', 'onnx'], /--runtime onnx cannot finetune/, 2],
      [['eval', 'finetune', '--root', PCAM, '--backbone', 'random:resnet50', '--out', 'x.json'], /--dataset is required/, 2],
      [[...base.slice(0, 6), '--backbone', 'onnx:/tmp/model.onnx', '--out', 'x.json'], /onnx:\/tmp\/model\.onnx: a model file cannot train here/, 2],
      [[...base, '--modality', 'dermatology'], /--modality must be one of pathology, fundus, chest-xray, natural, got "dermatology"/, 2],
      [[...base, '--resume'], /--resume needs --checkpoint-dir/, 2],
      [[...base, '--epochs', '0'], /--epochs must be a positive integer, got "0"/, 2],
      [[...base, '--head-lr', 'fast'], /--head-lr must be a non-negative number, got "fast"/, 2],
      [[...base, '--fractions', '0', '--limit', '8', '--resize', '32', '--crop', '32', '--estimate-only'], /label fraction must be in \(0, 1\], got 0/, 1],
      [[...base, '--weights', '/tmp/resnet.pth'], /random:resnet50 takes no --weights/, 2],
    ];
    for (const [argv, pattern, expected] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(expected);
      expect(err.join('')).toMatch(pattern);
    }
  });
});
