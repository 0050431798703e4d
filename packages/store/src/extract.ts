import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeEmbedding,
  type Backbone,
  type CanonicalWeights,
  type Dataset,
  type EmbeddingDefinition,
  type Embedder,
  type Preprocessing,
  type Runtime,
  type RuntimeOptions,
  type Sample,
  type SplitName,
  type TargetArray,
} from '@medssl/spec';
import { FEATURE_FILES, writeFeatureFolder } from './feature-files.js';
import { copyFileAtomic, syncDirectory } from '@medssl/arrays/node';
import { inputShapeFromPreprocessing, outputCount, validateFeatureRows } from '@medssl/core';
import { featureKey, featureKeyInputs, type FeatureKeyInputs } from './key.js';
import { DEFAULT_DEPTH, embedPrepared, poolMismatch, prepareBatches, type PipelineStats } from './pipeline.js';
import { createPreprocessPool, defaultWorkerCount, type PreprocessPool } from './preprocess-pool.js';
import { batchRanges, checkShard, chunksOf, shardRows, type Chunk, type RowRange, type ShardSpec } from './shards.js';
import {
  STORE_FORMAT,
  checkChunk,
  checkFeatureFolder,
  defaultFeatureStore,
  hasWork,
  idsDigest,
  readChunkData,
  readPlan,
  removeFeatureFiles,
  removeTemporaryFiles,
  storeEntryFolder,
  workFolder,
  writeChunk,
  writePlan,
  type ChunkRecord,
  type ExtractionPlan,
  type StoredFeatureManifest,
} from './store.js';

/**
 * What computes the features, described before anything is loaded: the store is looked up with these
 * fields, and `open()` runs only when features must be computed.
 */
export interface FeatureModel {
  readonly backboneId: string;
  /** What the embedding is: a backbone's kind and size (`pooled/2048`), or a model file's output name. */
  readonly embedding: string;
  readonly weightsSha256: string;
  readonly preprocessing: Preprocessing;
  readonly runtimeId: string;
  readonly precision: 'float32' | 'float16';
  open(): Promise<Embedder>;
}

/** Weights known by their hash, loaded only if features must be computed. */
export interface LazyWeights {
  readonly sha256: string;
  load(): Promise<CanonicalWeights>;
}

/** A backbone of a method package on a runtime, as a `FeatureModel`. */
export function backboneModel(fields: {
  readonly backbone: Backbone;
  readonly weights: CanonicalWeights | LazyWeights;
  readonly runtime: Runtime;
  readonly runtimeOptions?: RuntimeOptions;
  /** Replaces the backbone's own preprocessing (another resize or crop). */
  readonly preprocessing?: Preprocessing;
  /** What the runtime computes in; default float32. Checked against the embedder it makes. */
  readonly precision?: 'float32' | 'float16';
}): FeatureModel {
  const preprocessing = fields.preprocessing ?? fields.backbone.preprocessing;
  const backbone: Backbone = { ...fields.backbone, preprocessing };
  return {
    backboneId: backbone.id,
    embedding: embeddingLabel(backbone.embedding),
    weightsSha256: fields.weights.sha256,
    preprocessing,
    runtimeId: fields.runtime.id,
    precision: fields.precision ?? 'float32',
    async open() {
      const weights = 'load' in fields.weights ? await fields.weights.load() : fields.weights;
      if (weights.sha256 !== fields.weights.sha256) {
        throw new Error(`${backbone.id}: the weights loaded have SHA-256 ${weights.sha256}, expected ${fields.weights.sha256}`);
      }
      return fields.runtime.createEmbedder(backbone, weights, fields.runtimeOptions ?? {});
    },
  };
}

/**
 * The embedding part of a feature key: its short name and width (`cls-last-4/1536`), or a model file's
 * output name alone (`output:embedding`), whose width the key need not repeat.
 */
export function embeddingLabel(embedding: EmbeddingDefinition): string {
  return embedding.kind === 'output' ? describeEmbedding(embedding) : `${describeEmbedding(embedding)}/${embedding.dimension}`;
}

