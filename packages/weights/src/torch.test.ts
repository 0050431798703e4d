import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { expectedFile, expectTensors, fixtureBytes } from './__fixtures__/fixtures.js';
import { flattenTensors, readCheckpoint, readCheckpointContents } from './checkpoint.js';
import { CheckpointFormatError, UnsafeCheckpointError } from './errors.js';
import { OpaqueObject } from './pickle.js';
import { CheckpointTensor } from './tensor.js';

describe('PyTorch checkpoints (torch.save from PyTorch 1.13)', () => {
  it.each([
    ['small_zip.pth', 'pytorch-zip'],
    ['small_legacy.pth', 'pytorch-legacy'],
    ['model_wrapped.pth', 'pytorch-zip'],
    ['swav_like_legacy.pth.tar', 'pytorch-legacy'],
    ['dtypes_zip.pth', 'pytorch-zip'],
    ['dtypes_legacy.pth', 'pytorch-legacy'],
    ['arrays.npz', 'npz'],
  ])('reads %s with the values PyTorch saved', async (name, format) => {
    const checkpoint = await readCheckpointContents(fixtureBytes(name), name);
    expect(checkpoint.format).toBe(format);
    expectTensors(checkpoint.tensors, name);
  });

  it('gives the floating tensors as the state dict, int64 counters only among all tensors', async () => {
    const checkpoint = await readCheckpointContents(fixtureBytes('small_zip.pth'), 'small_zip.pth');
    const stateDict = await readCheckpoint(fixtureBytes('small_zip.pth'), 'small_zip.pth');
    expect([...stateDict.keys()]).toEqual([...checkpoint.stateDict.keys()]);
    expect(stateDict.has('bn1.num_batches_tracked')).toBe(false);
    expect(stateDict.get('conv1.weight')!.shape).toEqual([4, 3, 3, 3]);
    expect(stateDict.get('conv1.weight')!.data).toBeInstanceOf(Float32Array);
    const counter = checkpoint.tensors.get('bn1.num_batches_tracked')!;
    expect(counter.dtype).toBe('int64');
    expect(counter.shape).toEqual([]);
    expect(counter.data).toEqual(new BigInt64Array([1234n]));
    // Keys keep the order of the file, which is the order of the network.
    expect([...stateDict.keys()].slice(0, 3)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
  });

  it('keeps nested layouts under dotted keys, prefixes and all (SwAV/SimCLR state_dict, {model: ...})', async () => {
    const swav = await readCheckpointContents(fixtureBytes('swav_like_legacy.pth.tar'), 'swav.pth.tar');
    expect(swav.stateDict.has('state_dict.module.conv1.weight')).toBe(true);
    expect(swav.root).toBeInstanceOf(Map);
    const root = swav.root as Map<unknown, unknown>;
    expect(root.get('epoch')).toBe(800);
    expect(root.get('arch')).toBe('resnet50');
    const wrapped = await readCheckpoint(fixtureBytes('model_wrapped.pth'), 'model_wrapped.pth');
    expect([...wrapped.keys()].every((key) => key.startsWith('model.'))).toBe(true);
  });

  it('refuses the argparse.Namespace of a DINO training checkpoint unless it is allowed as an opaque object', async () => {
    const bytes = fixtureBytes('dino_full_checkpoint.pth');
    const refusal = readCheckpoint(bytes, 'dino_full_checkpoint.pth');
    await expect(refusal).rejects.toThrow(UnsafeCheckpointError);
    await expect(refusal).rejects.toThrow(
      /dino_full_checkpoint\.pth.*refusing to load global "argparse\.Namespace".*allowOpaqueObjects: \["argparse\.Namespace"\]/,
    );

    const checkpoint = await readCheckpointContents(bytes, 'dino_full_checkpoint.pth', { allowOpaqueObjects: ['argparse.Namespace'] });
    expectTensors(checkpoint.tensors, 'dino_full_checkpoint.pth');
    const root = checkpoint.root as Map<unknown, unknown>;
    expect(root.get('epoch')).toBe(100);
    const args = root.get('args');
    expect(args).toBeInstanceOf(OpaqueObject);
    const namespace = args as OpaqueObject;
    expect(namespace.className).toBe('argparse.Namespace');
    const want = expectedFile('dino_full_checkpoint.pth').args as Record<string, unknown>;
    for (const [attribute, value] of Object.entries(want)) expect(namespace.attribute(attribute)).toEqual(value);
    // The optimizer's per-parameter state is keyed by integers, as in Python.
    const optimizer = root.get('optimizer') as Map<unknown, unknown>;
    expect([...(optimizer.get('state') as Map<unknown, unknown>).keys()].slice(0, 2)).toEqual([0, 1]);
    expect(checkpoint.stateDict.has('teacher.conv1.weight')).toBe(true);
    expect(checkpoint.stateDict.has('student.module.conv1.weight')).toBe(true);
  });

  it('copies views out in C order: transposed, strided, shared and stride-0 storages', async () => {
    for (const name of ['dtypes_zip.pth', 'dtypes_legacy.pth']) {
      const { tensors } = await readCheckpointContents(fixtureBytes(name), name);
      // base = arange(24).reshape(4, 6) / 8 - 1; transposed is base.t().
      const transposed = tensors.get('transposed')!;
      expect(transposed.shape).toEqual([6, 4]);
      expect(Array.from(transposed.data as Float32Array).slice(0, 4)).toEqual([0, 6, 12, 18].map((value) => value / 8 - 1));
      expect(Array.from(tensors.get('shared_column')!.data as Float32Array)).toEqual([2, 8, 14, 20].map((value) => value / 8 - 1));
      expect(Array.from(tensors.get('expanded')!.data as Float32Array)).toEqual([1.5, -2.5, 4, 1.5, -2.5, 4]);
      // Views of one storage still get memory of their own.
      expect(tensors.get('shared_rows')!.data.buffer).not.toBe(tensors.get('shared_column')!.data.buffer);
      expect(tensors.get('scalar')!.shape).toEqual([]);
      expect(tensors.get('empty')!.data.length).toBe(0);
    }
  });

  it('shares the file memory only when asked, and only for tensors that need no conversion', async () => {
    for (const name of ['dtypes_zip.pth', 'dtypes_legacy.pth', 'small_zip.pth']) {
      const bytes = fixtureBytes(name);
      const copied = await readCheckpointContents(bytes, name);
      expect([...copied.tensors.values()].some((tensor) => tensor.data.buffer === bytes.buffer)).toBe(false);
      const shared = await readCheckpointContents(bytes, name, { shareMemory: true });
      expectTensors(shared.tensors, name);
      for (const [key, tensor] of shared.tensors) {
        // Converted (float16, bfloat16, float64) and gathered (non-contiguous) tensors are never views.
        if (['half', 'double', 'bfloat16', 'transposed', 'shared_column', 'permuted', 'expanded'].includes(key))
          expect(tensor.data.buffer, key).not.toBe(bytes.buffer);
      }
    }
    // torch.save aligns storages in the zip format, so its float32 weights become views.
    const bytes = fixtureBytes('small_zip.pth');
    const shared = await readCheckpointContents(bytes, 'small_zip.pth', { shareMemory: true });
    expect(shared.stateDict.get('conv1.weight')!.data.buffer).toBe(bytes.buffer);
  });

  it('refuses a malicious pickle by naming the global, without running it', async () => {
    for (const name of ['malicious_zip.pth', 'malicious_legacy.pth']) {
      const reading = readCheckpoint(fixtureBytes(name), name);
      await expect(reading).rejects.toThrow(UnsafeCheckpointError);
      await expect(reading).rejects.toThrow(
        `${name}: refusing to load global "posix.system" (only tensors, storages and plain containers are allowed; medssl never runs code from a checkpoint)`,
      );
      await reading.catch((error: UnsafeCheckpointError) => {
        expect(error.global).toBe('posix.system');
        expect(error.file).toBe(name);
      });
    }
    // The payload would have created this file.
    expect(existsSync('/tmp/medssl-weights-pwned')).toBe(false);
    // Allowing a name keeps it as a record; even then nothing runs.
    const checkpoint = await readCheckpointContents(fixtureBytes('malicious_zip.pth'), 'malicious_zip.pth', { allowOpaqueObjects: ['posix.system'] });
    const payload = (checkpoint.root as Map<unknown, unknown>).get('payload') as OpaqueObject;
    expect(payload.className).toBe('posix.system');
    expect(payload.constructorArguments).toEqual(['touch /tmp/medssl-weights-pwned']);
    expect(existsSync('/tmp/medssl-weights-pwned')).toBe(false);
  });

  it('says a truncated file is truncated, naming it', async () => {
    const zip = fixtureBytes('small_zip.pth');
    await expect(readCheckpoint(zip.subarray(0, zip.length - 200), 'cut.pth')).rejects.toThrow(/cut\.pth.*(truncated|not found)/);
    const legacy = fixtureBytes('small_legacy.pth');
    await expect(readCheckpoint(legacy.subarray(0, legacy.length - 10), 'cut_legacy.pth')).rejects.toThrow(
      /^cut_legacy\.pth: truncated: storage \S+ needs bytes \d+ to \d+, but the file ends at \d+$/,
    );
    await expect(readCheckpoint(legacy.subarray(0, 300), 'cut_pickle.pth')).rejects.toThrow(/^cut_pickle\.pth: truncated: the pickle needs/);
  });

  it('answers every truncation and corruption with a format error naming the file', async () => {
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (const name of ['small_legacy.pth', 'dtypes_legacy.pth', 'small_zip.pth', 'all_dtypes.safetensors']) {
      const original = fixtureBytes(name);
      for (let trial = 0; trial < 40; trial++) {
        let bytes = original.subarray(0, Math.floor(random() * original.length));
        if (trial % 2 === 1) {
          bytes = original.slice();
          for (let flip = 0; flip < 3; flip++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        }
        const error = await readCheckpointContents(bytes, name).then(
          () => undefined,
          (caught: Error) => caught,
        );
        if (error === undefined) continue; // a flip inside tensor data changes values, not the format
        expect(['CheckpointFormatError', 'UnsafeCheckpointError'], error.message).toContain(error.name);
        expect(error.message.startsWith(`${name}`), error.message).toBe(true);
      }
    }
  });

  it('reports a corrupt storage member through the ZIP checksum, naming the member', async () => {
    const zip = fixtureBytes('small_zip.pth').slice();
    // The first storage member's data starts on a 64-byte boundary after data.pkl; flip a byte well inside the file.
    const text = new TextDecoder('latin1').decode(zip);
    const member = text.indexOf('small_zip/data/0');
    zip[member + 200] = zip[member + 200]! ^ 0xff;
    const error = await readCheckpoint(zip, 'corrupt.pth').catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/^corrupt\.pth\[small_zip\/data\/\d+\]: CRC-32: mismatch/);
    // The archive's own error, as a checkpoint error naming the file, with the ZIP reader's error as its cause.
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect((error as CheckpointFormatError).file).toBe('corrupt.pth');
    expect(((error as Error).cause as Error).name).toBe('ArrayFormatError');
  });

  it('flattens any tree, and refuses two tensors under one key', () => {
    const tensor = new CheckpointTensor('float32', [1], new Float32Array([1]));
    const tree = new Map<never, never>([
      ['a', new Map([[0, tensor]])],
      ['list', [tensor, 'text']],
    ] as never);
    expect([...flattenTensors(tree).keys()]).toEqual(['a.0', 'list.0']);
    const clash = new Map<never, never>([
      ['a.b', tensor],
      ['a', new Map([['b', tensor]])],
    ] as never);
    expect(() => flattenTensors(clash, 'x.pth')).toThrow('x.pth: two tensors flatten to the same key "a.b"');
    expect([...flattenTensors(tensor).keys()]).toEqual(['']);
  });
});

describe('format detection', () => {
  it('names the formats it knows when it recognises none', async () => {
    await expect(readCheckpoint(new TextEncoder().encode('hello, this is not a checkpoint'), 'notes.txt')).rejects.toThrow(
      /^notes\.txt: unknown checkpoint format: the first bytes \(68 65 6c .*\) match none of PyTorch zip/,
    );
    await expect(readCheckpoint(new Uint8Array(0), 'empty.pth')).rejects.toThrow('empty.pth: the file is empty');
    await expect(readCheckpoint(Uint8Array.of(0x80, 0x04, 0x4e, 0x2e), 'plain.pkl')).rejects.toThrow(/plain\.pkl: a pickle without torch\.save's magic number/);
    await expect(readCheckpoint(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0), 'x.npy')).rejects.toThrow(/x\.npy: a single NumPy \.npy array/);
  });

  it('raises CheckpointFormatError with the file name for format errors', async () => {
    const error = await readCheckpoint(new Uint8Array(12), 'zeros.bin').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect((error as CheckpointFormatError).file).toBe('zeros.bin');
  });
});
