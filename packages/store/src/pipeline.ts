import type { Embedder, Preprocessing, RawImage, Sample, Tensor } from '@medssl/spec';
import { createPreprocessPool, type PreprocessPool } from './preprocess-pool.js';
import { inOrder, wakeUp } from '@medssl/core';

/** Batches prepared ahead of inference unless told otherwise. */
export const DEFAULT_DEPTH = 3;

export interface PrepareBatchesOptions {
  /** `[channels, height, width]` of one prepared image: the input shape of the embedders it feeds. */
  readonly inputShape: readonly [channels: number, height: number, width: number];
  readonly preprocessing: Preprocessing;
  /** Samples in inference batches, in order; each batch holds 1 to `batchSize` samples. */
  readonly batches: AsyncIterable<readonly Sample[]> | Iterable<readonly Sample[]>;
  readonly batchSize: number;
  /** Preprocessing worker threads; default `defaultWorkerCount()`. */
  readonly workers?: number;
  /**
   * Batches being decoded and preprocessed while one is inferred; default 3. Bounds memory: at most
   * `depth * batchSize` decoded images and `depth` batch buffers exist at once.
   */
  readonly depth?: number;
  readonly signal?: AbortSignal;
  /**
   * A pool started beforehand for this preprocessing and the embedder's input, so that its workers start while
   * the caller loads the model. The pipeline takes it over (its `slots` are the depth) and closes it.
   */
  readonly pool?: PreprocessPool;
  /** Filled in as batches pass, for benchmarks and progress lines. */
  readonly stats?: PipelineStats;
}

export interface EmbedBatchesOptions extends Omit<PrepareBatchesOptions, 'inputShape'> {
  readonly embedder: Embedder;
}

/** Where the time went: inference, and inference waiting for its input (the pipeline's bubbles). */
export interface PipelineStats {
  batches: number;
  images: number;
  /** Seconds inside `embed` calls. */
  inferenceSeconds: number;
  /** Seconds the next batch was not ready when inference could have started (the first batch included). */
  waitSeconds: number;
  /** Of `waitSeconds`, those spent waiting for the first batch: starting the workers and filling the pipeline. */
  firstBatchSeconds: number;
}

export function createPipelineStats(): PipelineStats {
  return { batches: 0, images: 0, inferenceSeconds: 0, waitSeconds: 0, firstBatchSeconds: 0 };
}

export interface PreparedBatch {
  readonly samples: readonly Sample[];
  /** `[samples.length, channels, height, width]`; its buffer is reused: valid until the next batch is asked for. */
  readonly input: Tensor;
}

export interface EmbeddedBatch {
  readonly samples: readonly Sample[];
  /** `[samples.length, dimension]` row-major; the caller owns it. */
  readonly features: Float32Array;
}

/**
 * The streaming extraction pipeline: `prepareBatches`, each batch inferred by `embedder` as it comes.
 */
export async function* embedBatches(options: EmbedBatchesOptions): AsyncGenerator<EmbeddedBatch> {
  const { embedder, ...rest } = options;
  for await (const { samples, input } of prepareBatches({ ...rest, inputShape: embedder.inputShape })) {
    yield { samples, features: await embedPrepared(embedder, input, options.stats) };
  }
}

/**
 * Runs `embedder` on a prepared batch and checks what comes back: `[n, dimension]` features, which the caller
 * owns. Adds the time to `stats.inferenceSeconds`.
 *
 * `onnxruntime-node` runs inference on the calling thread and blocks it. Awaiting only settled promises never
 * lets the event loop run, so file reads that finished meanwhile would wait to be handed to the workers until
 * inference returns: one turn of the loop first passes them on, and the workers decode through the whole call.
 */
export async function embedPrepared(embedder: Embedder, input: Tensor, stats?: PipelineStats): Promise<Float32Array> {
  const count = input.shape[0]!;
  await new Promise((resolve) => setImmediate(resolve));
  const inferenceStart = performance.now();
  const output = await embedder.embed(input);
  if (stats) stats.inferenceSeconds += (performance.now() - inferenceStart) / 1000;
  if (output.shape[0] !== count || output.data.length !== count * embedder.dimension) {
    throw new Error(`${embedder.backboneId}: embedded ${count} images into shape [${output.shape.join(', ')}], expected [${count}, ${embedder.dimension}]`);
  }
  return output.data;
}

/**
 * Decodes and preprocesses batches of samples into network inputs, ahead of the caller. Image files
 * (samples with `encoded()`) are read here and decoded by worker threads; other samples are decoded here
 * through `sample.decode()` (HDF5 and npz reads). Workers preprocess straight into shared batch buffers, and
 * batches come out one by one, in order. Up to `depth` batches are in preparation while the caller infers
 * one, so inference never waits on decoding unless decoding is the slower stage; the source is read no
 * further ahead than that (back-pressure), so memory stays flat however long the split.
 *
 * Inference on the caller's thread may block it (onnxruntime-node does): work queued before a call (decodes
 * in libuv's pool, jobs in the workers' queues) goes on during it, which is why several batches are prepared
 * ahead. Errors surface at their batch, after the batches before it; leaving the loop early stops the workers.
 */