/** What an extraction reports as it goes; the CLI turns these into lines and a progress bar. */
export type ExtractionEvent =
  | { readonly type: 'reused'; readonly folder: string; readonly key: string; readonly count: number; readonly dimension: number; readonly created: string }
  | { readonly type: 'stored-damaged'; readonly folder: string; readonly problems: readonly string[] }
  | {
      readonly type: 'resuming';
      readonly folder: string;
      readonly chunksDone: number;
      readonly chunksTotal: number;
      readonly rowsDone: number;
      readonly rowsTotal: number;
    }
  | { readonly type: 'chunk-invalid'; readonly chunk: number; readonly rows: RowRange; readonly reason: string }
  | {
      readonly type: 'started';
      readonly folder: string;
      readonly key: string;
      readonly rowsToCompute: number;
      readonly rowsTotal: number;
      readonly provider: string;
      readonly workers: number;
      /** One image's inference time on this embedder, measured before the run (after a warm-up call), in seconds. */
      readonly secondsPerImage?: number;
    }
  | { readonly type: 'progress'; readonly rowsDone: number; readonly rowsTotal: number; readonly rowsComputed: number }
  | { readonly type: 'chunk-written'; readonly chunk: number; readonly rows: RowRange }
  | { readonly type: 'completed'; readonly folder: string; readonly count: number; readonly dimension: number };

export interface ExtractFeaturesOptions {
  readonly dataset: Dataset;
  readonly split: SplitName;
  /** A `FeatureModel`, or a backbone with its weights on a runtime (made into one by `backboneModel`). */
  readonly model: FeatureModel | Parameters<typeof backboneModel>[0];
  /** Feature store folder; default `defaultFeatureStore()` (`$MEDSSL_STORE` or `~/.cache/medssl/features`). */
  readonly store?: string;
  /** Also copy the finished feature set into this folder. */
  readonly out?: string;
  /** Only the first `limit` rows of the split. */
  readonly limit?: number;
  /** Only this shard of the rows (`{ index: 2, count: 8 }`). */
  readonly shard?: ShardSpec;
  /** Rows per durable chunk; default 1024. Shards and resumed runs must use the same value. */
  readonly chunkRows?: number;
  /** Images per inference call; default 16. */
  readonly batchSize?: number;
  /** Preprocessing worker threads; default `defaultWorkerCount()`. */
  readonly workers?: number;
  /** Batches prepared ahead of inference; default 3. */
  readonly depth?: number;
  /**
   * What to do with an interrupted extraction of the same key: `'resume'` (default) keeps its verified
   * chunks, `'restart'` discards it, `'refuse'` throws `InterruptedExtractionError`.
   */
  readonly interrupted?: 'resume' | 'restart' | 'refuse';
  readonly onEvent?: (event: ExtractionEvent) => void;
  readonly stats?: PipelineStats;
  readonly signal?: AbortSignal;
}

export interface ExtractionResult {
  /** The feature-set folder in the store (`<store>/<key>`). */
  readonly folder: string;
  /** Where `out` asked for a copy, else the store folder. */
  readonly outFolder: string;
  readonly key: string;
  readonly keyInputs: FeatureKeyInputs;
  /** True when the stored features were reused and nothing was computed. */
  readonly reused: boolean;
  readonly rows: RowRange;
  /** Rows embedded by this call (0 when reused; less than all when resumed). */
  readonly rowsComputed: number;
  readonly manifest: StoredFeatureManifest;
}

/** An extraction of the same key was interrupted and `interrupted: 'refuse'` was asked. */
export class InterruptedExtractionError extends Error {
  override readonly name = 'InterruptedExtractionError';
  constructor(
    readonly folder: string,
    readonly chunksDone: number,
    readonly chunksTotal: number,
  ) {
    super(`an interrupted extraction of the same features is in ${folder} (${chunksDone} of ${chunksTotal} chunks durable)`);
  }
}

const DEFAULT_CHUNK_ROWS = 1024;
const DEFAULT_BATCH_SIZE = 16;

function isFeatureModel(model: ExtractFeaturesOptions['model']): model is FeatureModel {
  return typeof (model as FeatureModel).open === 'function';
}

/**
 * Embeds one split of a dataset into the feature store, or reuses what is stored under the same key, and
 * returns the feature-set folder. The key covers the dataset id and version, split, rows, backbone and its
 * embedding, weights SHA-256, every preprocessing field, runtime and precision: change any and the features
 * are computed anew. Work is saved in durable chunks; a run killed at any moment continues from the last
 * durable chunk, and the finished `features.npy` is the same, byte for byte, as that of an uninterrupted run.
 */
