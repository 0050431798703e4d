import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureSet, Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { writeNpyFile } from '@medssl/arrays/node';
import { readFeatureSet, writeFeatureSet } from './feature-files.js';
import { assertFiniteFeatures, assertSameSamples } from '@medssl/core';

const binary: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const multilabel: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };
const python = '/usr/bin/python3';
const haveNumpy =
  existsSync(python) &&
  (() => {
    try {
      execFileSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!haveNumpy) console.warn('skipping the numpy read-back of feature sets: Debian python3-numpy is not installed');

describe('feature-set folders', () => {
  it.each([binary, multilabel])('round-trips a $type feature set', async (task) => {
    const set = syntheticFeatureSet(task, { rows: 12, dimension: 5, seed: 1 });
    const folder = join(mkdtempSync(join(tmpdir(), 'medssl-features-')), 'pcam', 'train', 'dino_vits16');
    await writeFeatureSet(folder, set);
    expect(readdirSync(folder).sort()).toEqual(['features.npy', 'ids.json', 'manifest.json', 'targets.npy']);
    const loaded = await readFeatureSet(folder);
    expect(loaded.features.shape).toEqual([12, 5]);
    expect(Array.from(loaded.features.data)).toEqual(Array.from(set.features.data));
    expect(loaded.targets.type).toBe(set.targets.type);
    expect(Array.from(loaded.targets.data)).toEqual(Array.from(set.targets.data));
    expect(loaded.ids).toEqual(set.ids);
    expect(loaded.manifest).toEqual(set.manifest);
  });

  it.skipIf(!haveNumpy)('is read by numpy as it is', async () => {
    const set = syntheticFeatureSet(multilabel, { rows: 7, dimension: 3, seed: 2 });
    const folder = mkdtempSync(join(tmpdir(), 'medssl-features-'));
    await writeFeatureSet(folder, set);
    const script = `import numpy as np, json, sys
f = np.load(sys.argv[1] + '/features.npy'); t = np.load(sys.argv[1] + '/targets.npy')
print(json.dumps([str(f.dtype), list(f.shape), str(t.dtype), list(t.shape), float(f.sum())]))`;
    const [featureType, featureShape, targetType, targetShape, sum] = JSON.parse(execFileSync(python, ['-c', script, folder], { encoding: 'utf8' }));
    expect([featureType, featureShape, targetType, targetShape]).toEqual(['float32', [7, 3], 'uint8', [7, 3]]);
    expect(sum).toBeCloseTo(
      set.features.data.reduce((a, b) => a + b, 0),
      3,
    );
  });

  it('names the file and shapes that do not fit', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-features-'));
    await expect(readFeatureSet(folder)).rejects.toThrow(/manifest\.json: missing: not a feature-set folder/);
    const set = syntheticFeatureSet(binary, { rows: 6, dimension: 4, seed: 3 });
    await writeFeatureSet(folder, set);
    await writeNpyFile(join(folder, 'targets.npy'), { dtype: 'int32', shape: [5], data: new Int32Array(5) });
    await expect(readFeatureSet(folder)).rejects.toThrow(
      /targets\.npy: dtype and shape: expected int32 \(6,\) for manifest\.json's binary task of 6 rows, found int32 \(5,\)/,
    );
    await writeNpyFile(join(folder, 'targets.npy'), { dtype: 'int64', shape: [6], data: new BigInt64Array(6) });
    await expect(readFeatureSet(folder)).rejects.toThrow(/targets\.npy: dtype and shape: expected int32 \(6,\) .*, found int64 \(6,\)/);
    await writeNpyFile(join(folder, 'targets.npy'), { dtype: 'int32', shape: [6], data: Int32Array.from([0, 1, 0, 1, 2, 0]) });
    await expect(readFeatureSet(folder)).rejects.toThrow(/targets\.npy: row 4: expected a class index 0\.\.1 \(normal, tumour\), found 2/);
    await writeFeatureSet(folder, set);
    writeFileSync(join(folder, 'ids.json'), JSON.stringify(['a', 'b', 'c', 'd', 'e', 'a']));
    await expect(readFeatureSet(folder)).rejects.toThrow(/ids\.json: \$\[5\]: expected unique sample ids, found "a" again \(also at \$\[0\]\)/);
    await writeNpyFile(join(folder, 'features.npy'), { dtype: 'float32', shape: [6, 5], data: new Float32Array(30) });
    await expect(readFeatureSet(folder)).rejects.toThrow(
      /features\.npy: dtype and shape: expected float32 \(6, 4\) \(manifest\.json's count and dimension\), found float32 \(6, 5\)/,
    );
  });

  it('finds non-finite features and misaligned sets', () => {
    const set = syntheticFeatureSet(binary, { rows: 4, dimension: 3, seed: 4, split: 'val' });
    const broken: FeatureSet = {
      ...set,
      features: { ...set.features, data: Float32Array.from(set.features.data, (value, index) => (index === 7 ? Number.NaN : value)) },
    };
    expect(() => assertFiniteFeatures(broken, 'val')).toThrow('val: feature row 2 (val-2), column 1 is NaN');
    const reordered: FeatureSet = { ...set, ids: [...set.ids].reverse() };
    expect(() => assertSameSamples([set, reordered], 'val')).toThrow(/row 0 is "val-3", feature set 1 has "val-0"/);
  });
});
