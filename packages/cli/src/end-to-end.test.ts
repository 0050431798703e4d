// Full-size parity with PyTorch through the whole user path: the checkpoint file as each method
// publishes it (layout and file format), read without running any of it, mapped by the backbone package,
// built into an ONNX graph, and fed an image decoded and preprocessed by medssl. The reference comes from
// __fixtures__/torch_reference.py, run here when Debian's python3-torch is installed; otherwise skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preprocess } from '@medssl/core';
import { decodeImageFile } from '@medssl/core/node';
import { onnxRuntime } from '@medssl/runtime-onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackboneWeights } from '@medssl/experiment';
import { cliRegistry } from './registry.js';

const python = '/usr/bin/python3';
const haveTorch = (() => {
  try {
    execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!haveTorch) console.warn('skipping full-size PyTorch parity: Debian python3-torch and python3-torchvision are not installed');

const folder = mkdtempSync(join(tmpdir(), 'medssl-e2e-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let reference: Record<string, number[]> | undefined;
function referenceValues(): Record<string, number[]> {
  if (!reference) {
    execFileSync(python, [join(import.meta.dirname, '__fixtures__/torch_reference.py'), folder], { stdio: 'ignore' });
    reference = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as Record<string, number[]>;
  }
  return reference;
}

describe.skipIf(!haveTorch)('full-size parity with PyTorch, from official checkpoint files', () => {
  it.each([
    ['supervised', 'supervised:resnet50', 'supervised.pth'],
    ['simclr', 'simclr:resnet50-1x', 'simclr.pth'],
    ['swav', 'swav:resnet50', 'swav.pth.tar'],
    ['dino', 'dino:vits16', 'dino_full.pth'],
  ])(
    '%s: %s from %s',
    async (name, backboneId, file) => {
      const expected = Float32Array.from(referenceValues()[name]!);
      expect(existsSync(join(folder, file))).toBe(true);
      const backbone = cliRegistry().backbone(backboneId);
      const weights = await loadBackboneWeights(backbone, join(folder, file), 0);
      const embedder = await onnxRuntime().createEmbedder(backbone, weights, { threads: 2 });
      try {
        const input = preprocess(await decodeImageFile(join(folder, 'image.png')), backbone.preprocessing);
        const embedding = await embedder.embed({ data: input.data, shape: [1, ...input.shape] });
        expect(embedding.shape).toEqual([1, expected.length]);
        let difference = 0;
        let scale = 0;
        expected.forEach((value, index) => {
          difference = Math.max(difference, Math.abs(value - embedding.data[index]!));
          scale = Math.max(scale, Math.abs(value));
        });
        // Relative to the largest value, as the issue defines it.
        expect(difference / scale).toBeLessThan(1e-4);
      } finally {
        await embedder.dispose();
      }
    },
    180_000,
  );
});