export async function extractFeatures(options: ExtractFeaturesOptions): Promise<ExtractionResult> {
  const { model, out, onEvent, ...rest } = options;
  const [result] = await extractFeatureSets({ ...rest, models: [model], ...(onEvent ? { onEvent: (event) => onEvent(event) } : {}) });
  if (out === undefined) return result!;
  await copyFeatureSet(result!.folder, out);
  return { ...result!, outFolder: out };
}

export interface ExtractFeatureSetsOptions extends Omit<ExtractFeaturesOptions, 'model' | 'out' | 'onEvent'> {
  /** Models that preprocess alike (several backbones of one architecture, often): each gets its own feature set. */
  readonly models: readonly ExtractFeaturesOptions['model'][];
  /** Each event with the position in `models` of the model it concerns. */
  readonly onEvent?: (event: ExtractionEvent, model: number) => void;
}

/**
 * `extractFeatures` for several models in one pass over the split: each image is read, decoded and
 * preprocessed once, and every model whose features are not stored yet embeds it. The models must preprocess
 * alike. Each model's feature set is keyed, stored, reused and resumed on its own, exactly as `extractFeatures`
 * would; the results come in the order of `models`.
 */
export async function extractFeatureSets(options: ExtractFeatureSetsOptions): Promise<ExtractionResult[]> {
  const { dataset, split, signal } = options;
  const models = options.models.map((model) => (isFeatureModel(model) ? model : backboneModel(model)));
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const workers = options.workers ?? defaultWorkerCount();
  for (const [name, value] of [
    ['chunkRows', chunkRows],
    ['batchSize', batchSize],
    ['workers', workers],
    ['depth', options.depth ?? DEFAULT_DEPTH],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`extractFeatures: ${name} must be a positive integer, got ${value}`);
  }
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) {
    throw new RangeError(`extractFeatures: limit must be a positive integer, got ${options.limit}`);
  }
  if (models.length === 0) throw new RangeError('extractFeatureSets: no models given');
  for (const model of models.slice(1)) {
    if (JSON.stringify(model.preprocessing) !== JSON.stringify(models[0]!.preprocessing)) {
      throw new RangeError(
        `extractFeatureSets: ${model.backboneId} preprocesses as ${JSON.stringify(model.preprocessing)}, ${models[0]!.backboneId} as ${JSON.stringify(models[0]!.preprocessing)}; ` +
          'models that preprocess differently are extracted apart',
      );
    }
  }
  if (options.shard) checkShard(options.shard);
  if (!dataset.splits.includes(split)) throw new RangeError(`${dataset.id} has no split "${split}"; its splits are ${dataset.splits.join(', ')}`);

  const splitSize = await dataset.size(split);
  const whole: RowRange = { start: 0, end: Math.min(splitSize, options.limit ?? splitSize) };
  const rows = options.shard ? shardRows(whole, options.shard, chunkRows) : whole;
  const chunks = chunksOf(rows, chunkRows);
  const store = options.store ?? defaultFeatureStore();
  const entries: Entry[] = [];
  for (const [position, model] of models.entries()) {
    const emit = (event: ExtractionEvent) => options.onEvent?.(event, position);
    const entry = await openEntry({ model, position, emit, dataset, split, rows, chunks, chunkRows, store, interrupted: options.interrupted ?? 'resume' });
    const twin = entries.find((other) => other.key === entry.key);
    if (twin)
      throw new RangeError(`extractFeatureSets: ${model.backboneId} (model ${position}) makes the same features as model ${twin.position}: ${entry.folder}`);
    entries.push(entry);
  }
  const results = (entry: Entry, rowsComputed: number): ExtractionResult => ({
    folder: entry.folder,
    outFolder: entry.folder,
    key: entry.key,
    keyInputs: entry.keyInputs,
    reused: entry.reused !== undefined,
    rows,
    rowsComputed,
    manifest: entry.reused ?? entry.manifest!,
  });
  const computing = entries.filter((entry) => entry.reused === undefined);
  if (computing.length === 0) return entries.map((entry) => results(entry, 0));

  // Ids and targets of every row, without decoding: they go into the sets, and tell whether a done chunk
  // still holds the rows the dataset yields now.
  const gathered = await gatherRows(dataset, split, rows, chunks, signal);
  for (const entry of computing) {
    for (const [index, record] of entry.done) {
      if (record.idsSha256 !== gathered.chunkDigests.get(index)) {
        const chunk = chunks.find((candidate) => candidate.index === index)!;
        entry.emit({
          type: 'chunk-invalid',
          chunk: index,
          rows: { start: chunk.start, end: chunk.end },
          reason: `the dataset's ids for rows ${chunk.start}..${chunk.end - 1} differ from those it was computed for`,
        });
        entry.done.delete(index);
      }
    }
  }
  // Every chunk that some model still lacks; each model embeds only the chunks it lacks.
  const pending = chunks.filter((chunk) => computing.some((entry) => !entry.done.has(chunk.index)));

  // The workers start while the models load (building and optimising a graph takes a while), so that the
  // first batch does not wait for them too.
  let pool = pending.length > 0 ? startPool(models[0]!, { workers, batchSize, ...(options.depth !== undefined ? { depth: options.depth } : {}) }) : undefined;
  try {
    for (const entry of computing) {
      // An empty range still needs the dimension for its [0, D] features: the embedder is opened for it.
      const lacking = chunks.some((chunk) => !entry.done.has(chunk.index));
      if (!lacking && entry.dimension !== undefined) continue;
      const embedder = await entry.model.open();
      entry.embedder = embedder;
      const { model } = entry;
      if (embedder.runtimeId !== model.runtimeId || embedder.precision !== model.precision) {
        throw new Error(
          `${model.backboneId}: the embedder runs on ${embedder.runtimeId} in ${embedder.precision}, but its features would be stored as ${model.runtimeId} in ${model.precision}`,
        );
      }
      if (entry.dimension !== undefined && entry.dimension !== embedder.dimension) {
        throw new Error(
          `${model.backboneId}: the interrupted extraction in ${workFolder(entry.folder)} stored ${entry.dimension}-d features, this embedder makes ${embedder.dimension}-d`,
        );
      }
      const first = computing.find((other) => other.embedder)!.embedder!;
      if (embedder.inputShape.join('x') !== first.inputShape.join('x')) {
        throw new Error(
          `${model.backboneId} takes input [${embedder.inputShape.join(', ')}], ${first.backboneId} [${first.inputShape.join(', ')}]; models embedded together take the same input`,
        );
      }
      entry.dimension = embedder.dimension;
      // A model whose input is not the size its preprocessing gives (a model file's own shape) gets the pipeline's pool.
      if (pool && poolMismatch(pool, embedder, model.preprocessing, batchSize)) {
        await pool.close();
        pool = undefined;
      }
      if (!entry.resumable) {
        await mkdir(entry.folder, { recursive: true });
        await writePlan(entry.folder, {
          format: STORE_FORMAT,
          key: entry.key,
          keyInputs: entry.keyInputs,
          chunkRows,
          dimension: embedder.dimension,
          started: new Date().toISOString(),
        });
      }
    }
    const rowsComputed = new Map(
      computing.map((entry) => [entry, chunks.filter((chunk) => !entry.done.has(chunk.index)).reduce((sum, chunk) => sum + chunk.end - chunk.start, 0)]),
    );
    if (pending.length > 0) {
      await computeChunks({
        dataset,
        split,
        pending,
        entries: computing.filter((entry) => entry.embedder),
        digests: gathered.chunkDigests,
        batchSize,
        workers,
        ...(pool ? { pool } : {}),
        rowsTotal: rows.end - rows.start,
        ...(options.depth !== undefined ? { depth: options.depth } : {}),
        ...(options.stats ? { stats: options.stats } : {}),
        ...(signal ? { signal } : {}),
      });
    }
    for (const entry of computing) {
      entry.manifest = await assemble({
        folder: entry.folder,
        key: entry.key,
        keyInputs: entry.keyInputs,
        dataset,
        split,
        rows,
        splitSize,
        chunks,
        records: entry.done,
        ids: gathered.ids,
        targets: gathered.targets,
        dimension: entry.dimension!,
        model: entry.model,
        chunkRows,
        batchSize,
        workers,
        ...(options.shard && options.shard.count > 1 ? { shard: { ...options.shard, of: whole } } : {}),
      });
      entry.emit({ type: 'completed', folder: entry.folder, count: entry.manifest.count, dimension: entry.manifest.dimension });
    }
    return entries.map((entry) => results(entry, rowsComputed.get(entry) ?? 0));
  } finally {
    // The pipeline closes the pool it was given; this closes it where the run stopped before.
    await pool?.close();
    for (const entry of computing) await entry.embedder?.dispose();
  }
}

