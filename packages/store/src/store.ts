import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FeatureManifest } from '@medssl/spec';
import { encodeNpyHeaderOf, parseNpyHeader } from '@medssl/arrays';
import { FeatureSetError, jsonPath, parseFeatureManifest, parseJson } from '@medssl/core';
import { FEATURE_FILES, type FeatureFileChecksums } from './feature-files.js';
import { fileSha256, sha256Hex, syncDirectory, writeFileAtomic, type WrittenFile } from '@medssl/arrays/node';
import { featureKey, type FeatureKeyInputs } from './key.js';
import type { RowRange, ShardSpec } from './shards.js';

/*
 * The feature store: one folder per key, `<store>/<key>/`.
 *
 *   <key>/features.npy targets.npy ids.json   the feature set, as ARCHITECTURE.md defines it
 *   <key>/manifest.json                       written last: the folder is complete once it exists
 *   <key>/.extraction/plan.json               while an extraction is in progress: what it computes
 *   <key>/.extraction/chunks/000012.npy       features of one chunk of rows, float32 [rows, D]
 *   <key>/.extraction/journal/000012.json     its record: rows, size, SHA-256, ids digest; written after
 *                                             the chunk is durable, so a record always names a whole file
 *
 * Every file is written to a temporary name, flushed, renamed, and its folder flushed. A chunk counts as
 * done only when its record exists and the chunk file's SHA-256 matches it; anything else is recomputed.
 */

export const STORE_FORMAT = 'medssl.feature-store/v1';
const WORK_FOLDER = '.extraction';
const PLAN_FILE = 'plan.json';
const CHUNK_RECORD_FORMAT = 'medssl.feature-chunk/v1';

/** Where stored features live by default: `$MEDSSL_STORE`, else `$XDG_CACHE_HOME/medssl/features`, else `~/.cache/medssl/features`. */
export function defaultFeatureStore(environment: Readonly<Record<string, string | undefined>> = process.env): string {
  if (environment.MEDSSL_STORE) return environment.MEDSSL_STORE;
  return join(environment.XDG_CACHE_HOME || join(homedir(), '.cache'), 'medssl', 'features');
}

/** Checksum and size of each data file of a stored feature set. */

/**
 * `manifest.json` of a feature set made through the store: the fields of ARCHITECTURE.md, plus the content
 * key and everything it was computed from, the rows it holds, and checksums of its files.
 */
export interface StoredFeatureManifest extends FeatureManifest {
  readonly key: string;
  readonly keyInputs: FeatureKeyInputs;
  /** Rows `[start, end)` of the split held, in order; `splitSize` is the whole split's. */
  readonly rows: { readonly start: number; readonly end: number; readonly splitSize: number };
  /** Present on one shard of several: which one, and the rows all shards together cover. */
  readonly shard?: ShardSpec & { readonly of: RowRange };
  /** Rows per durable chunk (the grid shards and resumed runs share). */
  readonly chunkRows: number;
  readonly files: FeatureFileChecksums;
  /** How it was computed; informational, not part of the key. */
  readonly extraction?: { readonly batchSize: number; readonly workers: number; readonly threads?: number };
}

export function storeEntryFolder(store: string, key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new TypeError(`a feature key is 64 lowercase hex digits, got ${JSON.stringify(key)}`);
  return join(store, key);
}

export function workFolder(entry: string): string {
  return join(entry, WORK_FOLDER);
}

/** Digest of the sample ids of some rows, to notice a dataset whose rows changed between two runs. */
export function idsDigest(ids: readonly string[]): string {
  return sha256Hex(JSON.stringify(ids));
}

