import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Preprocessing, RawImage } from '@medssl/spec';
import { validatePreprocessing, wakeUp } from '@medssl/core';
import { runPreprocessJob, type PreprocessJob, type PreprocessReply, type PreprocessWorkerData } from './preprocess-job.js';

export interface PreprocessPoolOptions {
  /** Worker threads; default `defaultWorkerCount()`. */
  readonly workers?: number;
  readonly preprocessing: Preprocessing;
  /** Batch buffers shared with the workers. */
  readonly slots: number;
  /** Images per slot. */
  readonly slotImages: number;
  /** Float32 values of one preprocessed image (3 * H * W). */
  readonly imageValues: number;
  /** When given, an image that does not preprocess to `[height, width]` is an error naming it. */
  readonly inputSize?: readonly [height: number, width: number];
}

/**
 * Worker threads that preprocess images into shared batch buffers (`SharedArrayBuffer`s), so the
 * thread that runs inference only copies a finished batch out. Jobs go to the worker with the fewest
 * outstanding; results of a job are in `slotView(slot)` once its promise resolves.
 */
export interface PreprocessPool {
  readonly workers: number;
  /** What the pool was made with: a pipeline given a pool checks that it fits its batches. */
  readonly preprocessing: Preprocessing;
  readonly slots: number;
  readonly slotImages: number;
  readonly imageValues: number;
  readonly inputSize?: readonly [height: number, width: number];
  /**
   * Preprocesses `image` into image position `index` of batch slot `slot`; `name` names it in errors. Given an
   * image file's bytes (a sample's `encoded()`) instead of pixels, the worker decodes them first.
   */
  preprocess(slot: number, index: number, image: RawImage | Uint8Array, name: string, maxPixels?: number): Promise<void>;
  /**
   * Runs one job that waits for a worker to start, here on the calling thread, and returns true. A thread that
   * would otherwise wait does the first images while the workers start (loading their modules, and sharp,
   * takes a few hundred milliseconds). With no job waiting it waits for one; it returns false once a worker
   * has started (jobs then go to the workers only), the pool has failed, or `until` has settled.
   */
  helpOne(until?: Promise<unknown>): Promise<boolean>;
  /** The shared buffer of a slot, `slotImages * imageValues` floats. */
  slotView(slot: number): Float32Array;
  /** Stops the workers; outstanding jobs reject. */
  close(): Promise<void>;
}

/**
 * Preprocessing workers by default: a quarter of the cores (at least one, at most eight). For a 1024x1024 grey
 * PNG, decoding and preprocessing cost about a fifth of ResNet-50's inference per image, so inference keeps
 * most cores; JPEG and the other formats sharp decodes run in libuv's thread pool, beside both.
 */
export function defaultWorkerCount(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, Math.floor(cores / 4)));
}

/**
 * How a worker's entry is started. Built code (`dist/*.js`) starts `preprocess-worker.js` beside this module.
 * Run from TypeScript source (the `@medssl/source` condition: tests, `pnpm medssl`), the entry is a `.ts`
 * file that Node cannot load alone, so a small bootstrap registers tsx's loader in the new thread first.
 */
function workerStart(): { entry: URL | string; eval: boolean; loader?: string } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { entry: new URL('./preprocess-worker.js', here), eval: false };
  const entry = new URL('./preprocess-worker.ts', here).href;
  let loader: string;
  try {
    // tsx publishes its module-hook API as `tsx/esm/api`; require.resolve gives the CommonJS build beside the ESM one.
    loader = createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs');
  } catch (error) {
    throw new Error(
      `@medssl/store runs from its TypeScript source here (${here}); its worker threads then need tsx to load ${entry}, ` +
        `and tsx cannot be found (${(error as Error).message.split('\n')[0]}). Install tsx, or use the built package.`,
    );
  }
  if (!existsSync(loader)) throw new Error(`tsx's ESM API is not at ${loader}; cannot start ${entry} from TypeScript source`);
  return { entry, eval: true, loader: pathToFileURL(loader).href };
}

const SOURCE_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.loader)
  .then((api) => { api.register(); return import(workerData.entry); })
  .catch((error) => { setImmediate(() => { throw error; }); });
