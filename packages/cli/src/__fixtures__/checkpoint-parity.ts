// Parity with PyTorch through the whole user path, for one method's published checkpoint layouts: a
// reference script (reference_<method>.py, see checkpoint_reference.py) saves seeded random weights from
// the official network in the published layout and file format and embeds the test images through the
// method's evaluation transform; here `medssl embed` reads those files (never running any of them),
// decodes and preprocesses the images, and embeds them on onnxruntime, and runtime-tfjs (wasm) embeds the
// same inputs. Both must equal PyTorch within 1e-4 of the largest reference value. Skipped, with a
// message, where Debian's python3-torch is not installed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preprocess } from '@medssl/core';
import { decodeImageFile } from '@medssl/core/node';
import { loadBackboneWeights, overridePreprocessing } from '@medssl/experiment';
import { captureIo } from '@medssl/experiment/testing';
import { tfjsRuntime } from '@medssl/runtime-tfjs';
import { readFeatureSet } from '@medssl/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { cliRegistry } from '../registry.js';

const python = '/usr/bin/python3';
/** The bar of the issues that asked for parity: the largest difference over the largest reference value. */
export const PARITY_TOLERANCE = 1e-4;

export const haveTorch = (() => {
  try {
    execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export interface CheckpointParityCase {
  /** The case's key in reference.json, and its title. */
  readonly name: string;
  readonly backbone: string;
  /** The checkpoint, relative to the script's output folder. */
  readonly file: string;
  /** `--resize` and `--crop`, where the case runs at another input size than the backbone's own. */
  readonly resize?: number;
  readonly crop?: number;
  /** Also run on runtime-tfjs (wasm); default true. */
  readonly tfjs?: boolean;
}

/** The largest absolute difference over the largest absolute reference value. */
function relativeError(actual: ArrayLike<number>, expected: readonly number[]): number {
  let difference = 0;
  let scale = 0;
  expected.forEach((value, index) => {
    difference = Math.max(difference, Math.abs(value - actual[index]!));
    scale = Math.max(scale, Math.abs(value));
  });
  return difference / scale;
}

/**
 * The parity suite of one method: `script` (a path) is run once; every case is embedded through `medssl
 * embed` (onnxruntime) and on runtime-tfjs (wasm), image by image against PyTorch.
 */
export function describeCheckpointParity(title: string, script: string, cases: readonly CheckpointParityCase[]): void {
  if (!haveTorch) console.warn(`skipping ${title}: Debian python3-torch and python3-torchvision are not installed`);
  describe.skipIf(!haveTorch)(title, () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-checkpoint-parity-'));
    const measured: string[] = [];
    let reference: Record<string, Record<string, number[]>>;
    beforeAll(() => {
      execFileSync(python, [script, folder], { stdio: ['ignore', 'ignore', 'inherit'] });
      reference = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8'));
    }, 300_000);
    afterAll(() => {
      rmSync(folder, { recursive: true, force: true });
      console.log(`${title}, against PyTorch (max |difference| / max |reference|):\n  ${measured.join('\n  ')}`);
    });

    const expectedOf = (name: string) => {
      const expected = reference[name];
      if (!expected) throw new Error(`${script} wrote no reference for case ${name}; it has ${Object.keys(reference).join(', ')}`);
      return expected;
    };
    const sizeArguments = (entry: CheckpointParityCase) => [
      ...(entry.resize !== undefined ? ['--resize', String(entry.resize)] : []),
      ...(entry.crop !== undefined ? ['--crop', String(entry.crop)] : []),
    ];

    it.each(cases)(
      '$name: $backbone through medssl embed (onnxruntime)',
      async (entry) => {
        const expected = expectedOf(entry.name);
        const out = join(folder, 'features', entry.name.replace(/[^a-z0-9.-]+/gi, '_'));
        const { io, err } = captureIo();
        const args = ['embed', '--dataset', 'folder', '--root', join(folder, 'images'), '--split', 'test', '--backbone', entry.backbone];
        args.push('--weights', join(folder, entry.file), '--store', join(folder, 'store'), '--out', out, '--threads', '2', '--workers', '1');
        expect(await main([...args, ...sizeArguments(entry)], io), err.join('')).toBe(0);
        const features = await readFeatureSet(out);
        const [rows, width] = features.features.shape;
        expect(rows).toBe(Object.keys(expected).length);
        for (const [row, id] of features.ids.entries()) {
          const image = id.replace(/^.*[\\/]/, '').replace(/\.png$/, '');
          const values = expectedOf(entry.name)[image];
          if (!values) throw new Error(`no reference for image ${id} of case ${entry.name}`);
          expect(width).toBe(values.length);
          const error = relativeError(features.features.data.subarray(row * width!, (row + 1) * width!), values);
          measured.push(`${entry.name} ${image}, onnxruntime: ${error.toExponential(2)}`);
          expect(error, `${entry.name} ${image}`).toBeLessThan(PARITY_TOLERANCE);
        }
      },
      300_000,
    );

    it.each(cases.filter((entry) => entry.tfjs !== false))(
      '$name: $backbone on runtime-tfjs (wasm)',
      async (entry) => {
        const expected = expectedOf(entry.name);
        const backbone = cliRegistry().backbone(entry.backbone);
        const weights = await loadBackboneWeights(backbone, join(folder, entry.file), 0);
        const preprocessing = overridePreprocessing(backbone.preprocessing, entry.resize, entry.crop);
        const embedder = await tfjsRuntime({ backend: 'wasm' }).createEmbedder({ ...backbone, preprocessing }, weights);
        try {
          for (const [image, values] of Object.entries(expected)) {
            const input = preprocess(await decodeImageFile(join(folder, 'images', 'test', image, `${image}.png`)), preprocessing);
            const embedding = await embedder.embed({ data: input.data, shape: [1, ...input.shape] });
            expect(embedding.shape).toEqual([1, values.length]);
            const error = relativeError(embedding.data, values);
            measured.push(`${entry.name} ${image}, tfjs-wasm: ${error.toExponential(2)}`);
            expect(error, `${entry.name} ${image}`).toBeLessThan(PARITY_TOLERANCE);
          }
        } finally {
          await embedder.dispose();
        }
      },
      300_000,
    );
  });
}
