import { describe, expect, it } from 'vitest';

import { expectedFile, expectTensors, fixtureBytes } from './__fixtures__/fixtures.js';
import { readCheckpointContents } from './checkpoint.js';
import { encodeSafetensors, readSafetensors } from './safetensors.js';

const floats = (...values: number[]) => new Float32Array(values);
const header = (json: string) => {
  const text = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + text.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  return bytes;
};
const withData = (head: Uint8Array, dataLength: number) => {
  const bytes = new Uint8Array(head.length + dataLength);
  bytes.set(head);
  return bytes;
};

describe('safetensors', () => {
  // Byte arrays from the reference implementation's own serialisation tests.
  it('writes the bytes the reference implementation writes', () => {
    const data = floats(0, 1, 2, 3, 4, 5);
    const dataBytes = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
    expect(Array.from(encodeSafetensors({ 'attn.0': { data, shape: [1, 2, 3] } }))).toEqual([
      64,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
      ...dataBytes,
    ]);
    // A shorter name: the header is padded with spaces so that the data starts on an 8-byte boundary.
    expect(Array.from(encodeSafetensors({ attn0: { data, shape: [1, 1, 2, 3] } }))).toEqual([
      72,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '),
      ...dataBytes,
    ]);
    expect(Array.from(encodeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(encodeSafetensors({}, { framework: 'pt' }))).toEqual([
      40,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode('{"__metadata__":{"framework":"pt"}}     '),
    ]);
  });

  it('reads every dtype it supports, with the metadata', () => {
    const contents = readSafetensors(fixtureBytes('all_dtypes.safetensors'), 'all_dtypes.safetensors');
    expectTensors(contents.tensors, 'all_dtypes.safetensors');
    expect(Object.fromEntries(contents.metadata)).toEqual(expectedFile('all_dtypes.safetensors').metadata);
  });

  it('rewrites a file written by the format rules byte for byte (F32, I64, I32, I16, I8, U8, BOOL)', () => {
    const original = fixtureBytes('writable.safetensors');
    const { tensors, metadata } = readSafetensors(original, 'writable.safetensors');
    expectTensors(tensors, 'writable.safetensors');
    const rewritten = encodeSafetensors(tensors, metadata);
    expect(Buffer.from(rewritten).equals(Buffer.from(original))).toBe(true);
  });

  it('round-trips every writable type, float64 read back as float32', async () => {
    const tensors = {
      weight: { data: floats(1.5, -2, 3.25, 0), shape: [2, 2] },
      counter: { data: new BigInt64Array([-(2n ** 62n), 7n]), shape: [2] },
      unsigned: { data: new BigUint64Array([2n ** 63n]), shape: [1] },
      labels: { data: new Int32Array([1, -1]), shape: [2] },
      halfwords: { data: new Uint16Array([65535]), shape: [1] },
      mask: { data: Uint8Array.of(1, 0, 1), shape: [3], dtype: 'bool' },
      pixels: { data: Uint8Array.of(255, 3), shape: [1, 2] },
      precise: { data: new Float64Array([0.1]), shape: [] },
    };
    const bytes = encodeSafetensors(tensors, new Map([['source', 'medssl']]));
    const read = await readCheckpointContents(bytes, 'round.safetensors');
    expect(read.format).toBe('safetensors');
    expect(read.metadata.get('source')).toBe('medssl');
    expect(read.tensors.get('mask')!.dtype).toBe('bool');
    expect(read.tensors.get('pixels')!.dtype).toBe('uint8');
    expect(read.tensors.get('unsigned')!.data).toEqual(new BigUint64Array([2n ** 63n]));
    expect(read.tensors.get('counter')!.data).toEqual(tensors.counter.data);
    expect(read.tensors.get('precise')!.data).toEqual(new Float32Array([0.1]));
    expect(read.stateDict.get('weight')!.data).toEqual(tensors.weight.data);
    expect([...read.stateDict.keys()].sort()).toEqual(['precise', 'weight']);
    // Written largest alignment first, then by name, so every tensor's data is aligned.
    expect([...readSafetensors(bytes).tensors.keys()]).toEqual(['unsigned', 'counter', 'precise', 'weight', 'labels', 'halfwords', 'pixels', 'mask']);
  });

  it('refuses bad input to the writer, naming the tensor', () => {
    expect(() => encodeSafetensors({ mask: { data: Uint8Array.of(2), shape: [1], dtype: 'bool' } })).toThrow(
      'tensor mask: a bool tensor holds 2 at element 0; expected 0 or 1',
    );
    expect(() => encodeSafetensors({ w: { data: floats(1, 2), shape: [3] } })).toThrow('tensor w: shape [3] needs 3 values, got 2');
    expect(() => encodeSafetensors({ __metadata__: { data: floats(1), shape: [1] } })).toThrow(/reserved/);
  });

  it('explains each way a file breaks the format', () => {
    const good = encodeSafetensors({ a: { data: floats(1, 2), shape: [2] }, b: { data: floats(3), shape: [1] } });
    expect(() => readSafetensors(good.subarray(0, good.length - 4), 'cut.safetensors')).toThrow(
      'cut.safetensors: truncated: the header describes 12 bytes of tensor data, but the file holds 8 after the header',
    );
    expect(() => readSafetensors(good.subarray(0, 20), 'cut.safetensors')).toThrow(/^cut\.safetensors: truncated: the header needs bytes 8 to \d+/);
    expect(() => readSafetensors(good.subarray(0, 5), 'tiny.safetensors')).toThrow(
      /tiny\.safetensors: truncated: a safetensors file starts with an 8-byte header length/,
    );
    expect(() => readSafetensors(withData(header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'), 4), 'x')).toThrow(
      'x: tensor a: F32 of shape [2] needs 8 bytes, but data_offsets [0, 4] span 4',
    );
    expect(() =>
      readSafetensors(withData(header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}'), 6), 'x'),
    ).toThrow(/x: tensor b: data_offsets start at 2, expected 4/);
    expect(() => readSafetensors(withData(header('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}'), 1), 'x')).toThrow(
      /tensor a: dtype F8_E4M3 \(8-bit float\) is not read/,
    );
    expect(() => readSafetensors(withData(header('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}'), 1), 'x')).toThrow(/tensor a: unknown dtype "Q4"/);
    expect(() => readSafetensors(header('{"a":'), 'x')).toThrow(/x: the header is not valid UTF-8 JSON/);
    expect(() => readSafetensors(withData(header('{}'), 3), 'x')).toThrow("x: 3 bytes after the last tensor's data are not described by the header");
  });
});
