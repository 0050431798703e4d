import { describe, expect, it } from 'vitest';
import type { NdArray } from './ndarray.js';
import { readNpz } from './npz.js';
import { encodeNpzParts } from './npz-writer.js';
import { joinBytes } from './bytes.js';

describe('npz writer', () => {
  it('writes archives that the npz reader reads back exactly, names with dots included', async () => {
    const arrays = new Map<string, NdArray>([
      ['backbone.layer1.0.conv1.weight', { dtype: 'float32', shape: [2, 3, 1, 1], data: Float32Array.from([1.5, -2, 3e-8, Number.MAX_VALUE, 0, -0]) }],
      ['head.bias', { dtype: 'float32', shape: [3], data: Float32Array.from([0.25, 0.5, 0.75]) }],
      ['empty', { dtype: 'float32', shape: [0], data: new Float32Array(0) }],
      ['steps', { dtype: 'int32', shape: [], data: Int32Array.from([7]) }],
    ]);
    const read = await readNpz(joinBytes(encodeNpzParts(arrays)), 'checkpoint.npz');
    expect([...read.keys()]).toEqual([...arrays.keys()]);
    for (const [key, array] of arrays) {
      expect(read.get(key)!.shape).toEqual(array.shape);
      expect(read.get(key)!.dtype).toBe(array.dtype);
      expect(Array.from(read.get(key)!.data as Float32Array)).toEqual(Array.from(array.data as Float32Array));
    }
    // The CRC-32 in the headers is checked on reading: a flipped data byte is caught.
    const bytes = joinBytes(encodeNpzParts(new Map([['x', { dtype: 'float32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) } as NdArray]])));
    const flipped = bytes.indexOf(0x80, 30 + 5 + 64);
    bytes[flipped] = bytes[flipped]! ^ 0xff;
    await expect(readNpz(bytes, 'bad.npz')).rejects.toThrow(/CRC|crc/);
  });
});