/** One model's feature set in the store, as an extraction finds it and fills it. */
interface Entry {
  readonly model: FeatureModel;
  /** Its position among the models asked for. */
  readonly position: number;
  readonly emit: (event: ExtractionEvent) => void;
  readonly key: string;
  readonly keyInputs: FeatureKeyInputs;
  readonly folder: string;
  /** The stored manifest when the set is complete and intact: nothing to compute. */
  readonly reused?: StoredFeatureManifest;
  /** The plan of an interrupted extraction of the same key, resumed. */
  readonly resumable?: ExtractionPlan;
  /** Durable chunks, by index: those found, then those written. */
  readonly done: Map<number, ChunkRecord>;
  dimension?: number;
  embedder?: Embedder;
  manifest?: StoredFeatureManifest;
}

/**
 * Looks up a model's feature set: reused when complete and intact; otherwise damaged files are removed, and an
 * interrupted extraction of the same key is resumed (its verified chunks kept), restarted or refused.
 */
async function openEntry(fields: {
  model: FeatureModel;
  position: number;
  emit: (event: ExtractionEvent) => void;
  dataset: Dataset;
  split: SplitName;
  rows: RowRange;
  chunks: readonly Chunk[];
  chunkRows: number;
  store: string;
  interrupted: 'resume' | 'restart' | 'refuse';
}): Promise<Entry> {
  const { model, emit, dataset, rows, chunks, chunkRows, interrupted } = fields;
  const keyInputs = featureKeyInputs({
    dataset: { id: dataset.id, version: dataset.version },
    split: fields.split,
    rows,
    backbone: { id: model.backboneId, embedding: model.embedding },
    weightsSha256: model.weightsSha256,
    preprocessing: model.preprocessing,
    runtime: { id: model.runtimeId, precision: model.precision },
  });
  const key = await featureKey(keyInputs);
  const folder = storeEntryFolder(fields.store, key);
  const entry = { model, position: fields.position, emit, key, keyInputs, folder };

  const stored = await checkFeatureFolder(folder, key);
  if (stored.manifest && stored.problems.length === 0) {
    // A run killed while removing its chunks, after its manifest was durable, leaves them behind.
    if (await hasWork(folder)) await rm(workFolder(folder), { recursive: true, force: true });
    emit({ type: 'reused', folder, key, count: stored.manifest.count, dimension: stored.manifest.dimension, created: stored.manifest.created });
    return { ...entry, reused: stored.manifest, done: new Map() };
  }
  if (stored.manifest) {
    emit({ type: 'stored-damaged', folder, problems: stored.problems });
    await removeFeatureFiles(folder);
  }

  const plan = await readPlan(folder);
  if (plan && (plan.key !== key || plan.chunkRows !== chunkRows || interrupted === 'restart')) {
    if (plan.key === key && plan.chunkRows !== chunkRows && interrupted !== 'restart') {
      throw new RangeError(
        `${workFolder(folder)}: the interrupted extraction cut its rows into chunks of ${plan.chunkRows}, this one asks for ${chunkRows}; resume with the same chunk size or restart it`,
      );
    }
    await rm(workFolder(folder), { recursive: true, force: true });
  } else if (!plan && (await hasWork(folder))) {
    await rm(workFolder(folder), { recursive: true, force: true });
  }
  const resumable = plan && plan.key === key && plan.chunkRows === chunkRows && interrupted !== 'restart' ? plan : undefined;

  const done = new Map<number, ChunkRecord>();
  if (resumable) {
    const invalid: Extract<ExtractionEvent, { type: 'chunk-invalid' }>[] = [];
    for (const chunk of chunks) {
      const state = await checkChunk(folder, key, chunk, resumable.dimension);
      if (state.done) done.set(chunk.index, state.record);
      else if (state.reason) invalid.push({ type: 'chunk-invalid', chunk: chunk.index, rows: { start: chunk.start, end: chunk.end }, reason: state.reason });
    }
    if (interrupted === 'refuse') throw new InterruptedExtractionError(workFolder(folder), done.size, chunks.length);
    for (const event of invalid) emit(event);
    await removeTemporaryFiles(folder);
    const rowsDone = chunks.filter((chunk) => done.has(chunk.index)).reduce((sum, chunk) => sum + chunk.end - chunk.start, 0);
    emit({ type: 'resuming', folder, chunksDone: done.size, chunksTotal: chunks.length, rowsDone, rowsTotal: rows.end - rows.start });
    return { ...entry, resumable, done, dimension: resumable.dimension };
  }
  return { ...entry, done };
}

