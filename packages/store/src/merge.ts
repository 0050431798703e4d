import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TargetArray } from '@medssl/spec';
import { joinBytes, npyHeaderByteLength, parseNpyHeader } from '@medssl/arrays';
import { readNpyFile } from '@medssl/arrays/node';
import { FEATURE_FILES, targetsFor, writeFeatureFolder } from './feature-files.js';
import { FeatureSetError, parseFeatureIds, parseJson, validateFeatureRows } from '@medssl/core';
import { canonicalJson, featureKey, type FeatureKeyInputs } from './key.js';
import { chunksOf, type RowRange } from './shards.js';
import { checkChunk, checkFeatureFolder, readPlan, storeEntryFolder, type FolderCheck, type StoredFeatureManifest } from './store.js';

/** Where a merge writes: a folder of its own, or the store (under the key of the whole range). */
export type MergeTarget = { readonly out: string } | { readonly store: string };

export interface MergeResult {
  readonly folder: string;
  readonly key: string;
  readonly manifest: StoredFeatureManifest;
  /** The store already held this merge, verified; nothing was written. */
  readonly reused: boolean;
}

/** The header of an `.npy` file: read from its first bytes only. */
async function readNpyHeaderOf(path: string) {
  const handle = await open(path, 'r');
  try {
    const prefix = new Uint8Array(12);
    await handle.read(prefix, 0, 12, 0);
    const length = npyHeaderByteLength(prefix, path);
    const bytes = new Uint8Array(length);
    await handle.read(bytes, 0, length, 0);
    return parseNpyHeader(bytes, path);
  } finally {
    await handle.close();
  }
}

/**
 * Checks a feature-set folder in full without loading its features: checksums (as `checkFeatureFolder`),
 * then the `.npy` headers and `ids.json` against the manifest's `[count, dimension]`.
 */
