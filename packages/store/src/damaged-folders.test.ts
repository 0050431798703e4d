import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { ArrayFormatError } from '@medssl/arrays';
import { writeNpyFile } from '@medssl/arrays/node';
import { FeatureSetError } from '@medssl/core';
import { readFeatureSet, writeFeatureSet } from './feature-files.js';
import { verifyStoreEntry } from './merge.js';
import { checkFeatureFolder, listFeatureStore } from './store.js';

const binary: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const multilabel: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };

/** A valid folder of 6 rows of 4-d features, then `damage` applied to it. */
async function damagedFolder(damage: (folder: string, manifest: Record<string, unknown>) => void | Promise<void>, task: Task = binary): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'medssl-damaged-'));
  await writeFeatureSet(folder, syntheticFeatureSet(task, { rows: 6, dimension: 4, seed: 3 }));
  await damage(folder, JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')));
  return folder;
}

const writeManifest = (value: unknown) => (folder: string) => writeFileSync(join(folder, 'manifest.json'), JSON.stringify(value));
const editManifest = (edit: (manifest: Record<string, unknown>) => unknown) => (folder: string, manifest: Record<string, unknown>) =>
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(edit(manifest)));

/** The error `readFeatureSet` throws: a FeatureSetError naming the file, never an engine message or `undefined`. */
async function readError(folder: string, file: string): Promise<FeatureSetError> {
  const error = await readFeatureSet(folder).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FeatureSetError);
  const typed = error as FeatureSetError;
  expect(typed.file).toBe(join(folder, file));
  expect(typed.message.startsWith(join(folder, file))).toBe(true);
  expect(typed.message).not.toMatch(/undefined|Cannot read properties|Unexpected (token|end)|is not valid JSON/);
  expect(typed.message).not.toContain('\n');
  expect(typed.message.length).toBeLessThan(join(folder, file).length + 260);
  return typed;
}