/**
 * A preprocessing pool for the model's input, where its preprocessing fixes the input size (the embedder's
 * input shape comes from it); otherwise the pipeline starts one once the embedder is open.
 */
function startPool(model: FeatureModel, settings: { workers: number; batchSize: number; depth?: number }): PreprocessPool | undefined {
  let shape: [number, number, number];
  try {
    shape = inputShapeFromPreprocessing(model.preprocessing, model.backboneId);
  } catch {
    return undefined;
  }
  const [channels, height, width] = shape;
  return createPreprocessPool({
    workers: settings.workers,
    preprocessing: model.preprocessing,
    slots: settings.depth ?? DEFAULT_DEPTH,
    slotImages: settings.batchSize,
    imageValues: channels * height * width,
    inputSize: [height, width],
  });
}

/** Ids and targets of rows `[start, end)` in order, and a digest of the ids of each chunk; no image is decoded. */
async function gatherRows(
  dataset: Dataset,
  split: SplitName,
  rows: RowRange,
  chunks: readonly Chunk[],
  signal: AbortSignal | undefined,
): Promise<{ ids: string[]; targets: TargetArray; chunkDigests: Map<number, string> }> {
  const count = rows.end - rows.start;
  const labels = dataset.task.type === 'multilabel' ? outputCount(dataset.task) : 0;
  const classTargets = new Int32Array(labels ? 0 : count);
  const labelTargets = new Uint8Array(count * labels);
  const ids: string[] = [];
  for await (const sample of dataset.samples(split, { start: rows.start, end: rows.end, ...(signal ? { signal } : {}) })) {
    const row = ids.length;
    const name = sample.source ?? sample.id;
    if (typeof sample.target === 'number') {
      if (labels) throw new TypeError(`${name}: a class target in a multilabel task`);
      classTargets[row] = sample.target;
    } else {
      if (!labels || sample.target.length !== labels) throw new TypeError(`${name}: ${sample.target.length} label flags, the task has ${labels || 'none'}`);
      labelTargets.set(sample.target, row * labels);
    }
    ids.push(sample.id);
  }
  if (ids.length !== count) throw new Error(`${dataset.id}/${split}: yielded ${ids.length} samples for rows ${rows.start}..${rows.end - 1}, expected ${count}`);
  const chunkDigests = new Map(chunks.map((chunk) => [chunk.index, idsDigest(ids.slice(chunk.start - rows.start, chunk.end - rows.start))]));
  const targets: TargetArray = labels ? { type: 'labels', data: labelTargets, shape: [count, labels] } : { type: 'class', data: classTargets, shape: [count] };
  return { ids, targets, chunkDigests };
}

