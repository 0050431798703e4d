import { describe, expect, it } from 'vitest';

import { dataBytes, manifest, readFixture, sha256 } from './__fixtures__/fixtures.js';
import { ArrayFormatError } from './errors.js';
import { ALL_DTYPES, assertNdArray, convertInt64, createNdArray, type NdArray } from './ndarray.js';
import { encodeNpy, encodeNpyHeader, parseNpy, parseNpyHeader } from './npy.js';

/** An NPY file with a hand-written header, padded the way numpy pads it. */
function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const lengthFieldSize = major === 1 ? 2 : 4;
  const padding = (64 - ((8 + lengthFieldSize + header.length + 1) % 64)) % 64;
  const headerBytes = new TextEncoder().encode(`${header}${' '.repeat(padding)}\n`);
  const bytes = new Uint8Array(8 + lengthFieldSize + headerBytes.length + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, headerBytes.length, true);
  else view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, 8 + lengthFieldSize);
  bytes.set(data, 8 + lengthFieldSize + headerBytes.length);
  return bytes;
}

function parseError(bytes: Uint8Array, name = 'test.npy'): ArrayFormatError {
  try {
    parseNpy(bytes, name);
  } catch (error) {
    expect(error).toBeInstanceOf(ArrayFormatError);
    return error as ArrayFormatError;
  }
  throw new Error('expected parseNpy to throw');
}

describe('parseNpy on files written by numpy', () => {
  const fixtures = Object.entries(manifest.npy);

  it('has fixtures for every dtype and layout', () => {
    expect(new Set(fixtures.map(([, fixture]) => fixture.dtype))).toEqual(new Set(ALL_DTYPES));
    expect(fixtures.some(([, fixture]) => fixture.shape.length === 0)).toBe(true);
    expect(fixtures.some(([, fixture]) => fixture.shape.length === 3)).toBe(true);
    expect(fixtures.some(([, fixture]) => fixture.shape.includes(0))).toBe(true);
    expect(fixtures.some(([, fixture]) => fixture.fortranOrder)).toBe(true);
    expect(fixtures.some(([, fixture]) => fixture.bigEndian)).toBe(true);
    expect(new Set(fixtures.map(([, fixture]) => fixture.version[0]))).toEqual(new Set([1, 2, 3]));
  });

  it.each(fixtures)('%s: dtype, shape and every data byte match numpy', (fileName, fixture) => {
    const bytes = readFixture(fileName);
    const header = parseNpyHeader(bytes, fileName);
    expect(header.version.major).toBe(fixture.version[0]);
    expect(header.fortranOrder).toBe(fixture.fortranOrder);
    expect(header.bigEndian).toBe(fixture.bigEndian);
    expect(header.dataOffset % 64).toBe(0);

    const array = parseNpy(bytes, fileName);
    expect(array.dtype).toBe(fixture.dtype);
    expect(array.shape).toEqual(fixture.shape);
    expect(sha256(dataBytes(array))).toBe(fixture.dataSha256);
    if (fixture.dataBase64 !== undefined) {
      expect(Buffer.from(dataBytes(array)).toString('base64')).toBe(fixture.dataBase64);
    }
  });

  it.each(fixtures)('%s: encodeNpy gives the bytes np.save writes for the C-order little-endian array', (fileName, fixture) => {
    const bytes = readFixture(fileName);
    const encoded = encodeNpy(parseNpy(bytes, fileName));
    expect(sha256(encoded)).toBe(fixture.canonicalNpySha256);
    if (!fixture.fortranOrder && !fixture.bigEndian && fixture.version[0] === 1) expect(encoded).toEqual(bytes);
  });

  it('reads values as numpy does', () => {
    const floats = parseNpy(readFixture('dtype_f4.npy'));
    expect(floats.dtype).toBe('float32');
    const values = [...floats.data] as number[];
    expect(values.slice(0, 4)).toEqual([0, -0, 1.5, -2.25]);
    expect(Object.is(values[1], -0)).toBe(true);
    expect(values[4]).toBe(3.4028234663852886e38);
    expect(values[6]).toBe(1.401298464324817e-45);
    expect(values.slice(7, 9)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(values[9])).toBe(true);

    expect([...parseNpy(readFixture('dtype_i8.npy')).data]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, 2n ** 63n - 2n, -(2n ** 63n) + 1n]);
    expect([...parseNpy(readFixture('dtype_u8.npy')).data]).toEqual([0n, 2n ** 64n - 1n, 0n, 1n, 2n ** 64n - 2n, 1n]);
    expect([...parseNpy(readFixture('dtype_b1.npy')).data]).toEqual([1, 0, 1, 0, 0, 1]);
    expect([...parseNpy(readFixture('big_endian_i8.npy')).data]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, -1n, 2n ** 53n + 1n]);
    expect([...parseNpy(readFixture('big_endian_u2.npy')).data]).toEqual([1, 256, 65535]);

    const scalar = parseNpy(readFixture('scalar_f4.npy'));
    expect(scalar.shape).toEqual([]);
    expect([...scalar.data]).toEqual([3.5]);
    expect([...parseNpy(readFixture('scalar_i8.npy')).data]).toEqual([-(2n ** 40n) - 7n]);
  });

  it('transposes Fortran-order data to C order', () => {
    const matrix = parseNpy(readFixture('fortran_f4.npy'));
    expect(matrix.shape).toEqual([3, 4]);
    expect([...matrix.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const tensor = parseNpy(readFixture('fortran_i2_3d.npy'));
    expect(tensor.shape).toEqual([2, 3, 4]);
    expect([...tensor.data]).toEqual(Array.from({ length: 24 }, (_, index) => index - 12));
    const bigEndian = parseNpy(readFixture('fortran_u8_big_endian.npy'));
    expect([...bigEndian.data]).toEqual([1n, 2n, 3n, 4n, 5n, 6n].map((value) => value * (2n ** 60n + 3n)));
  });

  it('returns a view of the input when the data is aligned, and a copy when it is not', () => {
    const bytes = readFixture('features.npy');
    const aligned = parseNpy(bytes);
    expect(aligned.data.buffer).toBe(bytes.buffer);

    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = parseNpy(shifted.subarray(1));
    expect(unaligned.data.buffer).not.toBe(shifted.buffer);
    expect([...unaligned.data]).toEqual([...aligned.data]);
  });

  it('accepts Python 2 long integers and double quotes in the header', () => {
    const array = parseNpy(npyWithHeader(`{"descr": "<i2", "shape": (2L, 1L), "fortran_order": False}`, new Uint8Array([1, 0, 2, 0])));
    expect(array.shape).toEqual([2, 1]);
    expect([...array.data]).toEqual([1, 2]);
  });
});

