// Entry of a preprocessing worker thread: turns raw pixels into a backbone's [3, H, W] input, written
// straight into a slot of a shared batch buffer. Started by `createPreprocessPool`.
import { parentPort, workerData } from 'node:worker_threads';
import type { Preprocessing, RawImage } from '@medssl/spec';
import { preprocessInto } from '../preprocess/pipeline.js';

/** What the pool passes at start: the transform and the shared batch buffers. */
export interface PreprocessWorkerData {
  readonly preprocessing: Preprocessing;
  readonly slots: readonly SharedArrayBuffer[];
  readonly imageValues: number;
}

/** One image to preprocess into `slot` at image position `index`. */
export interface PreprocessJob {
  readonly job: number;
  readonly slot: number;
  readonly index: number;
  readonly image: RawImage;
  /** The sample's source or id, for errors. */
  readonly name: string;
}

export interface PreprocessReply {
  readonly job: number;
  readonly error?: string;
}

const port = parentPort;
if (port) {
  const { preprocessing, slots, imageValues } = workerData as PreprocessWorkerData;
  const views = slots.map((buffer) => new Float32Array(buffer));
  port.on('message', (message: PreprocessJob) => {
    let reply: PreprocessReply;
    try {
      const target = views[message.slot];
      if (!target) throw new RangeError(`no batch slot ${message.slot}`);
      preprocessInto(message.image, preprocessing, target, message.index * imageValues);
      reply = { job: message.job };
    } catch (error) {
      reply = { job: message.job, error: `${message.name}: ${(error as Error).message}` };
    }
    port.postMessage(reply);
  });
}