interface ComputeChunksFields {
  readonly dataset: Dataset;
  readonly split: SplitName;
  /** The chunks some model lacks, in order. */
  readonly pending: readonly Chunk[];
  /** The models to embed with, their embedders open; each chunk made durable is added to its `done`. */
  readonly entries: readonly Entry[];
  readonly digests: ReadonlyMap<number, string>;
  readonly rowsTotal: number;
  readonly batchSize: number;
  readonly workers: number;
  readonly depth?: number;
  /** Started while the models loaded; the pipeline takes it over. */
  readonly pool?: PreprocessPool;
  readonly stats?: PipelineStats;
  readonly signal?: AbortSignal;
}

type ChunkBatch = Sample[] & { chunk?: Chunk };

/**
 * Prepares the pending chunks through the pipeline, batches starting at each chunk's first row; each model
 * that lacks a chunk embeds its batches, and makes it durable in the background while inference goes on (at
 * most two writes in flight per model). A run that stops early still waits for the writes already begun, so
 * what it reports as written is on disk.
 */
async function computeChunks(fields: ComputeChunksFields): Promise<void> {
  const { dataset, split, pending, entries, batchSize } = fields;
  const first = entries[0]!.embedder!;

  async function* batches(): AsyncGenerator<ChunkBatch> {
    for (const chunk of pending) {
      const samples: Sample[] = [];
      for await (const sample of dataset.samples(split, { start: chunk.start, end: chunk.end, ...(fields.signal ? { signal: fields.signal } : {}) }))
        samples.push(sample);
      if (idsDigest(samples.map((sample) => sample.id)) !== fields.digests.get(chunk.index)) {
        throw new Error(
          `${dataset.id}/${split}: rows ${chunk.start}..${chunk.end - 1} changed between two reads (other ids); a dataset must yield the same rows every time`,
        );
      }
      for (const range of batchRanges(chunk, batchSize)) {
        const batch: ChunkBatch = samples.slice(range.start - chunk.start, range.end - chunk.start);
        batch.chunk = chunk;
        yield batch;
      }
    }
  }

  // Writes in flight, each with the model it writes for.
  const writes = new Map<Promise<void>, Entry>();
  let writeFailure: { error: unknown } | undefined;
  const writeInBackground = async (entry: Entry, chunk: Chunk, features: Float32Array, chunkIds: string[]) => {
    const embedder = entry.embedder!;
    while ([...writes.values()].filter((writer) => writer === entry).length >= 2) await Promise.race(writes.keys());
    const write = writeChunk(entry.folder, {
      key: entry.key,
      chunk: chunk.index,
      rows: chunk,
      features,
      dimension: embedder.dimension,
      ids: chunkIds,
      provider: embedder.provider,
      batchSize,
    }).then(
      (record) => {
        entry.done.set(chunk.index, record);
        entry.emit({ type: 'chunk-written', chunk: chunk.index, rows: { start: chunk.start, end: chunk.end } });
      },
      (error: unknown) => {
        writeFailure ??= { error };
      },
    );
    const tracked = write.finally(() => writes.delete(tracked));
    writes.set(tracked, entry);
  };

  // What each model computes: the chunks it lacks (fixed now: chunks it writes meanwhile join its `done`).
  const lacking = new Map(entries.map((entry) => [entry, new Set(pending.filter((chunk) => !entry.done.has(chunk.index)))]));
  // Each model's time per image, so the run's cost is said before it starts (a 518-pixel ViT costs 5x a 224 one).
  const timings = new Map<Entry, number>();
  for (const entry of entries) if (lacking.get(entry)!.size > 0) timings.set(entry, await secondsPerImage(entry.embedder!));
  const progress = new Map(
    entries.map((entry) => {
      const rowsToCompute = [...lacking.get(entry)!].reduce((sum, chunk) => sum + chunk.end - chunk.start, 0);
      const timing = timings.get(entry);
      entry.emit({
        type: 'started',
        folder: entry.folder,
        key: entry.key,
        rowsToCompute,
        rowsTotal: fields.rowsTotal,
        provider: entry.embedder!.provider,
        workers: fields.workers,
        ...(timing !== undefined ? { secondsPerImage: timing } : {}),
      });
      return [
        entry,
        {
          rowsDoneBefore: fields.rowsTotal - rowsToCompute,
          rowsComputed: 0,
          current: undefined as { chunk: Chunk; features: Float32Array; filled: number; ids: string[] } | undefined,
        },
      ];
    }),
  );
  try {
    for await (const { samples, input } of prepareBatches({
      inputShape: first.inputShape,
      preprocessing: entries[0]!.model.preprocessing,
      batches: batches(),
      batchSize,
      workers: fields.workers,
      ...(fields.depth !== undefined ? { depth: fields.depth } : {}),
      ...(fields.pool ? { pool: fields.pool } : {}),
      ...(fields.signal ? { signal: fields.signal } : {}),
      ...(fields.stats ? { stats: fields.stats } : {}),
    })) {
      const chunk = (samples as ChunkBatch).chunk!;
      for (const entry of entries) {
        if (!lacking.get(entry)!.has(chunk)) continue;
        if (writeFailure) throw writeFailure.error;
        const features = await embedPrepared(entry.embedder!, input, fields.stats);
        const state = progress.get(entry)!;
        const dimension = entry.embedder!.dimension;
        if (state.current?.chunk !== chunk) state.current = { chunk, features: new Float32Array((chunk.end - chunk.start) * dimension), filled: 0, ids: [] };
        const current = state.current;
        current.features.set(features, current.filled * dimension);
        current.filled += samples.length;
        for (const sample of samples) current.ids.push(sample.id);
        state.rowsComputed += samples.length;
        entry.emit({ type: 'progress', rowsDone: state.rowsDoneBefore + state.rowsComputed, rowsTotal: fields.rowsTotal, rowsComputed: state.rowsComputed });
        if (current.filled === chunk.end - chunk.start) {
          await writeInBackground(entry, chunk, current.features, current.ids);
          state.current = undefined;
        }
      }
    }
  } finally {
    // A run that stops (an error, an abort) still lets the chunks already handed over become durable.
    await Promise.allSettled(writes.keys());
  }
  if (writeFailure) throw writeFailure.error;
}