describe('parseNpy refuses what it cannot read, naming file, field, expected and actual', () => {
  it('a truncated data section, with expected and actual byte counts', () => {
    const error = parseError(readFixture('truncated_data.npy'), 'truncated_data.npy');
    expect(error.file).toBe('truncated_data.npy');
    expect(error.field).toBe('data');
    expect(error.message).toContain('truncated');
    expect(error.message).toContain('expected 400 bytes');
    expect(error.message).toContain('got 363');
  });

  it('data bytes beyond what the shape says', () => {
    const bytes = readFixture('features.npy');
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(parseError(longer).message).toMatch(/expected 120 bytes .* got 123/);
  });

  it('a truncated header', () => {
    const error = parseError(readFixture('truncated_header.npy'));
    expect(error.field).toBe('header');
    expect(error.message).toMatch(/truncated: expected 118 header bytes, got 30/);
  });

  it('object arrays, which would need pickle', () => {
    const error = parseError(readFixture('object_dtype.npy'), 'object_dtype.npy');
    expect(error.message).toBe(
      "object_dtype.npy: header field 'descr': object arrays ('|O') are not supported: their data is a Python pickle, " +
        'and reading it would mean executing pickle instructions, which medssl never does. Save the array with a numeric dtype instead.',
    );
  });

  it('unsupported and structured dtypes', () => {
    expect(parseError(readFixture('float16.npy')).message).toContain(
      "expected one of |b1, |u1, |i1, <u2, <i2, <u4, <i4, <u8, <i8, <f4, <f8 (or > for big-endian), got '<f2'",
    );
    expect(parseError(readFixture('structured.npy')).message).toContain(
      "structured dtypes (a list of fields) are not supported; got [('a', '<i4'), ('b', '<f8')]",
    );
    expect(parseError(npyWithHeader("{'descr': '|f4', 'fortran_order': False, 'shape': (0,), }")).message).toContain(
      "expected '<' or '>' byte order for a 4-byte type, got '|f4'",
    );
  });

  it('files that are not NPY, and unknown versions', () => {
    expect(parseError(new TextEncoder().encode('PK\u0003\u0004 this is a zip')).message).toContain('this is not an NPY file');
    expect(parseError(new Uint8Array(4)).message).toContain('expected at least 10 bytes, got 4');
    const bytes = readFixture('features.npy');
    bytes[6] = 4;
    expect(parseError(bytes).message).toBe('test.npy: format version: expected 1.0, 2.0 or 3.0, got 4.0');
  });

  it.each([
    ["{'descr': '<f4', 'shape': (2,), }", "header keys: expected exactly 'descr', 'fortran_order' and 'shape', got 'descr', 'shape'"],
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
      "header keys: expected exactly 'descr', 'fortran_order' and 'shape', got 'descr', 'extra', 'fortran_order', 'shape'",
    ],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", "header field 'fortran_order': expected True or False, got 0"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", "header field 'shape': expected a tuple of non-negative integers, got (2, -1)"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "header field 'shape': expected a tuple of non-negative integers, got [2]"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': 2, }", "header field 'shape': expected a tuple of non-negative integers, got 2"],
    ["{'descr': <f4, 'fortran_order': False, 'shape': (2,), }", "header: expected a value at position 10, found '<'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", `header: expected only spaces and a newline after the dict, got " junk`],
    ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "header: key 'descr' appears twice at position 24"],
    ["__import__('os').system('echo hi')", 'header: expected a value at position 0'],
    [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
      'header: integer 99999999999999999999 is too large (expected below 2^53) at position 51',
    ],
    ['('.repeat(40), 'header: more than 32 nested brackets at position 32'],
  ])('a malformed header: %s', (header, message) => {
    expect(parseError(npyWithHeader(header)).message).toContain(`test.npy: ${message}`);
  });
});

