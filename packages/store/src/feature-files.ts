import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureSet, TargetArray, Task } from '@medssl/spec';
import { ArrayFormatError, encodeNpy, encodeNpyHeaderOf, formatShape, type NdArray } from '@medssl/arrays';
import { readNpyFile, sha256Hex, syncDirectory, writeFileAtomic, writeFileAtomicFrom, type WrittenFile } from '@medssl/arrays/node';
import { FeatureSetError, cutText, parseFeatureIds, parseFeatureManifest, parseJson, quoteForMessage, validateFeatureSet } from '@medssl/core';

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

/**
 * Reads and checks a feature-set folder: the manifest field by field, the `.npy` dtypes and shapes against the
 * manifest's task, count and dimension, `ids.json` (one unique id per row) and the target values. A folder
 * that does not hold what the format says is a `FeatureSetError` naming the file, the key, what was expected
 * and what was found; a malformed `.npy` file is the `ArrayFormatError` of @medssl/arrays.
 */
export async function readFeatureSet(folder: string): Promise<FeatureSet> {
  const manifestPath = join(folder, FEATURE_FILES.manifest);
  const manifest = parseFeatureManifest(await readJsonFile(manifestPath, 'not a feature-set folder'), manifestPath);
  const { count, dimension, task } = manifest;
  const featuresPath = join(folder, FEATURE_FILES.features);
  const features = await readArray(featuresPath);
  if (features.dtype !== 'float32' || features.shape.length !== 2 || features.shape[0] !== count || features.shape[1] !== dimension) {
    throw new FeatureSetError(
      featuresPath,
      'dtype and shape',
      `expected float32 ${formatShape([count, dimension])} (manifest.json's count and dimension), found ${features.dtype} ${formatShape(features.shape)}`,
    );
  }
  const targetsPath = join(folder, FEATURE_FILES.targets);
  const rawTargets = await readArray(targetsPath);
  const targets = targetsFor(task, rawTargets, count, targetsPath);
  const idsPath = join(folder, FEATURE_FILES.ids);
  const ids = parseFeatureIds(await readJsonFile(idsPath, 'a feature-set folder needs it'), idsPath, count);
  return { features: { data: features.data, shape: [count, dimension] }, targets, ids, manifest };
}

/** `targets.npy` as the manifest's task needs it: int32 [count] of class indices, or uint8 [count, labels] of 0/1 flags. */
export function targetsFor(task: Task, array: NdArray, count: number, path: string): TargetArray {
  const expectedShape = task.type === 'multilabel' ? [count, task.labels.length] : [count];
  const expectedType = task.type === 'multilabel' ? 'uint8' : 'int32';
  if (array.dtype !== expectedType || array.shape.length !== expectedShape.length || array.shape.some((size, axis) => size !== expectedShape[axis])) {
    throw new FeatureSetError(
      path,
      'dtype and shape',
      `expected ${expectedType} ${formatShape(expectedShape)} for manifest.json's ${task.type} task of ${count} rows, found ${array.dtype} ${formatShape(array.shape)}`,
    );
  }
  if (task.type === 'multilabel') {
    const labels = task.labels.length;
    const flags = array.data as Uint8Array;
    const bad = flags.findIndex((flag) => flag > 1);
    if (bad >= 0) {
      const label = task.labels[bad % labels]!;
      throw new FeatureSetError(path, `row ${Math.floor(bad / labels)}, label ${quoteForMessage(label)}`, `expected 0 or 1, found ${flags[bad]}`);
    }
    return { type: 'labels', data: flags, shape: [count, labels] };
  }
  const classes = array.data as Int32Array;
  const bad = classes.findIndex((value) => value < 0 || value >= task.classes.length);
  if (bad >= 0) {
    throw new FeatureSetError(
      path,
      `row ${bad}`,
      `expected a class index 0..${task.classes.length - 1} (${cutText(task.classes.join(', '))}), found ${classes[bad]}`,
    );
  }
  return { type: 'class', data: classes, shape: [count] };
}

async function readArray(path: string): Promise<NdArray> {
  try {
    return await readNpyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FeatureSetError(path, '', 'missing: a feature-set folder needs it', { cause: error });
    if (error instanceof ArrayFormatError) throw error;
    throw new FeatureSetError(path, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'read error'})`, { cause: error });
  }
}

async function readJsonFile(path: string, whenMissing: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FeatureSetError(path, '', code === 'ENOENT' ? `missing: ${whenMissing}` : `cannot be read (${code ?? 'read error'})`, { cause: error });
  }
  return parseJson(text, (where, message) => new FeatureSetError(path, where, message));
}
