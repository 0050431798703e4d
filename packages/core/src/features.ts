import type { FeatureManifest, FeatureSet } from '@medssl/spec';
import { validateTargets, validateTask } from './task.js';

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
    if (earlier !== undefined) throw new RangeError(`${where}: id ${JSON.stringify(id)} appears at rows ${earlier} and ${row}`);
    seen.set(id, row);
  });
}

/** The first NaN or infinite feature, named by split, row and column; features must be finite to learn from. */
export function assertFiniteFeatures(set: FeatureSet, where: string): void {
  const { data, shape } = set.features;
  for (let index = 0; index < data.length; index++) {
    if (!Number.isFinite(data[index]!)) {
      throw new RangeError(
        `${where}: feature row ${Math.floor(index / shape[1])} (${set.ids[Math.floor(index / shape[1])]}), column ${index % shape[1]} is ${data[index]}`,
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
    const name = `${where}: feature set ${position + 2} (${other.manifest.backbone})`;
    if (other.ids.length !== first.ids.length) {
      throw new RangeError(`${name} has ${other.ids.length} rows, feature set 1 (${first.manifest.backbone}) has ${first.ids.length}`);
    }
    const row = other.ids.findIndex((id, index) => id !== first.ids[index]);
    if (row >= 0) {
      throw new RangeError(
        `${name}: row ${row} is ${JSON.stringify(other.ids[row])}, feature set 1 has ${JSON.stringify(first.ids[row])}; ids must be in the same order`,
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