/** One image through an embedder, timed on a second call: the first pays for allocations and warms caches. */
async function secondsPerImage(embedder: Embedder): Promise<number> {
  const [channels, height, width] = embedder.inputShape;
  const input = { data: new Float32Array(channels * height * width), shape: [1, channels, height, width] };
  await embedder.embed(input);
  const started = performance.now();
  await embedder.embed(input);
  return (performance.now() - started) / 1000;
}

interface AssembleFields {
  readonly folder: string;
  readonly key: string;
  readonly keyInputs: FeatureKeyInputs;
  readonly dataset: Dataset;
  readonly split: SplitName;
  readonly rows: RowRange;
  readonly splitSize: number;
  readonly chunks: readonly Chunk[];
  readonly records: ReadonlyMap<number, ChunkRecord>;
  readonly ids: readonly string[];
  readonly targets: TargetArray;
  readonly dimension: number;
  readonly model: FeatureModel;
  readonly chunkRows: number;
  readonly batchSize: number;
  readonly workers: number;
  readonly shard?: ShardSpec & { of: RowRange };
}

/**
 * Joins the chunks into the feature-set folder: `features.npy` streamed chunk by chunk (each re-checked
 * against its record as it is read), `targets.npy`, `ids.json`, then `manifest.json` with every file's
 * checksum, written last. The chunks are removed only after the manifest is durable.
 */