export async function* prepareBatches(options: PrepareBatchesOptions): AsyncGenerator<PreparedBatch> {
  const started = performance.now();
  const { inputShape, preprocessing, batchSize, signal } = options;
  const depth = options.pool?.slots ?? options.depth ?? DEFAULT_DEPTH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(depth) || depth < 1) throw new RangeError(`pipeline depth must be a positive integer, got ${depth}`);
  const [channels, height, width] = inputShape;
  const imageValues = channels * height * width;
  const stats = options.stats;
  const mismatch = options.pool && poolMismatch(options.pool, { inputShape }, preprocessing, batchSize);
  if (mismatch) {
    await options.pool!.close();
    throw new RangeError(`the preprocessing pool given does not fit this pipeline: ${mismatch}`);
  }
  const pool =
    options.pool ??
    createPreprocessPool({
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      preprocessing,
      slots: depth,
      slotImages: batchSize,
      imageValues,
      inputSize: [height, width],
    });

  const freeSlots = Array.from({ length: depth }, (_, slot) => slot);
  const slotFreed = wakeUp();
  const prepared: Promise<{ samples: readonly Sample[]; slot: number }>[] = [];
  const preparedChanged = wakeUp();
  let closed = false;
  let sourceDone = false;
  let sourceFailure: { error: unknown } | undefined;

  // Image files are decoded by the workers; other samples (HDF5 patches, npz rows) are decoded here. Reads run
  // concurrently but reach the workers in batch order: a worker takes its jobs first come, first served, and
  // reads finish in any order, so a batch could otherwise wait behind images of the batches after it (at the
  // start, the first batch behind the next two).
  const handOff = inOrder();
  const prepareBatch = async (samples: readonly Sample[], slot: number) => {
    const inputs = samples.map((sample): Promise<RawImage | Uint8Array> => (sample.encoded ? sample.encoded() : sample.decode()));
    const jobs = await handOff(inputs, (input, index) => {
      const sample = samples[index]!;
      const job = pool.preprocess(slot, index, input, sample.source ?? sample.id, sample.maxPixels);
      job.catch(() => undefined); // rethrown by Promise.all below
      return job;
    });
    await Promise.all(jobs);
    return { samples, slot };
  };

  const producer = (async () => {
    try {
      for await (const samples of options.batches) {
        if (closed) break;
        if (samples.length < 1 || samples.length > batchSize) throw new RangeError(`a batch holds 1 to ${batchSize} samples, got ${samples.length}`);
        while (freeSlots.length === 0 && !closed) await slotFreed.wait();
        if (closed) break;
        const batch = prepareBatch(samples, freeSlots.shift()!);
        batch.catch(() => undefined); // rethrown in order by the consumer
        prepared.push(batch);
        preparedChanged.notify();
      }
    } catch (error) {
      sourceFailure = { error };
    } finally {
      sourceDone = true;
      preparedChanged.notify();
    }
  })();

  const input = new Float32Array(batchSize * imageValues);
  try {
    while (true) {
      signal?.throwIfAborted();
      const next = prepared.shift();
      if (next === undefined) {
        if (!sourceDone) {
          const waitStart = performance.now();
          await preparedChanged.wait();
          if (stats) stats.waitSeconds += (performance.now() - waitStart) / 1000;
          continue;
        }
        if (sourceFailure) throw sourceFailure.error;
        return;
      }
      const waitStart = performance.now();
      // While the workers start, this thread, which would only wait, prepares images itself.
      let settled = false;
      next.then(
        () => (settled = true),
        () => (settled = true),
      );
      while (!settled && (await pool.helpOne(next)));
      const { samples, slot } = await next;
      if (stats) {
        stats.waitSeconds += (performance.now() - waitStart) / 1000;
        if (stats.batches === 0) stats.firstBatchSeconds = (performance.now() - started) / 1000;
      }
      const values = samples.length * imageValues;
      // onnxruntime refuses views of shared memory: the batch is copied out, and its slot refilled at once.
      input.set(pool.slotView(slot).subarray(0, values));
      freeSlots.push(slot);
      slotFreed.notify();
      if (stats) {
        stats.batches++;
        stats.images += samples.length;
      }
      yield { samples, input: { data: values === input.length ? input : input.subarray(0, values), shape: [samples.length, channels, height, width] } };
    }
  } finally {
    closed = true;
    slotFreed.notify();
    await pool.close();
    await producer;
  }
}

/**
 * Why a pool cannot serve a pipeline of this embedder, preprocessing and batch size (undefined when it can):
 * it must preprocess the same way into batches of the embedder's input.
 */
export function poolMismatch(
  pool: PreprocessPool,
  embedder: Pick<Embedder, 'inputShape'>,
  preprocessing: Preprocessing,
  batchSize: number,
): string | undefined {
  const [channels, height, width] = embedder.inputShape;
  const problems: string[] = [];
  if (JSON.stringify(pool.preprocessing) !== JSON.stringify(preprocessing))
    problems.push(`its preprocessing ${JSON.stringify(pool.preprocessing)} is not ${JSON.stringify(preprocessing)}`);
  if (pool.slotImages < batchSize) problems.push(`its batches hold ${pool.slotImages} images, the pipeline's ${batchSize}`);
  if (pool.imageValues !== channels * height * width) problems.push(`its images hold ${pool.imageValues} values, the embedder's ${channels * height * width}`);
  if (pool.inputSize?.join('x') !== `${height}x${width}`)
    problems.push(`it checks images against ${pool.inputSize?.join('x') ?? 'no size'}, the embedder takes ${height}x${width}`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}
