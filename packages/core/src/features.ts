import type { FeatureManifest, FeatureSet } from '@medssl/spec';
import { FeatureSetError } from './errors.js';
import { jsonPath } from './json.js';
import { cutText, quoteForMessage } from './messages.js';
import { findTaskProblem, validateTargets, validateTask } from './task.js';

/**
 * Checks that a feature set holds together: features `[count, dimension]` as the manifest says, one
 * target row and one unique id per feature row, targets valid for the task. `where` names the set in
 * errors (a folder, or `train`).
 */
export function validateFeatureSet(set: FeatureSet, where: string): void {
  const { manifest, features } = set;
  const [rows, dimension] = features.shape;
  if (features.data.length !== rows * dimension) {
    throw new RangeError(`${where}: features of shape [${rows}, ${dimension}] need ${rows * dimension} values, got ${features.data.length}`);
  }
  validateFeatureRows({ manifest, targets: set.targets, ids: set.ids, shape: [rows, dimension] }, where);
}

/**
 * `validateFeatureSet` without the feature values: for a set whose features are streamed to disk rather than
 * held in memory. Checks the manifest, `[count, dimension]`, one target row and one unique id per row.
 */
export function validateFeatureRows(
  set: {
    readonly manifest: FeatureManifest;
    readonly targets: FeatureSet['targets'];
    readonly ids: readonly string[];
    readonly shape: readonly [number, number];
  },
  where: string,
): void {
  const { manifest, targets, ids } = set;
  if (manifest.format !== 'medssl.features/v1') {
    throw new TypeError(`${where}: manifest format must be "medssl.features/v1", got ${JSON.stringify(manifest.format)}`);
  }
  validateTask(manifest.task, `${where}: manifest.task`);
  const [rows, dimension] = set.shape;
  if (rows !== manifest.count || dimension !== manifest.dimension) {
    throw new RangeError(`${where}: manifest says [${manifest.count}, ${manifest.dimension}], features are [${rows}, ${dimension}]`);
  }
  if (targets.shape[0] !== rows) throw new RangeError(`${where}: ${rows} feature rows but ${targets.shape[0]} target rows`);
  if (ids.length !== rows) throw new RangeError(`${where}: ${rows} feature rows but ${ids.length} ids`);
  validateTargets(manifest.task, targets, `${where}: targets`);
  const seen = new Map<string, number>();
  ids.forEach((id, row) => {
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new RangeError(`${where}: id ${quoteForMessage(id)} appears at rows ${earlier} and ${row}`);
    seen.set(id, row);
  });
}

/** The first NaN or infinite feature, named by split, row and column; features must be finite to learn from. */
export function assertFiniteFeatures(set: FeatureSet, where: string): void {
  const { data, shape } = set.features;
  for (let index = 0; index < data.length; index++) {
    if (!Number.isFinite(data[index]!)) {
      throw new RangeError(
        `${where}: feature row ${Math.floor(index / shape[1])} (${cutText(set.ids[Math.floor(index / shape[1])] ?? '')}), column ${index % shape[1]} is ${data[index]}`,
      );
    }
  }
}

/**
 * Checks that feature sets of one split, one per backbone, describe the same samples in the same order
 * (the input of a fusion such as DVME): same ids, same targets, same task.
 */
export function assertSameSamples(sets: readonly FeatureSet[], where: string): void {
  const [first, ...rest] = sets;
  if (!first) throw new RangeError(`${where}: no feature sets given`);
  rest.forEach((other, position) => {
    const name = `${where}: feature set ${position + 2} (${cutText(other.manifest.backbone)})`;
    if (other.ids.length !== first.ids.length) {
      throw new RangeError(`${name} has ${other.ids.length} rows, feature set 1 (${cutText(first.manifest.backbone)}) has ${first.ids.length}`);
    }
    const row = other.ids.findIndex((id, index) => id !== first.ids[index]);
    if (row >= 0) {
      throw new RangeError(
        `${name}: row ${row} is ${quoteForMessage(other.ids[row])}, feature set 1 has ${quoteForMessage(first.ids[row])}; ids must be in the same order`,
      );
    }
    if (JSON.stringify(other.manifest.task) !== JSON.stringify(first.manifest.task)) {
      throw new RangeError(`${name} has a different task than feature set 1`);
    }
    const differs = other.targets.data.findIndex((value, index) => value !== first.targets.data[index]);
    if (differs >= 0) throw new RangeError(`${name}: targets differ from feature set 1 at value ${differs}`);
  });
}

