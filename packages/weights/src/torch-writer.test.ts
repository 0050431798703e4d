import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpointContents } from './checkpoint.js';
import { encodeTorchCheckpoint } from './torch-writer.js';

const python = '/usr/bin/python3';
const haveTorch = (() => {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const weight = { data: Float32Array.from({ length: 6 }, (_, index) => index / 4 - 0.5), shape: [2, 3] };
const bias = { data: Float32Array.from([1.5, -2]), shape: [2] };
const checkpoint = { model: { 'blocks.0.fc.weight': weight, 'blocks.0.fc.bias': bias }, epoch: 100, note: 'médssl', lr: 0.25, best: true };

describe('encodeTorchCheckpoint', () => {
  it('writes what the reader reads back: nested dictionaries, tensors, numbers, strings', async () => {
    const contents = await readCheckpointContents(encodeTorchCheckpoint(checkpoint), 'written.pth');
    expect(contents.format).toBe('pytorch-zip');
    expect(Array.from(contents.stateDict.get('model.blocks.0.fc.weight')!.data)).toEqual(Array.from(weight.data));
    expect(contents.stateDict.get('model.blocks.0.fc.weight')!.shape).toEqual([2, 3]);
    expect(Array.from(contents.stateDict.get('model.blocks.0.fc.bias')!.data)).toEqual([1.5, -2]);
  });

  it.skipIf(!haveTorch)("writes what PyTorch's torch.load reads (Debian's python3-torch)", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'medssl-torch-writer-')), 'written.pth');
    writeFileSync(file, encodeTorchCheckpoint(checkpoint));
    const script = [
      'import json, sys, torch',
      'value = torch.load(sys.argv[1], map_location="cpu")',
      'model = value["model"]',
      'print(json.dumps({"type": type(model).__name__, "keys": list(model), "weight": model["blocks.0.fc.weight"].tolist(), "dtype": str(model["blocks.0.fc.bias"].dtype), "epoch": value["epoch"], "note": value["note"], "lr": value["lr"], "best": value["best"]}))',
    ].join('\n');
    const loaded = JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }));
    expect(loaded).toEqual({
      type: 'OrderedDict',
      keys: ['blocks.0.fc.weight', 'blocks.0.fc.bias'],
      weight: [
        [-0.5, -0.25, 0],
        [0.25, 0.5, 0.75],
      ],
      dtype: 'torch.float32',
      epoch: 100,
      note: 'médssl',
      lr: 0.25,
      best: true,
    });
  });
});