export async function verifyFeatureFolder(folder: string): Promise<FolderCheck> {
  const check = await checkFeatureFolder(folder);
  if (!check.manifest || check.problems.length > 0) return check;
  const { manifest } = check;
  const problems: string[] = [];
  try {
    const features = await readNpyHeaderOf(join(folder, FEATURE_FILES.features));
    if (features.dtype !== 'float32' || features.shape.length !== 2 || features.shape[0] !== manifest.count || features.shape[1] !== manifest.dimension) {
      problems.push(
        `${join(folder, FEATURE_FILES.features)}: ${features.dtype} [${features.shape.join(', ')}], the manifest says float32 [${manifest.count}, ${manifest.dimension}]`,
      );
    }
    const targetsPath = join(folder, FEATURE_FILES.targets);
    const targets = targetsFor(manifest.task, await readNpyFile(targetsPath), manifest.count, targetsPath);
    const idsPath = join(folder, FEATURE_FILES.ids);
    const ids = parseFeatureIds(await readIdsJson(idsPath), idsPath, manifest.count);
    validateFeatureRows({ manifest, targets, ids, shape: [manifest.count, manifest.dimension] }, folder);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return { folder, manifest, problems };
}

async function readIdsJson(path: string): Promise<unknown> {
  return parseJson(await readFile(path, 'utf8'), (where, message) => new FeatureSetError(path, where, message));
}

/** The first top-level field where two key inputs differ, ignoring rows. */
function differingField(first: FeatureKeyInputs, second: FeatureKeyInputs): string | undefined {
  const fields = new Set([...Object.keys(first), ...Object.keys(second)]);
  fields.delete('rows');
  for (const field of fields) {
    const a = canonicalJson((first as unknown as Record<string, unknown>)[field] ?? null);
    const b = canonicalJson((second as unknown as Record<string, unknown>)[field] ?? null);
    if (a !== b) return `${field}: ${a} vs ${b}`;
  }
  return undefined;
}

const describeRows = (start: number, end: number) => (end - start === 1 ? `row ${start}` : `rows ${start}..${end - 1}`);

/**
 * Joins feature sets of consecutive rows of one split (the shards of `medssl embed --shard i/n`) into one.
 * Every input is verified first (checksums, shapes); they must come from the same extraction (same key
 * inputs but for the rows), and together cover the rows the shards were cut from exactly once: a missing or
 * repeated row, or a repeated shard, is an error naming the rows and folders. The result equals, byte for
 * byte, the `features.npy` one unsharded run writes, and carries that run's key.
 */
export async function mergeFeatureSets(inputs: readonly string[], target: MergeTarget): Promise<MergeResult> {
  if (inputs.length === 0) throw new RangeError('merge needs at least one feature-set folder');
  const shards: { folder: string; manifest: StoredFeatureManifest }[] = [];
  const problems: string[] = [];
  for (const folder of inputs) {
    const check = await verifyFeatureFolder(folder);
    if (check.problems.length > 0 || !check.manifest) problems.push(...check.problems.map((problem) => `${folder}: ${problem}`));
    else if (!check.manifest.rows) problems.push(`${folder}: its manifest has no rows: not made by medssl embed through the feature store`);
    else shards.push({ folder, manifest: check.manifest });
  }
  if (problems.length > 0) throw new Error(`cannot merge: ${problems.join('; ')}`);

  const first = shards[0]!;
  for (const other of shards.slice(1)) {
    const field = differingField(first.manifest.keyInputs, other.manifest.keyInputs);
    if (field) throw new Error(`cannot merge ${first.folder} and ${other.folder}: they come from different extractions (${field})`);
    if (other.manifest.dimension !== first.manifest.dimension)
      throw new Error(`cannot merge: ${first.folder} holds ${first.manifest.dimension}-d features, ${other.folder} ${other.manifest.dimension}-d`);
    if (canonicalJson(other.manifest.task) !== canonicalJson(first.manifest.task))
      throw new Error(`cannot merge ${first.folder} and ${other.folder}: different tasks`);
  }

  // The rows to cover: those the shards were cut from, when every input says so; else the span of the inputs.
  const declared = shards.map((shard) => shard.manifest.shard);
  let whole: RowRange;
  if (declared.every((shard) => shard !== undefined)) {
    const ranges = new Set(declared.map((shard) => `${shard!.of.start}:${shard!.of.end}:${shard!.count}`));
    if (ranges.size > 1) throw new Error(`cannot merge: the inputs were cut from different row ranges or shard counts (${[...ranges].join(', ')})`);
    whole = declared[0]!.of;
    const byIndex = new Map<number, string>();
    for (const [position, shard] of declared.entries()) {
      const earlier = byIndex.get(shard!.index);
      if (earlier !== undefined)
        throw new Error(`cannot merge: shard ${shard!.index}/${shard!.count} appears twice, in ${earlier} and ${shards[position]!.folder}`);
      byIndex.set(shard!.index, shards[position]!.folder);
    }
  } else {
    whole = { start: Math.min(...shards.map((shard) => shard.manifest.rows.start)), end: Math.max(...shards.map((shard) => shard.manifest.rows.end)) };
  }

  const ordered = [...shards].sort((a, b) => a.manifest.rows.start - b.manifest.rows.start || a.manifest.rows.end - b.manifest.rows.end);
  let covered = whole.start;
  let previous: string | undefined;
  for (const shard of ordered) {
    const { start, end } = shard.manifest.rows;
    if (start > covered) problems.push(`${describeRows(covered, start)} are missing: no input holds them`);
    if (start < covered && end > start) problems.push(`${describeRows(start, Math.min(covered, end))} appear twice (in ${previous} and ${shard.folder})`);
    if (end > covered) {
      covered = end;
      previous = shard.folder;
    }
  }
  if (covered < whole.end) problems.push(`${describeRows(covered, whole.end)} are missing: no input holds them`);
  if (problems.length > 0) throw new Error(`cannot merge into rows ${whole.start}..${whole.end - 1}: ${problems.join('; ')}`);

  const count = whole.end - whole.start;
  const dimension = first.manifest.dimension;
  const ids: string[] = [];
  const targetParts: Uint8Array[] = [];
  for (const shard of ordered) {
    ids.push(...parseFeatureIds(await readIdsJson(join(shard.folder, FEATURE_FILES.ids)), join(shard.folder, FEATURE_FILES.ids), shard.manifest.count));
    const targets = await readNpyFile(join(shard.folder, FEATURE_FILES.targets));
    targetParts.push(new Uint8Array(targets.data.buffer, targets.data.byteOffset, targets.data.byteLength));
  }
  const labels = first.manifest.task.type === 'multilabel' ? first.manifest.task.labels.length : 0;
  const targetBytes = joinBytes(targetParts);
  const targets: TargetArray = labels
    ? { type: 'labels', data: targetBytes, shape: [count, labels] }
    : { type: 'class', data: new Int32Array(targetBytes.buffer, targetBytes.byteOffset, count), shape: [count] };
  const keyInputs: FeatureKeyInputs = { ...first.manifest.keyInputs, rows: { start: whole.start, end: whole.end } };
  const key = await featureKey(keyInputs);
  const providers = [...new Set(ordered.flatMap((shard) => shard.manifest.runtime.provider.split('+')))].join('+');
  const { shard: _shard, files: _files, key: _key, keyInputs: _keyInputs, rows: _rows, ...common } = first.manifest;
  const description = { ...common, runtime: { ...first.manifest.runtime, provider: providers }, count, dimension, created: new Date().toISOString() };
  validateFeatureRows({ manifest: description, targets, ids, shape: [count, dimension] }, 'merged shards');

  const folder = 'out' in target ? target.out : storeEntryFolder(target.store, key);
  if ('store' in target) {
    const existing = await checkFeatureFolder(folder, key);
    if (existing.manifest && existing.problems.length === 0) return { folder, key, manifest: existing.manifest, reused: true };
  }
  let manifest: StoredFeatureManifest | undefined;
  await writeFeatureFolder(folder, {
    rows: count,
    dimension,
    features: (async function* () {
      for (const shard of ordered) {
        const path = join(shard.folder, FEATURE_FILES.features);
        const header = await readNpyHeaderOf(path);
        yield* createReadStream(path, { start: header.dataOffset, highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>;
      }
    })(),
    targets,
    ids,
    manifest: (files) =>
      (manifest = { ...description, key, keyInputs, rows: { start: whole.start, end: whole.end, splitSize: first.manifest.rows.splitSize }, files }),
  });
  return { folder, key, manifest: manifest!, reused: false };
}

/**
 * Verifies a store entry: a finished one as `verifyFeatureFolder`; one in progress chunk by chunk (each
 * chunk with a journal record must match it; chunks without one are simply not done yet).
 */
export async function verifyStoreEntry(
  folder: string,
): Promise<FolderCheck & { readonly inProgress?: { readonly chunksDone: number; readonly chunksTotal: number } }> {
  const complete = await checkFeatureFolder(folder);
  if (complete.manifest) return verifyFeatureFolder(folder);
  const plan = await readPlan(folder);
  if (!plan) return complete;
  const chunks = chunksOf(plan.keyInputs.rows, plan.chunkRows);
  const problems: string[] = [];
  let chunksDone = 0;
  for (const chunk of chunks) {
    const state = await checkChunk(folder, plan.key, chunk, plan.dimension);
    if (state.done) chunksDone++;
    else if (state.reason) problems.push(`chunk ${chunk.index} (${describeRows(chunk.start, chunk.end)}): ${state.reason}`);
  }
  return { folder, problems, inProgress: { chunksDone, chunksTotal: chunks.length } };
}