export type { FeatureManifest };

const MANIFEST_FORMAT = 'medssl.features/v1';

/**
 * Checks the parsed `manifest.json` of a feature-set folder field by field and returns it typed. Every field a
 * reader relies on is checked; an error is a `FeatureSetError` naming `file`, the JSON path (`$.task.type`),
 * what the field must be and what it is. Fields beyond the format's are kept as they are.
 */
export function parseFeatureManifest(value: unknown, file: string): FeatureManifest {
  const fail = (steps: readonly (string | number)[], expected: string, found: unknown): never => {
    throw FeatureSetError.expected(file, jsonPath(...steps), expected, found);
  };
  const record = (steps: readonly (string | number)[], found: unknown, expected: string): Record<string, unknown> =>
    typeof found === 'object' && found !== null && !Array.isArray(found) ? (found as Record<string, unknown>) : fail(steps, expected, found);
  const manifest = record([], value, 'a feature-set manifest object');
  const text = (steps: readonly string[], found: unknown, expected = 'a non-empty string') => {
    if (typeof found !== 'string' || found.length === 0) fail(steps, expected, found);
  };
  if (manifest.format !== MANIFEST_FORMAT) fail(['format'], `"${MANIFEST_FORMAT}"`, manifest.format);
  const dataset = record(['dataset'], manifest.dataset, 'an object { id, version }');
  text(['dataset', 'id'], dataset.id, 'a dataset id');
  if (typeof dataset.version !== 'string') fail(['dataset', 'version'], 'a version string', dataset.version);
  const taskProblem = findTaskProblem(manifest.task);
  if (taskProblem !== undefined) {
    throw new FeatureSetError(file, jsonPath('task', ...taskProblem.steps), `expected ${taskProblem.expected}, found ${taskProblem.found}`);
  }
  text(['split'], manifest.split, 'a split name');
  text(['backbone'], manifest.backbone, 'a backbone id');
  if (typeof manifest.weightsSha256 !== 'string') fail(['weightsSha256'], 'a string (the SHA-256 of the weights, or a seed)', manifest.weightsSha256);
  record(['preprocessing'], manifest.preprocessing, 'the preprocessing object');
  const runtime = record(['runtime'], manifest.runtime, 'an object { id, provider, precision }');
  for (const field of ['id', 'provider', 'precision'] as const) {
    if (typeof runtime[field] !== 'string') fail(['runtime', field], 'a string', runtime[field]);
  }
  if (!Number.isSafeInteger(manifest.count) || (manifest.count as number) < 0) fail(['count'], 'the number of rows, a non-negative integer', manifest.count);
  if (!Number.isSafeInteger(manifest.dimension) || (manifest.dimension as number) < 1)
    fail(['dimension'], 'the feature dimension, a positive integer', manifest.dimension);
  if (typeof manifest.created !== 'string') fail(['created'], 'an ISO 8601 time', manifest.created);
  return manifest as unknown as FeatureManifest;
}

/**
 * Checks the parsed `ids.json` of a feature-set folder: an array of `rows` unique non-empty strings. Errors
 * are `FeatureSetError`s naming `file` and the entry (`$[12]`).
 */
export function parseFeatureIds(value: unknown, file: string, rows: number): string[] {
  if (!Array.isArray(value)) throw FeatureSetError.expected(file, '$', `an array of ${rows} sample ids`, value);
  if (value.length !== rows) {
    throw new FeatureSetError(file, '$', `expected ${rows} sample ids (one per feature row, as manifest.json's count says), found ${value.length}`);
  }
  const seen = new Map<string, number>();
  value.forEach((id: unknown, row) => {
    if (typeof id !== 'string' || id.length === 0) throw FeatureSetError.expected(file, jsonPath(row), 'a sample id, a non-empty string', id);
    const earlier = seen.get(id);
    if (earlier !== undefined)
      throw new FeatureSetError(file, jsonPath(row), `expected unique sample ids, found ${quoteForMessage(id)} again (also at $[${earlier}])`);
    seen.set(id, row);
  });
  return value as string[];
}
