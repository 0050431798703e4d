import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureManifest, FeatureSet, TargetArray } from '@medssl/spec';
import { formatShape } from './arrays/ndarray.js';
import { readNpyFile, writeNpyFile } from './arrays/node.js';
import { validateFeatureSet } from './features.js';
import { writeFileAtomic } from './files.js';

/** File names inside a feature-set folder (ARCHITECTURE.md: numpy reads them as they are). */
export const FEATURE_FILES = {
  features: 'features.npy',
  targets: 'targets.npy',
  ids: 'ids.json',
  manifest: 'manifest.json',
} as const;

/**
 * Writes a feature set folder: `features.npy` (float32 [N, D]), `targets.npy` (int32 [N] or uint8 [N, L]),
 * `ids.json`, and `manifest.json` last, so a folder with a manifest is complete. Each file is written
 * atomically.
 */
export async function writeFeatureSet(folder: string, set: FeatureSet): Promise<void> {
  validateFeatureSet(set, folder);
  await mkdir(folder, { recursive: true });
  await writeNpyFile(join(folder, FEATURE_FILES.features), { dtype: 'float32', shape: [...set.features.shape], data: set.features.data });
  const targets = set.targets;
  await writeNpyFile(
    join(folder, FEATURE_FILES.targets),
    targets.type === 'class'
      ? { dtype: 'int32', shape: [...targets.shape], data: targets.data }
      : { dtype: 'uint8', shape: [...targets.shape], data: targets.data },
  );
  await writeFileAtomic(join(folder, FEATURE_FILES.ids), `${JSON.stringify(set.ids)}\n`);
  await writeFileAtomic(join(folder, FEATURE_FILES.manifest), `${JSON.stringify(set.manifest, null, 2)}\n`);
}

/** Reads and checks a feature set folder; errors name the file and the expected and actual shapes. */
export async function readFeatureSet(folder: string): Promise<FeatureSet> {
  const manifestPath = join(folder, FEATURE_FILES.manifest);
  const manifest = JSON.parse(await readText(manifestPath)) as FeatureManifest;
  const featuresPath = join(folder, FEATURE_FILES.features);
  const features = await readNpyFile(featuresPath);
  if (features.dtype !== 'float32' || features.shape.length !== 2) {
    throw new TypeError(`${featuresPath}: expected float32 [N, D], got ${features.dtype} ${formatShape(features.shape)}`);
  }
  const targetsPath = join(folder, FEATURE_FILES.targets);
  const rawTargets = await readNpyFile(targetsPath);
  let targets: TargetArray;
  if (manifest.task?.type === 'multilabel') {
    if (rawTargets.dtype !== 'uint8' || rawTargets.shape.length !== 2) {
      throw new TypeError(`${targetsPath}: a multilabel task needs uint8 [N, L], got ${rawTargets.dtype} ${formatShape(rawTargets.shape)}`);
    }
    targets = { type: 'labels', data: rawTargets.data, shape: [rawTargets.shape[0]!, rawTargets.shape[1]!] };
  } else {
    if (rawTargets.dtype !== 'int32' || rawTargets.shape.length !== 1) {
      throw new TypeError(`${targetsPath}: a ${manifest.task?.type} task needs int32 [N], got ${rawTargets.dtype} ${formatShape(rawTargets.shape)}`);
    }
    targets = { type: 'class', data: rawTargets.data, shape: [rawTargets.shape[0]!] };
  }
  const idsPath = join(folder, FEATURE_FILES.ids);
  const ids = JSON.parse(await readText(idsPath)) as unknown;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new TypeError(`${idsPath}: expected a JSON array of strings`);
  const set: FeatureSet = {
    features: { data: features.data, shape: [features.shape[0]!, features.shape[1]!] },
    targets,
    ids,
    manifest,
  };
  validateFeatureSet(set, folder);
  return set;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path} is missing: not a feature-set folder` : `${path}: ${(error as Error).message}`);
  }
}
