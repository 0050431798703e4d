import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { LabelTargets, MulticlassTask, MultilabelTask, Task } from '@medssl/spec';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import { describe, expect, it } from 'vitest';
import { loadSubsetFile, saveSubsetFiles } from './subset-files.js';
import { createRng } from './rng.js';
import { labelFractionSubsets, parseSubset, serializeSubset, type LabelFractionSubset } from './subsets.js';

const grades: MulticlassTask = {
  type: 'multiclass',
  classes: ['0', '1', '2', '3', '4'],
  ordinal: true,
  primaryMetric: 'kappa',
};

/** A shuffled pool with exactly `perClass[c]` samples of class c. */
function classPool(perClass: number[], seed = 99) {
  const labels = perClass.flatMap((count, label) => new Array<number>(count).fill(label));
  const data = createRng(seed).shuffle(Int32Array.from(labels));
  const ids = Array.from(data, (_, row) => `sample-${row}`);
  return { targets: { type: 'class' as const, data, shape: [data.length] as const }, ids };
}

function classCounts(data: Int32Array, rows: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const row of rows) counts[data[row]!]!++;
  return counts;
}

function isSubset(small: Int32Array, large: Int32Array): boolean {
  const members = new Set(large);
  return small.every((row) => members.has(row));
}

describe('labelFractionSubsets, single-label', () => {
  const perClass = [500, 300, 150, 40, 10];
  const { targets, ids } = classPool(perClass);
  const request = { task: grades, targets, ids, seed: 0, dataset: 'aptos', fractions: [0.01, 0.1, 0.5, 1] };

  it('draws round(fraction x pool) rows, nested, ascending and unique', async () => {
    const subsets = await labelFractionSubsets(request);
    expect(subsets.map((subset) => subset.rows.length)).toEqual([10, 100, 500, 1000]);
    for (let i = 1; i < subsets.length; i++) expect(isSubset(subsets[i - 1]!.rows, subsets[i]!.rows)).toBe(true);
    for (const { rows } of subsets) {
      for (let i = 1; i < rows.length; i++) expect(rows[i]!).toBeGreaterThan(rows[i - 1]!);
    }
  });

  it('keeps every class within one sample of its share, and every class present', async () => {
    const subsets = await labelFractionSubsets(request);
    for (const subset of subsets) {
      const counts = classCounts(targets.data, subset.rows, 5);
      counts.forEach((count, label) => {
        expect(count).toBeGreaterThan(0);
        expect(Math.abs(count - (subset.rows.length * perClass[label]!) / 1000)).toBeLessThanOrEqual(1);
      });
      expect(subset.counts).toEqual(Object.fromEntries(counts.map((count, label) => [String(label), count])));
      expect(subset.missing).toEqual([]);
    }
  });

  it('is the same for the same seed on every run, and differs between seeds', async () => {
    const first = await labelFractionSubsets(request);
    const again = await labelFractionSubsets(request);
    const otherSeed = await labelFractionSubsets({ ...request, seed: 1 });
    expect(again.map((subset) => Array.from(subset.rows))).toEqual(first.map((subset) => Array.from(subset.rows)));
    expect(Array.from(otherSeed[1]!.rows)).not.toEqual(Array.from(first[1]!.rows));
    // The ordering does not depend on which fractions were asked for.
    const alone = await labelFractionSubsets({ ...request, fractions: [0.1] });
    expect(Array.from(alone[0]!.rows)).toEqual(Array.from(first[1]!.rows));
  });

  it('raises a too-small fraction to one sample per class, or reports the classes it leaves out', async () => {
    const [raised] = await labelFractionSubsets({ ...request, fractions: [0.003] });
    expect(raised!.rows.length).toBe(5);
    expect(classCounts(targets.data, raised!.rows, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(raised!.missing).toEqual([]);
    const [exact] = await labelFractionSubsets({ ...request, fractions: [0.003], minimumOnePerClass: false });
    expect(exact!.rows.length).toBe(3);
    // Rarest first: the three rarest classes are the ones present.
    expect(exact!.missing).toEqual(['0', '1']);
  });

  it.each([0, -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the fraction %s', async (fraction) => {
    await expect(labelFractionSubsets({ ...request, fractions: [fraction] })).rejects.toThrow(/label fraction must be in \(0, 1\], got/);
  });

  it.each([0.5, -1, Number.NaN])('refuses the seed %s', async (seed) => {
    await expect(labelFractionSubsets({ ...request, seed })).rejects.toThrow(/seed must be a non-negative integer, got/);
  });

  it('names a class with no samples', async () => {
    const empty = classPool([30, 0, 20, 5, 1]);
    await expect(labelFractionSubsets({ ...request, ...empty })).rejects.toThrow(/aptos\/train: class "1" has no samples among 56 rows/);
    const allowed = await labelFractionSubsets({ ...request, ...empty, allowEmptyClasses: true, fractions: [1] });
    expect(allowed[0]!.rows.length).toBe(56);
    expect(allowed[0]!.missing).toEqual([]);
  });

  it('names the row of a target outside the task', async () => {
    const bad = classPool([3, 3, 3, 3, 3]);
    bad.targets.data[7] = 9;
    await expect(labelFractionSubsets({ ...request, ...bad })).rejects.toThrow(/row 7 has class 9, expected 0\.\.4/);
  });

  it('refuses ids that do not match the targets', async () => {
    await expect(labelFractionSubsets({ ...request, ids: ids.slice(1) })).rejects.toThrow(/999 ids for 1000 target rows/);
  });
});

describe('labelFractionSubsets, multilabel', () => {
  const labels = ['a', 'b', 'c', 'd', 'e', 'f'];
  const task: MultilabelTask = { type: 'multilabel', labels, primaryMetric: 'mean_auc' };
  const prevalence = [0.3, 0.15, 0.08, 0.04, 0.01, 0.003];

  function labelPool(rows: number): { targets: LabelTargets; ids: string[] } {
    const rng = createRng(4);
    const data = new Uint8Array(rows * labels.length);
    for (let row = 0; row < rows; row++) {
      prevalence.forEach((p, label) => {
        data[row * labels.length + label] = rng.next() < p ? 1 : 0;
      });
    }
    return { targets: { type: 'labels', data, shape: [rows, labels.length] }, ids: Array.from({ length: rows }, (_, row) => `x${row}`) };
  }

  it('holds every label at small fractions and tracks each label and the no-finding rows', async () => {
    const { targets, ids } = labelPool(5000);
    const subsets = await labelFractionSubsets({ task, targets, ids, seed: 3, dataset: 'synthetic', fractions: [0.01, 0.1, 1] });
    const full = subsets[2]!.counts;
    for (const subset of subsets.slice(0, 2)) {
      expect(subset.missing).toEqual([]);
      for (const name of [...labels, '(none)']) {
        const expected = (full[name]! * subset.rows.length) / 5000;
        expect(subset.counts[name]!).toBeGreaterThan(0);
        expect(Math.abs(subset.counts[name]! - expected)).toBeLessThanOrEqual(1.5);
      }
    }
    expect(isSubset(subsets[0]!.rows, subsets[1]!.rows)).toBe(true);
  });

  const tablePath = sharedData('chestxray14', 'Data_Entry_2017_v2020.csv.gz');
  itWithSharedData('stratifies the 112,120 rows of the real ChestX-ray14 label table', ['chestxray14/Data_Entry_2017_v2020.csv.gz'], async () => {
    const findings = [
      'Atelectasis',
      'Cardiomegaly',
      'Effusion',
      'Infiltration',
      'Mass',
      'Nodule',
      'Pneumonia',
      'Pneumothorax',
      'Consolidation',
      'Edema',
      'Emphysema',
      'Fibrosis',
      'Pleural_Thickening',
      'Hernia',
    ];
    const lines = gunzipSync(readFileSync(tablePath)).toString('utf8').trim().split('\n').slice(1);
    const data = new Uint8Array(lines.length * findings.length);
    const ids = lines.map((line, row) => {
      const [image, labelText] = line.split(',');
      for (const finding of labelText!.split('|')) {
        const label = findings.indexOf(finding);
        if (label >= 0) data[row * findings.length + label] = 1;
      }
      return image!;
    });
    expect(ids).toHaveLength(112_120);
    const cxr: Task = { type: 'multilabel', labels: findings, primaryMetric: 'mean_auc' };
    const targets: LabelTargets = { type: 'labels', data, shape: [ids.length, findings.length] };
    const subsets = await labelFractionSubsets({ task: cxr, targets, ids, seed: 0, dataset: 'chestxray14', fractions: [0.01, 0.1, 1] });
    expect(subsets.map((subset) => subset.rows.length)).toEqual([1121, 11212, 112_120]);
    const full = subsets[2]!.counts;
    expect(full.Hernia).toBe(227); // the rarest finding in NIH's v2020 table
    for (const subset of subsets.slice(0, 2)) {
      expect(subset.missing).toEqual([]);
      for (const finding of findings) {
        const expected = (full[finding]! * subset.rows.length) / ids.length;
        expect(Math.abs(subset.counts[finding]! - expected), finding).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('subset index files', () => {
  const { targets, ids } = classPool([60, 40]);
  const binary: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

  it('round-trips through JSON files and checks the pool they came from', async () => {
    const subsets = await labelFractionSubsets({ task: binary, targets, ids, seed: 2, dataset: 'pcam', fractions: [0.1, 1] });
    const folder = mkdtempSync(join(tmpdir(), 'medssl-subsets-'));
    const paths = await saveSubsetFiles(folder, subsets);
    expect(paths.map((path) => path.slice(folder.length + 1))).toEqual(['pcam-train-f0.1-s2.json', 'pcam-train-f1-s2.json']);
    const loaded = await loadSubsetFile(paths[0]!, { ids, targets });
    expect(loaded).toEqual(subsets[0]);
    const otherPool = classPool([60, 40], 5);
    await expect(loadSubsetFile(paths[0]!, otherPool)).rejects.toThrow(/pcam-train-f0\.1-s2\.json: drawn from a different pcam\/train/);
  });

  it('names the file and the entry that is wrong', async () => {
    const [subset] = await labelFractionSubsets({ task: binary, targets, ids, seed: 2, dataset: 'pcam', fractions: [0.1] });
    const parsed = JSON.parse(serializeSubset(subset!)) as Record<string, unknown> & { rows: number[] };
    const outOfRange = { ...parsed, rows: [...parsed.rows.slice(0, 3), 100] };
    await expect(parseSubset(JSON.stringify(outOfRange), 'subset.json')).rejects.toThrow(/subset\.json: rows\[3\] = 100 is not a row of a 100-row split/);
    const unsorted = { ...parsed, rows: [5, 3] };
    await expect(parseSubset(JSON.stringify(unsorted), 'subset.json')).rejects.toThrow(/rows must be ascending and unique; rows\[1\] = 3 follows 5/);
    await expect(parseSubset(JSON.stringify({ ...parsed, fraction: 2 }), 'subset.json')).rejects.toThrow(
      /field "fraction" must be a number in \(0, 1\], got 2/,
    );
    await expect(parseSubset('{"format": "other"}', 'subset.json')).rejects.toThrow(/format must be "medssl.subset\/v1"/);
    await expect(parseSubset('not json', 'subset.json')).rejects.toThrow(/subset\.json: not a JSON subset index file/);
  });

  it('writes files atomically, leaving no temporary file behind', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'medssl-atomic-'));
    writeFileSync(join(folder, 'keep.txt'), 'x');
    const subsets: LabelFractionSubset[] = await labelFractionSubsets({ task: binary, targets, ids, seed: 0, dataset: 'pcam', fractions: [1] });
    await saveSubsetFiles(folder, subsets);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(folder).sort()).toEqual(['keep.txt', 'pcam-train-f1-s0.json']);
  });
});
