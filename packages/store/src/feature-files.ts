import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureManifest, FeatureSet, TargetArray } from '@medssl/spec';
import { encodeNpy, encodeNpyHeaderOf, formatShape } from '@medssl/arrays';
import { readNpyFile, sha256Hex, syncDirectory, writeFileAtomic, writeFileAtomicFrom, type WrittenFile } from '@medssl/arrays/node';
import { validateFeatureSet } from '@medssl/core';

/** File names inside a feature-set folder (ARCHITECTURE.md: numpy reads them as they are). */
export const FEATURE_FILES = {
  features: 'features.npy',
  targets: 'targets.npy',
  ids: 'ids.json',
  manifest: 'manifest.json',
} as const;

/** Size and SHA-256 of each data file of a feature-set folder, as a stored manifest records them. */
export type FeatureFileChecksums = Readonly<Record<'features.npy' | 'targets.npy' | 'ids.json', WrittenFile>>;

/** What a feature-set folder holds, for `writeFeatureFolder`. */
export interface FeatureFolderContents {
  readonly rows: number;
  readonly dimension: number;
  /** The float32 values, whole or as raw little-endian pieces in row order (streamed: they can be gigabytes). */
  readonly features: Float32Array | AsyncIterable<Uint8Array>;
  readonly targets: TargetArray;
  readonly ids: readonly string[];
  /** The manifest, made once the data files are written and their checksums known. */
  readonly manifest: (files: FeatureFileChecksums) => object;
}

/**
 * Writes a feature-set folder: `features.npy` (float32 [N, D]), `targets.npy` (int32 [N] or uint8 [N, L]),
 * `ids.json`, and `manifest.json` last, so a folder with a manifest is complete. Each file is written
 * atomically and the folder flushed. The one writer of feature folders: plain sets, the store's assembled
 * chunks and merged shards all go through it. Returns the data files' checksums.
 */
export async function writeFeatureFolder(folder: string, contents: FeatureFolderContents): Promise<FeatureFileChecksums> {
  const { rows, dimension, targets } = contents;
  await mkdir(folder, { recursive: true });
  const pieces =
    contents.features instanceof Float32Array
      ? [new Uint8Array(contents.features.buffer, contents.features.byteOffset, contents.features.byteLength)]
      : contents.features;
  const features = await writeFeaturesFrom(join(folder, FEATURE_FILES.features), rows, dimension, pieces);
  const targetsBytes =
    targets.type === 'class'
      ? encodeNpy({ dtype: 'int32', shape: [...targets.shape], data: targets.data })
      : encodeNpy({ dtype: 'uint8', shape: [...targets.shape], data: targets.data });
  const files: FeatureFileChecksums = {
    'features.npy': features,
    'targets.npy': await writeChecked(join(folder, FEATURE_FILES.targets), targetsBytes),
    'ids.json': await writeChecked(join(folder, FEATURE_FILES.ids), new TextEncoder().encode(`${JSON.stringify(contents.ids)}\n`)),
  };
  await writeFileAtomic(join(folder, FEATURE_FILES.manifest), `${JSON.stringify(contents.manifest(files), null, 2)}\n`);
  await syncDirectory(folder);
  return files;
}

/** Writes a whole feature set (`writeFeatureFolder` with the set's own manifest), after checking it. */
export async function writeFeatureSet(folder: string, set: FeatureSet): Promise<void> {
  validateFeatureSet(set, folder);
  const [rows, dimension] = set.features.shape;
  await writeFeatureFolder(folder, { rows, dimension, features: set.features.data, targets: set.targets, ids: set.ids, manifest: () => set.manifest });
}

async function writeChecked(path: string, bytes: Uint8Array): Promise<WrittenFile> {
  await writeFileAtomic(path, bytes);
  return { bytes: bytes.byteLength, sha256: sha256Hex(bytes) };
}

/** Streams `features.npy` from pieces: the header for [rows, dimension], then each piece's float32 bytes. */
export async function writeFeaturesFrom(
  path: string,
  rows: number,
  dimension: number,
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<WrittenFile> {
  const header = encodeNpyHeaderOf('float32', [rows, dimension]);
  let written = 0;
  const expected = rows * dimension * 4;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield header;
    for await (const piece of pieces) {
      written += piece.byteLength;
      if (written > expected) throw new RangeError(`${path}: more than the ${expected} bytes of [${rows}, ${dimension}] float32 features`);
      yield piece;
    }
    if (written !== expected) throw new RangeError(`${path}: ${written} bytes of features, expected ${expected} for [${rows}, ${dimension}]`);
  }
  return writeFileAtomicFrom(path, all());
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