`;

export function createPreprocessPool(options: PreprocessPoolOptions): PreprocessPool {
  validatePreprocessing(options.preprocessing);
  const count = options.workers ?? defaultWorkerCount();
  for (const [name, value] of [
    ['workers', count],
    ['slots', options.slots],
    ['slotImages', options.slotImages],
    ['imageValues', options.imageValues],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`preprocess pool: ${name} must be a positive integer, got ${value}`);
  }
  const buffers = Array.from({ length: options.slots }, () => new SharedArrayBuffer(options.slotImages * options.imageValues * 4));
  const views = buffers.map((buffer) => new Float32Array(buffer));
  const data: PreprocessWorkerData = {
    preprocessing: options.preprocessing,
    slots: buffers,
    imageValues: options.imageValues,
    ...(options.inputSize ? { inputSize: options.inputSize } : {}),
  };
  const start = workerStart();

  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const outstanding = new Array<number>(count).fill(0);
  const started = new Array<boolean>(count).fill(false);
  // Jobs made before any worker had started, in order, with what to transfer when posted.
  const waiting: { message: PreprocessJob; transfer: ArrayBuffer[] }[] = [];
  let failure: Error | undefined;
  let nextJob = 0;
  let closed = false;

  /** Resolves or rejects a job by its reply (unless the pool failed meanwhile and rejected it already). */
  const settle = (reply: { job: number; error?: string }) => {
    const job = pending.get(reply.job);
    if (!job) return;
    pending.delete(reply.job);
    if (reply.error === undefined) job.resolve();
    else job.reject(new Error(reply.error));
  };
  // Wakes a thread waiting in helpOne: a job queued, a worker started, or the pool failed or closed.
  const changed = wakeUp();
  const failAll = (error: Error) => {
    failure ??= error;
    waiting.length = 0;
    changed.notify();
    for (const job of pending.values()) job.reject(failure);
    pending.clear();
  };

  // Workers inherit the parent's Node flags; those about the parent's own entry (`--input-type` with
  // `node -e`, `--eval`) make a worker refuse to start.
  const execArgv = process.execArgv.filter((flag) => !/^--(input-type|eval|print)\b/.test(flag));
  // From source, the job's imports of other workspace packages must resolve to their source as well.
  if (start.eval && !execArgv.includes('--conditions=@medssl/source')) execArgv.push('--conditions=@medssl/source');
  const workers = Array.from({ length: count }, (_, position) => {
    const worker = start.eval
      ? new Worker(SOURCE_BOOTSTRAP, { eval: true, execArgv, workerData: { ...data, entry: start.entry, loader: start.loader } })
      : new Worker(start.entry, { execArgv, workerData: data });
    worker.on('message', (reply: PreprocessReply) => {
      if ('ready' in reply) {
        started[position] = true;
        for (const { message, transfer } of waiting.splice(0)) dispatch(message, transfer);
        changed.notify();
        return;
      }
      outstanding[position]!--;
      settle(reply);
    });
    worker.on('error', (error) => failAll(new Error(`preprocessing worker ${position} failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      if (!closed) failAll(new Error(`preprocessing worker ${position} stopped (exit code ${code})`));
    });
    return worker;
  });

  /** Posts a job to the started worker with the fewest outstanding. */
  const dispatch = (message: PreprocessJob, transfer: ArrayBuffer[]) => {
    let chosen = -1;
    for (let position = 0; position < count; position++) {
      if (started[position] && (chosen === -1 || outstanding[position]! < outstanding[chosen]!)) chosen = position;
    }
    outstanding[chosen]!++;
    workers[chosen]!.postMessage(message, transfer);
  };

  return {
    workers: count,
    preprocessing: options.preprocessing,
    slots: options.slots,
    slotImages: options.slotImages,
    imageValues: options.imageValues,
    ...(options.inputSize ? { inputSize: options.inputSize } : {}),
    preprocess(slot, index, image, name, maxPixels) {
      if (failure) return Promise.reject(failure);
      if (closed) return Promise.reject(new Error('the preprocessing pool is closed'));
      if (!Number.isSafeInteger(slot) || slot < 0 || slot >= options.slots)
        return Promise.reject(new RangeError(`no batch slot ${slot}; the pool has ${options.slots}`));
      if (!Number.isSafeInteger(index) || index < 0 || index >= options.slotImages) {
        return Promise.reject(new RangeError(`image position ${index} is outside a slot of ${options.slotImages} images`));
      }
      const job = nextJob++;
      const promise = new Promise<void>((resolve, reject) => pending.set(job, { resolve, reject }));
      // Exactly one copy of the bytes: a view of a larger buffer is copied out and its copy moved (transferred);
      // a whole buffer is cloned as it is, so the dataset keeps what it returned.
      const bytes = image instanceof Uint8Array ? image : image.data;
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const copy = whole ? bytes : bytes instanceof Uint16Array ? new Uint16Array(bytes) : new Uint8Array(bytes);
      const message: PreprocessJob =
        image instanceof Uint8Array
          ? { job, slot, index, name, encoded: copy as Uint8Array, ...(maxPixels === undefined ? {} : { maxPixels }) }
          : { job, slot, index, name, image: { data: copy, width: image.width, height: image.height, channels: image.channels } };
      const transfer = whole ? [] : [copy.buffer as ArrayBuffer];
      if (started.includes(true)) dispatch(message, transfer);
      else {
        waiting.push({ message, transfer });
        changed.notify();
      }
      return promise;
    },
    async helpOne(until) {
      let over = false;
      until?.then(
        () => (over = true),
        () => (over = true),
      );
      let next = waiting.shift();
      // Until a worker has started, a job may still come (its file being read): wait for one, or for the start.
      while (!next && !failure && !over && !started.includes(true)) {
        await (until ? Promise.race([changed.wait(), until.catch(() => undefined)]) : changed.wait());
        next = over ? undefined : waiting.shift();
      }
      if (!next || failure) return false;
      settle(await runPreprocessJob(next.message, data, views));
      return true;
    },
    slotView(slot) {
      const view = views[slot];
      if (!view) throw new RangeError(`no batch slot ${slot}; the pool has ${options.slots}`);
      return view;
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new Error('the preprocessing pool was closed'));
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