describe('encodeNpy', () => {
  it('round-trips every dtype and shape', () => {
    const shapes = [[], [0], [5], [2, 3], [2, 0, 4], [1, 2, 3, 2]];
    for (const dtype of ALL_DTYPES) {
      for (const shape of shapes) {
        const array = createNdArray(dtype, shape);
        const bytes = dataBytes(array as NdArray);
        for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 37 + 11) & (dtype === 'bool' ? 1 : 0xff);
        const encoded = encodeNpy(array as NdArray);
        expect((encoded.byteLength - bytes.length) % 64).toBe(0);
        const decoded = parseNpy(encoded);
        expect(decoded.dtype).toBe(dtype);
        expect(decoded.shape).toEqual(shape);
        expect(dataBytes(decoded)).toEqual(bytes);
      }
    }
  });

  it('writes version 1.0 headers aligned to 64 bytes, and 2.0 only when the header needs it', () => {
    const header = encodeNpyHeader(createNdArray('float32', [1080, 28, 28, 3]) as NdArray);
    expect(header.byteLength).toBe(128);
    expect(header[6]).toBe(1);
    expect(new TextDecoder().decode(header.subarray(10))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(1080, 28, 28, 3\), \} +\n$/);

    // Only an absurd number of dimensions overflows the 16-bit header length of version 1.0.
    const manyDimensions = [0, ...new Array<number>(22_000).fill(1)];
    const large = encodeNpy(createNdArray('uint8', manyDimensions) as NdArray);
    expect(large[6]).toBe(2);
    expect(large.byteLength % 64).toBe(0);
    // numpy has at most 64 dimensions, and neither numpy nor this reader parses a header past 10,000 bytes.
    expect(() => parseNpy(large, 'many.npy')).toThrow(/^many\.npy: header length: expected at most 10000 bytes \(numpy's own limit\), got \d+$/);
  });

  it('refuses arrays whose data does not match dtype or shape', () => {
    expect(() => encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(
      'array: data length: expected 4 elements for shape (2, 2), got 3',
    );
    expect(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) } as unknown as NdArray)).toThrow(
      'array: data: expected Float32Array for dtype float32, got Float64Array',
    );
    expect(() => assertNdArray({ dtype: 'float16', shape: [1], data: new Uint16Array(1) } as unknown as NdArray, 'features')).toThrow(
      /^features: dtype: expected one of bool, .*, got float16$/,
    );
    expect(() => createNdArray('int32', [2, -1])).toThrow('array: shape: expected non-negative integers, got [2,-1]');
  });
});

describe('convertInt64', () => {
  it('narrows values that fit', () => {
    const array = createNdArray('int64', [3], new BigInt64Array([-5n, 0n, 2n ** 31n - 1n]));
    const narrowed = convertInt64(array, 'int32');
    expect(narrowed.dtype).toBe('int32');
    expect(narrowed.data).toEqual(new Int32Array([-5, 0, 2 ** 31 - 1]));
    expect(convertInt64(array, 'float64').data).toEqual(new Float64Array([-5, 0, 2 ** 31 - 1]));
  });

  it('names the first element that does not fit', () => {
    const array = createNdArray('int64', [3], new BigInt64Array([1n, 2n ** 31n, 2n ** 60n]));
    expect(() => convertInt64(array, 'int32', 'labels.npy')).toThrow(
      'labels.npy: element 1 (2147483648) of a int64 array does not fit in int32 (range -2147483648 to 2147483647)',
    );
    expect(() => convertInt64(array, 'float64', 'labels.npy')).toThrow(/element 2 \(1152921504606846976\)/);
  });
});
