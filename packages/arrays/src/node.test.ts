import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dataBytes, findNumpyPython, fixturePath, manifest, sha256 } from './__fixtures__/fixtures.js';
import { describeRawInflater } from './__fixtures__/inflater-suite.js';
import { ArrayFormatError } from './errors.js';
import { ALL_DTYPES, createNdArray, type NdArray } from './ndarray.js';
import { inflateRawWithZlib, openNpzFile, readNpyFile, readNpzFile, writeNpyFile } from './node.js';
import { encodeNpy } from './npy.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'medssl-arrays-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** An array whose bytes follow a pattern, so that every byte position is checked. */
function patternedArray(dtype: (typeof ALL_DTYPES)[number], shape: number[]): NdArray {
  const array = createNdArray(dtype, shape) as NdArray;
  const bytes = dataBytes(array);
  for (let index = 0; index < bytes.length; index++) bytes[index] = dtype === 'bool' ? (index % 3 === 0 ? 1 : 0) : (index * 73 + 5) & 0xff;
  if (dtype === 'float32' || dtype === 'float64') {
    // Patterned bytes make some NaNs; numpy compares NaN payloads through the bytes anyway.
    const values = array.data as Float32Array | Float64Array;
    values.forEach((_, index) => (values[index] = (index - 3.25) / 7));
  }
  return array;
}

describeRawInflater('node:zlib', inflateRawWithZlib);

describe('readNpyFile and readNpzFile', () => {
  it('read fixtures written by numpy', async () => {
    const features = await readNpyFile(fixturePath('features.npy'));
    expect(features.dtype).toBe('float32');
    expect(features.shape).toEqual([6, 5]);
    expect(sha256(dataBytes(features))).toBe(manifest.npy['features.npy']!.dataSha256);

    const arrays = await readNpzFile(fixturePath('savez_compressed.npz'));
    expect([...arrays.keys()]).toEqual(manifest.npz['savez_compressed.npz']!.keys);
    expect(sha256(dataBytes(arrays.get('big')!))).toBe(manifest.npz['savez_compressed.npz']!.members.big!.dataSha256);
  });

  it('name the path in errors', async () => {
    const truncated = fixturePath('truncated_data.npy');
    await expect(readNpyFile(truncated)).rejects.toThrow(`${truncated}: data: truncated: expected 400 bytes`);
    const corrupted = fixturePath('savez_crc_corrupted.npz');
    await expect(readNpzFile(corrupted)).rejects.toThrow(`${corrupted}[targets.npy]: CRC-32: mismatch`);
    await expect(readNpzFile(fixturePath('truncated_data.npy'))).rejects.toBeInstanceOf(ArrayFormatError);
    const missing = join(directory, 'missing.npy');
    await expect(readNpyFile(missing)).rejects.toThrow(missing);
  });

  it('openNpzFile decodes members one at a time', async () => {
    const archive = await openNpzFile(fixturePath('savez_stored.npz'));
    try {
      expect(archive.keys).toEqual(manifest.npz['savez_stored.npz']!.keys);
      expect((await archive.readHeader('big')).shape).toEqual([300, 240]);
      expect([...(await archive.read('targets')).data]).toEqual([3, 1, 4, 1, 5, 9]);
    } finally {
      await archive.close();
    }
  });

  it('openNpzFile reads deflated members with positioned reads, as readNpzFile does for large files', async () => {
    const path = fixturePath('savez_compressed.npz');
    const archive = await openNpzFile(path);
    try {
      const digests = Object.fromEntries([...(await archive.readAll())].map(([key, array]) => [key, sha256(dataBytes(array))]));
      const expected = Object.fromEntries(Object.entries(manifest.npz['savez_compressed.npz']!.members).map(([key, member]) => [key, member.dataSha256]));
      expect(digests).toEqual(expected);
    } finally {
      await archive.close();
    }
  });
});

describe('writeNpyFile', () => {
  it('writes the bytes of encodeNpy and leaves no temporary file', async () => {
    const path = join(directory, 'features.npy');
    const array = patternedArray('float32', [4, 3]);
    await writeNpyFile(path, array);
    expect(new Uint8Array(await readFile(path))).toEqual(encodeNpy(array));
    expect((await readdir(directory)).filter((name) => name.includes('features.npy'))).toEqual(['features.npy']);
  });

  it('replaces an existing file whole', async () => {
    const path = join(directory, 'replaced.npy');
    await writeFile(path, 'an older, longer file that must disappear entirely'.repeat(100));
    const array = patternedArray('int32', [5]);
    await writeNpyFile(path, array);
    expect(new Uint8Array(await readFile(path))).toEqual(encodeNpy(array));
  });

  it('fails without leaving anything behind when the directory does not exist', async () => {
    const path = join(directory, 'absent', 'features.npy');
    await expect(writeNpyFile(path, patternedArray('uint8', [2]))).rejects.toThrow(/ENOENT/);
    await expect(writeNpyFile(join(directory, 'bad.npy'), { dtype: 'uint8', shape: [3], data: new Uint8Array(2) })).rejects.toThrow(
      'array: data length: expected 3 elements for shape (3,), got 2',
    );
    expect((await readdir(directory)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

const python = findNumpyPython();
if (python === undefined) {
  console.log('[arrays] numpy interoperability tests skipped: no Python with numpy (tried $MEDSSL_NUMPY_PYTHON if set, else /usr/bin/python3 and python3)');
}

/** Loads each file with np.load and reports dtype, shape, data digest, and whether np.save writes the same bytes. */
const NUMPY_CHECK = `
import hashlib, io, json, sys
import numpy as np
report = {}
for path in sys.argv[1:]:
    array = np.load(path)
    saved = io.BytesIO()
    np.save(saved, array)
    with open(path, 'rb') as file:
        same_bytes = saved.getvalue() == file.read()
    report[path] = {'dtype': str(array.dtype), 'shape': list(array.shape),
                    'dataSha256': hashlib.sha256(array.tobytes()).hexdigest(), 'sameAsNpSave': same_bytes}
print(json.dumps(report))
`;

describe.skipIf(python === undefined)('numpy reads what we write', () => {
  it('every dtype and shape loads in numpy unchanged, and equals np.save byte for byte', async () => {
    const written = new Map<string, NdArray>();
    const shapes = [[], [0], [7], [3, 4], [2, 0, 3], [2, 3, 4], [1, 1, 2, 3, 1]];
    for (const dtype of ALL_DTYPES) {
      for (const [shapeIndex, shape] of shapes.entries()) {
        const path = join(directory, `written_${dtype}_${shapeIndex}.npy`);
        const array = patternedArray(dtype, shape);
        await writeNpyFile(path, array);
        written.set(path, array);
      }
    }
    // The feature-set layout of ARCHITECTURE.md, at a realistic width.
    const features = join(directory, 'written_features.npy');
    const featureArray = patternedArray('float32', [33, 2048]);
    await writeNpyFile(features, featureArray);
    written.set(features, featureArray);

    const output = execFileSync(python!, ['-c', NUMPY_CHECK, ...written.keys()], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = JSON.parse(output) as Record<string, { dtype: string; shape: number[]; dataSha256: string; sameAsNpSave: boolean }>;
    for (const [path, array] of written) {
      const loaded = report[path]!;
      expect(loaded.dtype, path).toBe(array.dtype);
      expect(loaded.shape, path).toEqual(array.shape);
      expect(loaded.dataSha256, path).toBe(sha256(dataBytes(array)));
      expect(loaded.sameAsNpSave, path).toBe(true);
    }
  });
});