/** A JSON file of the store; invalid JSON is a `FeatureSetError` placing it by line and column (a missing file keeps its ENOENT). */
async function readJson(path: string): Promise<unknown> {
  return parseJson(await readFile(path, 'utf8'), (where, message) => new FeatureSetError(path, where, message));
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Key inputs as `features list` and the runner read them: a dataset id, a split, a backbone id and rows. */
function isKeyInputs(value: unknown): value is FeatureKeyInputs {
  if (!isRecord(value) || !isRecord(value.dataset) || !isRecord(value.backbone) || !isRecord(value.rows)) return false;
  return (
    typeof value.dataset.id === 'string' &&
    typeof value.split === 'string' &&
    typeof value.backbone.id === 'string' &&
    Number.isSafeInteger(value.rows.start) &&
    Number.isSafeInteger(value.rows.end)
  );
}

/**
 * `manifest.json` of a stored set, checked: the feature-set fields (`parseFeatureManifest`), then the store's
 * own (key, key inputs, checksums). Throws a `FeatureSetError` naming the field.
 */
function parseStoredManifest(value: unknown, path: string): StoredFeatureManifest {
  const manifest = parseFeatureManifest(value, path) as StoredFeatureManifest;
  const fields = manifest as unknown as Record<string, unknown>;
  if (fields.key === undefined && fields.keyInputs === undefined && fields.files === undefined) return manifest;
  if (typeof fields.key !== 'string') throw FeatureSetError.expected(path, '$.key', 'the content key, a string', fields.key);
  if (!isKeyInputs(fields.keyInputs))
    throw FeatureSetError.expected(path, '$.keyInputs', 'the key inputs { dataset, split, backbone, rows, … }', fields.keyInputs);
  if (!isRecord(fields.files)) throw FeatureSetError.expected(path, '$.files', 'the checksums of the data files', fields.files);
  for (const name of [FEATURE_FILES.features, FEATURE_FILES.targets, FEATURE_FILES.ids]) {
    const file = fields.files[name];
    if (file !== undefined && (!isRecord(file) || !Number.isSafeInteger(file.bytes) || typeof file.sha256 !== 'string')) {
      throw FeatureSetError.expected(path, jsonPath('files', name), '{ bytes, sha256 }', file);
    }
  }
  return manifest;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Problems found in a feature-set folder; empty when every check passed. */
export interface FolderCheck {
  readonly folder: string;
  readonly manifest?: StoredFeatureManifest;
  readonly problems: readonly string[];
}

/**
 * Checks a feature-set folder written through the store (or by `features merge`): the manifest's key is the
 * hash of its key inputs, and every data file has the size and SHA-256 the manifest records. Shapes are
 * checked by `readFeatureSet` when the set is read.
 */
export async function checkFeatureFolder(folder: string, expectedKey?: string): Promise<FolderCheck> {
  const manifestPath = join(folder, FEATURE_FILES.manifest);
  let manifest: StoredFeatureManifest;
  try {
    manifest = parseStoredManifest(await readJson(manifestPath), manifestPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof FeatureSetError) return { folder, problems: [error.message] };
    return { folder, problems: [code === 'ENOENT' ? `${manifestPath} is missing` : `${manifestPath}: cannot be read (${code ?? (error as Error).message})`] };
  }
  const problems: string[] = [];
  if (
    typeof manifest.key !== 'string' ||
    typeof manifest.keyInputs !== 'object' ||
    manifest.keyInputs === null ||
    typeof manifest.files !== 'object' ||
    manifest.files === null
  ) {
    return {
      folder,
      manifest,
      problems: [`${manifestPath}: no key, keyInputs or files: not written through the feature store, so there are no checksums to verify`],
    };
  }
  const recomputed = await featureKey(manifest.keyInputs);
  if (recomputed !== manifest.key) problems.push(`${manifestPath}: key ${manifest.key} is not the hash of its keyInputs (${recomputed})`);
  if (expectedKey !== undefined && manifest.key !== expectedKey) problems.push(`${manifestPath}: key is ${manifest.key}, expected ${expectedKey}`);
  for (const name of [FEATURE_FILES.features, FEATURE_FILES.targets, FEATURE_FILES.ids] as const) {
    const expected = manifest.files[name];
    const path = join(folder, name);
    if (!expected) {
      problems.push(`${manifestPath}: no checksum for ${name}`);
      continue;
    }
    let actual: WrittenFile;
    try {
      actual = await fileSha256(path);
    } catch (error) {
      problems.push(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message}`);
      continue;
    }
    if (actual.bytes !== expected.bytes) problems.push(`${path}: ${actual.bytes} bytes, the manifest records ${expected.bytes}`);
    else if (actual.sha256 !== expected.sha256) problems.push(`${path}: SHA-256 ${actual.sha256}, the manifest records ${expected.sha256}`);
  }
  return { folder, manifest, problems };
}

/** Removes a stored set's files (manifest first, so a half-removed folder never looks complete). */
export async function removeFeatureFiles(folder: string): Promise<void> {
  await rm(join(folder, FEATURE_FILES.manifest), { force: true });
  await syncDirectory(folder).catch(() => undefined);
  for (const name of [FEATURE_FILES.features, FEATURE_FILES.targets, FEATURE_FILES.ids]) await rm(join(folder, name), { force: true });
}

/** What an in-progress extraction computes; written once when it starts, checked when it resumes. */
export interface ExtractionPlan {
  readonly format: typeof STORE_FORMAT;
  readonly key: string;
  readonly keyInputs: FeatureKeyInputs;
  readonly chunkRows: number;
  readonly dimension: number;
  readonly started: string;
}

export async function readPlan(entry: string): Promise<ExtractionPlan | undefined> {
  const path = join(workFolder(entry), PLAN_FILE);
  try {
    const plan = await readJson(path);
    // Fields the resume reads; anything else wrong with a plan shows as chunks that do not check out.
    if (
      !isRecord(plan) ||
      !isKeyInputs(plan.keyInputs) ||
      typeof plan.key !== 'string' ||
      !Number.isSafeInteger(plan.chunkRows) ||
      (plan.chunkRows as number) < 1
    ) {
      return undefined;
    }
    return plan as unknown as ExtractionPlan;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A plan is written atomically, so an unreadable one was damaged afterwards: start over rather than guess.
    return undefined;
  }
}

export async function writePlan(entry: string, plan: ExtractionPlan): Promise<void> {
  const work = workFolder(entry);
  await mkdir(join(work, 'chunks'), { recursive: true });
  await mkdir(join(work, 'journal'), { recursive: true });
  await writeFileAtomic(join(work, PLAN_FILE), `${JSON.stringify(plan, null, 2)}\n`);
}

/** The journal record of one durable chunk. */
export interface ChunkRecord {
  readonly format: typeof CHUNK_RECORD_FORMAT;
  readonly key: string;
  readonly chunk: number;
  readonly rows: readonly [start: number, end: number];
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly idsSha256: string;
  readonly provider: string;
  readonly batchSize: number;
  readonly written: string;
}

const chunkName = (index: number) => String(index).padStart(6, '0');
export const chunkFile = (entry: string, index: number) => join(workFolder(entry), 'chunks', `${chunkName(index)}.npy`);
const recordFile = (entry: string, index: number) => join(workFolder(entry), 'journal', `${chunkName(index)}.json`);

/**
 * Makes one chunk durable: the features as `.npy` (temporary name, fsync, rename, folder fsync), then its
 * journal record the same way. A crash between the two leaves a chunk without a record, which is recomputed.
 */
export async function writeChunk(
  entry: string,
  fields: {
    key: string;
    chunk: number;
    rows: RowRange;
    features: Float32Array;
    dimension: number;
    ids: readonly string[];
    provider: string;
    batchSize: number;
  },
): Promise<ChunkRecord> {
  const count = fields.rows.end - fields.rows.start;
  if (fields.features.length !== count * fields.dimension) {
    throw new RangeError(`chunk ${fields.chunk}: ${fields.features.length} feature values for ${count} rows of ${fields.dimension}`);
  }
  const header = encodeNpyHeaderOf('float32', [count, fields.dimension]);
  const data = new Uint8Array(fields.features.buffer, fields.features.byteOffset, fields.features.byteLength);
  const path = chunkFile(entry, fields.chunk);
  await writeFileAtomic(path, [header, data]);
  const record: ChunkRecord = {
    format: CHUNK_RECORD_FORMAT,
    key: fields.key,
    chunk: fields.chunk,
    rows: [fields.rows.start, fields.rows.end],
    file: `chunks/${chunkName(fields.chunk)}.npy`,
    bytes: header.byteLength + data.byteLength,
    sha256: createHash('sha256').update(header).update(data).digest('hex'),
    idsSha256: idsDigest(fields.ids),
    provider: fields.provider,
    batchSize: fields.batchSize,
    written: new Date().toISOString(),
  };
  await writeFileAtomic(recordFile(entry, fields.chunk), `${JSON.stringify(record)}\n`);
  return record;
}

/** A chunk's verdict on resume: done (its record and file agree), or why it must be computed again. */
export type ChunkState = { readonly done: true; readonly record: ChunkRecord } | { readonly done: false; readonly reason?: string };

/**
 * Checks one chunk against its journal record: the record belongs to this key and rows, and the file has
 * the recorded size, SHA-256 and a float32 `[rows, dimension]` header. A missing record is simply not done;
 * anything else that fails is reported, since it means damage.
 */
export async function checkChunk(entry: string, key: string, chunk: { index: number } & RowRange, dimension: number): Promise<ChunkState> {
  let record: ChunkRecord;
  const recordPath = recordFile(entry, chunk.index);
  try {
    record = (await readJson(recordPath)) as ChunkRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { done: false };
    return {
      done: false,
      reason: error instanceof FeatureSetError ? error.message : `its journal record ${recordPath} cannot be read (${(error as Error).message})`,
    };
  }
  if (!isRecord(record) || record.format !== CHUNK_RECORD_FORMAT || record.key !== key || record.chunk !== chunk.index) {
    return { done: false, reason: `its journal record ${recordPath} belongs to another extraction` };
  }
  if (record.rows?.[0] !== chunk.start || record.rows?.[1] !== chunk.end) {
    return {
      done: false,
      reason: `its journal record holds rows ${record.rows?.[0]}..${(record.rows?.[1] ?? 0) - 1}, expected ${chunk.start}..${chunk.end - 1}`,
    };
  }
  const path = chunkFile(entry, chunk.index);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return { done: false, reason: `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  if (bytes.byteLength !== record.bytes) return { done: false, reason: `${path} has ${bytes.byteLength} bytes, its journal record says ${record.bytes}` };
  const actual = sha256Hex(bytes);
  if (actual !== record.sha256) return { done: false, reason: `${path} has SHA-256 ${actual}, its journal record says ${record.sha256}` };
  try {
    const header = parseNpyHeader(bytes, path);
    const rows = chunk.end - chunk.start;
    if (header.dtype !== 'float32' || header.shape.length !== 2 || header.shape[0] !== rows || header.shape[1] !== dimension) {
      return { done: false, reason: `${path} holds ${header.dtype} [${header.shape.join(', ')}], expected float32 [${rows}, ${dimension}]` };
    }
  } catch (error) {
    return { done: false, reason: (error as Error).message };
  }
  return { done: true, record };
}

/** The float32 data of a done chunk, re-checked against its record as it is read (never trusted blindly). */
export async function readChunkData(entry: string, record: ChunkRecord): Promise<Uint8Array> {
  const path = chunkFile(entry, record.chunk);
  const bytes = await readFile(path);
  const actual = sha256Hex(bytes);
  if (bytes.byteLength !== record.bytes || actual !== record.sha256) {
    throw new Error(`${path} changed after it was checked (SHA-256 ${actual}, journal ${record.sha256}); run again with --resume to recompute it`);
  }
  const header = parseNpyHeader(bytes, path);
  return bytes.subarray(header.dataOffset);
}

/** Removes temporary files a killed run left behind; they never hold anything a record points to. */
export async function removeTemporaryFiles(entry: string): Promise<void> {
  for (const folder of [workFolder(entry), join(workFolder(entry), 'chunks'), join(workFolder(entry), 'journal')]) {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      continue;
    }
    for (const name of names) if (name.startsWith('.') && name.endsWith('.tmp')) await rm(join(folder, name), { force: true });
  }
}

export async function hasWork(entry: string): Promise<boolean> {
  return exists(workFolder(entry));
}

/** One folder of a store, as `medssl features list` shows it. */
export interface StoreEntry {
  readonly folder: string;
  readonly key: string;
  readonly state: 'complete' | 'in progress' | 'unknown';
  readonly keyInputs?: FeatureKeyInputs;
  readonly count?: number;
  readonly dimension?: number;
  /** In progress: chunks with a journal record, of all chunks. */
  readonly chunksRecorded?: number;
  readonly chunksTotal?: number;
  readonly bytes: number;
  readonly created?: string;
}

/** Lists a store's entries; a store that does not exist yet is empty. */
export async function listFeatureStore(store: string): Promise<StoreEntry[]> {
  let names: string[];
  try {
    names = (await readdir(store)).filter((name) => /^[0-9a-f]{64}$/.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${store}: cannot list the feature store (${(error as Error).message})`);
  }
  const entries: StoreEntry[] = [];
  for (const key of names) {
    const folder = join(store, key);
    const bytes = await folderBytes(folder);
    const manifestPath = join(folder, FEATURE_FILES.manifest);
    // A damaged manifest lists as 'unknown': `features verify` says what is wrong with it.
    const manifest = await readJson(manifestPath)
      .then((value) => parseStoredManifest(value, manifestPath))
      .catch(() => undefined);
    if (manifest) {
      entries.push({
        folder,
        key,
        state: 'complete',
        keyInputs: manifest.keyInputs,
        count: manifest.count,
        dimension: manifest.dimension,
        bytes,
        created: manifest.created,
      });
      continue;
    }
    const plan = await readPlan(folder);
    if (plan) {
      const recorded = (await readdir(join(workFolder(folder), 'journal')).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).length;
      const { start, end } = plan.keyInputs.rows;
      const total = end > start ? Math.ceil(end / plan.chunkRows) - Math.floor(start / plan.chunkRows) : 0;
      entries.push({
        folder,
        key,
        state: 'in progress',
        keyInputs: plan.keyInputs,
        dimension: plan.dimension,
        chunksRecorded: recorded,
        chunksTotal: total,
        bytes,
        created: plan.started,
      });
      continue;
    }
    entries.push({ folder, key, state: 'unknown', bytes });
  }
  return entries;
}

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  let names: Dirent[];
  try {
    names = await readdir(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const item of names) {
    const path = join(folder, item.name);
    if (item.isDirectory()) total += await folderBytes(path);
    else
      total += await stat(path).then(
        (info) => info.size,
        () => 0,
      );
  }
  return total;
}