async function assemble(fields: AssembleFields): Promise<StoredFeatureManifest> {
  const { folder, chunks, records, dimension, rows } = fields;
  const count = rows.end - rows.start;
  for (const chunk of chunks) {
    if (!records.has(chunk.index)) throw new Error(`internal: chunk ${chunk.index} (rows ${chunk.start}..${chunk.end - 1}) has no durable record`);
  }
  const description = {
    format: 'medssl.features/v1' as const,
    dataset: { id: fields.dataset.id, version: fields.dataset.version },
    task: fields.dataset.task,
    split: fields.split,
    backbone: fields.model.backboneId,
    weightsSha256: fields.model.weightsSha256,
    preprocessing: fields.model.preprocessing,
    runtime: {
      id: fields.model.runtimeId,
      provider: [...new Set(chunks.map((chunk) => records.get(chunk.index)!.provider))].join('+') || 'none',
      precision: fields.model.precision,
    },
    count,
    dimension,
  };
  // Checked before anything is written: a split with repeated ids must not leave a half-made set behind.
  validateFeatureRows(
    { manifest: { ...description, created: '' }, targets: fields.targets, ids: fields.ids, shape: [count, dimension] },
    `${fields.dataset.id}/${fields.split}`,
  );
  let manifest: StoredFeatureManifest | undefined;
  await writeFeatureFolder(folder, {
    rows: count,
    dimension,
    features: (async function* () {
      for (const chunk of chunks) yield await readChunkData(folder, records.get(chunk.index)!);
    })(),
    targets: fields.targets,
    ids: fields.ids,
    manifest: (files) =>
      (manifest = {
        ...description,
        created: new Date().toISOString(),
        key: fields.key,
        keyInputs: fields.keyInputs,
        rows: { start: rows.start, end: rows.end, splitSize: fields.splitSize },
        ...(fields.shard ? { shard: fields.shard } : {}),
        chunkRows: fields.chunkRows,
        files,
        extraction: { batchSize: fields.batchSize, workers: fields.workers },
      }),
  });
  await rm(workFolder(folder), { recursive: true, force: true });
  await syncDirectory(folder);
  return manifest!;
}

/**
 * Copies a finished feature set to `out`: data files first, the manifest last, each atomically. A copy
 * already there with the same key and intact checksums is left as it is.
 */
export async function copyFeatureSet(folder: string, out: string): Promise<void> {
  const source = await checkFeatureFolder(folder);
  if (source.manifest && source.problems.length === 0) {
    const existing = await checkFeatureFolder(out, source.manifest.key);
    if (existing.manifest && existing.problems.length === 0 && existing.manifest.files['features.npy'].sha256 === source.manifest.files['features.npy'].sha256)
      return;
  }
  await mkdir(out, { recursive: true });
  for (const name of [FEATURE_FILES.features, FEATURE_FILES.targets, FEATURE_FILES.ids, FEATURE_FILES.manifest]) {
    await copyFileAtomic(join(folder, name), join(out, name));
  }
}