describe('readFeatureSet on damaged folders', () => {
  const manifestCases: [string, Parameters<typeof damagedFolder>[0], string, RegExp][] = [
    ['a manifest of null', writeManifest(null), '$', /expected a feature-set manifest object, found null/],
    ['a manifest that is an array', writeManifest([1, 2]), '$', /expected a feature-set manifest object, found an array of 2 entries \[1,2\]/],
    ['no task', editManifest(({ task, ...rest }) => rest), '$.task', /expected a task object .*, found nothing/],
    ['a task of null', editManifest((manifest) => ({ ...manifest, task: null })), '$.task', /found null/],
    [
      'a task without type',
      editManifest((manifest) => ({ ...manifest, task: { classes: ['a', 'b'], primaryMetric: 'auc' } })),
      '$.task.type',
      /expected "binary", "multiclass" or "multilabel", found nothing/,
    ],
    ['a task type of the wrong type', editManifest((manifest) => ({ ...manifest, task: { ...binary, type: 3 } })), '$.task.type', /found the number 3/],
    [
      'classes that are not an array',
      editManifest((manifest) => ({ ...manifest, task: { ...binary, classes: 'ab' } })),
      '$.task.classes',
      /expected an array of non-empty strings, found the string "ab"/,
    ],
    [
      'a class that is not a string',
      editManifest((manifest) => ({ ...manifest, task: { ...binary, classes: ['a', 7] } })),
      '$.task.classes[1]',
      /expected a non-empty string, found the number 7/,
    ],
    ['no primaryMetric', editManifest((manifest) => ({ ...manifest, task: { type: 'binary', classes: ['a', 'b'] } })), '$.task.primaryMetric', /found nothing/],
    [
      'another format',
      editManifest((manifest) => ({ ...manifest, format: 'medssl.features/v9' })),
      '$.format',
      /expected "medssl\.features\/v1", found the string "medssl\.features\/v9"/,
    ],
    ['no dataset', editManifest(({ dataset, ...rest }) => rest), '$.dataset', /expected an object \{ id, version \}, found nothing/],
    [
      'a dataset id that is a number',
      editManifest((manifest) => ({ ...manifest, dataset: { id: 5, version: '1' } })),
      '$.dataset.id',
      /expected a dataset id, found the number 5/,
    ],
    ['a split of null', editManifest((manifest) => ({ ...manifest, split: null })), '$.split', /expected a split name, found null/],
    ['no backbone', editManifest(({ backbone, ...rest }) => rest), '$.backbone', /expected a backbone id, found nothing/],
    ['weights that are not a string', editManifest((manifest) => ({ ...manifest, weightsSha256: {} })), '$.weightsSha256', /found an object \{\}/],
    [
      'a count that is a string',
      editManifest((manifest) => ({ ...manifest, count: '6' })),
      '$.count',
      /expected the number of rows, a non-negative integer, found the string "6"/,
    ],
    ['a fractional count', editManifest((manifest) => ({ ...manifest, count: 6.5 })), '$.count', /found the number 6\.5/],
    [
      'a dimension of zero',
      editManifest((manifest) => ({ ...manifest, dimension: 0 })),
      '$.dimension',
      /expected the feature dimension, a positive integer, found the number 0/,
    ],
    ['no runtime', editManifest(({ runtime, ...rest }) => rest), '$.runtime', /found nothing/],
  ];
  it.each(manifestCases)('names the field of %s', async (_, damage, key, message) => {
    const folder = await damagedFolder(damage);
    const error = await readError(folder, 'manifest.json');
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  it('cuts a long value it echoes to about 80 characters', async () => {
    const folder = await damagedFolder(editManifest((manifest) => ({ ...manifest, split: 7, backbone: 'x'.repeat(100), format: 'y'.repeat(5_000_000) })));
    const error = await readError(folder, 'manifest.json');
    expect(error.message).toMatch(/\$\.format: expected "medssl\.features\/v1", found the string "y{79}… \(4999922 more characters\)$/);
  });

  it.each([
    [
      'cut short',
      '{"format": "medssl.features/v1", "task": {"type": "bin',
      'line 1, column 55',
      /expected a closing quote, found the end of the text \(is the file cut short\?\)/,
    ],
    ['empty', '', 'line 1, column 1', /expected a JSON value, found the end of the text/],
    ['with a stray brace', '{\n  "count": 6,\n  }', 'line 3, column 3', /expected a quoted key, found "}"/],
    ['with a trailing comma in an array', '[1, 2,]', 'line 1, column 7', /expected a JSON value, found "]"/],
    ['followed by more text', '{} {}', 'line 1, column 4', /expected the end of the text, found "{"/],
  ])('places a syntax error in a manifest %s', async (_, text, key, message) => {
    const folder = await damagedFolder((target) => writeFileSync(join(target, 'manifest.json'), text));
    const error = await readError(folder, 'manifest.json');
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['cut short', '["train-0", "train-1", "tra', 'line 1, column 28', /found the end of the text/],
    ['not an array', '{"0": "train-0"}', '$', /expected an array of 6 sample ids, found an object \{"0":"train-0"\}/],
    ['too short', '["a", "b", "c"]', '$', /expected 6 sample ids \(one per feature row, as manifest\.json's count says\), found 3/],
    ['holding a number', '["a", "b", 3, "d", "e", "f"]', '$[2]', /expected a sample id, a non-empty string, found the number 3/],
    ['holding null', '["a", "b", "c", "d", "e", null]', '$[5]', /found null/],
  ])('checks ids.json %s', async (_, text, key, message) => {
    const folder = await damagedFolder((target) => writeFileSync(join(target, 'ids.json'), text));
    const error = await readError(folder, 'ids.json');
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  it('cuts a repeated id of a megabyte', async () => {
    const long = 'z'.repeat(1_000_000);
    const folder = await damagedFolder((target) => writeFileSync(join(target, 'ids.json'), JSON.stringify(['a', long, 'c', 'd', long, 'f'])));
    const error = await readError(folder, 'ids.json');
    expect(error.message).toMatch(/\$\[4\]: expected unique sample ids, found "z{79}… \(999922 more characters\) again \(also at \$\[1\]\)$/);
  });

  it.each([
    [
      'of another shape',
      { dtype: 'float32', shape: [6, 5], data: new Float32Array(30) },
      /expected float32 \(6, 4\) \(manifest\.json's count and dimension\), found float32 \(6, 5\)/,
    ],
    ['of one axis', { dtype: 'float32', shape: [24], data: new Float32Array(24) }, /found float32 \(24,\)/],
    ['of float64', { dtype: 'float64', shape: [6, 4], data: new Float64Array(24) }, /found float64 \(6, 4\)/],
    ['of fewer rows than the manifest counts', { dtype: 'float32', shape: [5, 4], data: new Float32Array(20) }, /found float32 \(5, 4\)/],
  ] as const)('checks features.npy %s', async (_, array, message) => {
    const folder = await damagedFolder((target) => writeNpyFile(join(target, 'features.npy'), array as Parameters<typeof writeNpyFile>[1]));
    const error = await readError(folder, 'features.npy');
    expect(error.key).toBe('dtype and shape');
    expect(error.message).toMatch(message);
  });

  it('checks multilabel targets against the manifest labels', async () => {
    let folder = await damagedFolder(
      (target) => writeNpyFile(join(target, 'targets.npy'), { dtype: 'uint8', shape: [6, 2], data: new Uint8Array(12) }),
      multilabel,
    );
    let error = await readError(folder, 'targets.npy');
    expect(error.message).toMatch(/expected uint8 \(6, 3\) for manifest\.json's multilabel task of 6 rows, found uint8 \(6, 2\)/);
    const flags = new Uint8Array(18);
    flags[7] = 2;
    folder = await damagedFolder((target) => writeNpyFile(join(target, 'targets.npy'), { dtype: 'uint8', shape: [6, 3], data: flags }), multilabel);
    error = await readError(folder, 'targets.npy');
    expect(error.key).toBe('row 2, label "b"');
    expect(error.message).toMatch(/expected 0 or 1, found 2/);
  });

  it('names a missing data file', async () => {
    const folder = await damagedFolder((target) => rmSync(join(target, 'targets.npy')));
    const error = await readError(folder, 'targets.npy');
    expect(error.message).toMatch(/targets\.npy: missing: a feature-set folder needs it$/);
  });

  it('leaves a malformed .npy file to the arrays format error, which names the file', async () => {
    const folder = await damagedFolder((target) => writeFileSync(join(target, 'features.npy'), readFileSync(join(target, 'features.npy')).subarray(0, 40)));
    const error = await readFeatureSet(folder).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ArrayFormatError);
    expect((error as ArrayFormatError).file).toBe(join(folder, 'features.npy'));
  });
});

describe('store checks on damaged folders', () => {
  it.each([
    ['null', 'null', /manifest\.json: \$: expected a feature-set manifest object, found null$/],
    ['cut short', '{"format": "medssl.features/v1", "ke', /manifest\.json: line 1, column 37: expected a closing quote, found the end of the text/],
    ['without a task', undefined, /manifest\.json: \$\.task: expected a task object .*, found nothing$/],
  ])('verify reports a manifest %s as one problem naming the field', async (_, text, message) => {
    const folder = await damagedFolder(
      text === undefined ? editManifest(({ task, ...rest }) => ({ ...rest, key: 'k' })) : (target) => writeFileSync(join(target, 'manifest.json'), text),
    );
    const check = await verifyStoreEntry(folder);
    expect(check.manifest).toBeUndefined();
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatch(message);
    expect(check.problems[0]).not.toMatch(/undefined|Cannot read|Unexpected/);
  });

  it('check names a stored manifest without checksums', async () => {
    const folder = await damagedFolder(
      editManifest((manifest) => ({
        ...manifest,
        key: 'k',
        keyInputs: { dataset: { id: 'synthetic' }, split: 'train', backbone: { id: 'b' }, rows: { start: 0, end: 6 } },
        files: {},
      })),
    );
    const check = await checkFeatureFolder(folder);
    expect(check.problems.join('\n')).toMatch(/no checksum for features\.npy/);
  });

  it('lists a store entry with a damaged manifest as unknown, and verify says why', async () => {
    const store = mkdtempSync(join(tmpdir(), 'medssl-store-'));
    const folder = join(store, 'a'.repeat(64));
    mkdirSync(folder);
    writeFileSync(join(folder, 'manifest.json'), '{"keyInputs": 5}');
    const entries = await listFeatureStore(store);
    expect(entries.map((entry) => entry.state)).toEqual(['unknown']);
    const check = await verifyStoreEntry(folder);
    expect(check.problems).toEqual([`${join(folder, 'manifest.json')}: $.format: expected "medssl.features/v1", found nothing`]);
  });
});
