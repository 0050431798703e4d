// Entry of a preprocessing worker thread: decodes an image file's bytes (or takes raw pixels) and turns them
// into a backbone's [3, H, W] input, written straight into a slot of a shared batch buffer. Started by
// `createPreprocessPool`.
import { parentPort, workerData } from 'node:worker_threads';
import type { Preprocessing, RawImage } from '@medssl/spec';
import { decodeImage } from '../decode.js';
import { preprocessedShape, preprocessInto } from '../preprocess/pipeline.js';

/** What the pool passes at start: the transform, the shared batch buffers, and the size every image must end up. */
export interface PreprocessWorkerData {
  readonly preprocessing: Preprocessing;
  readonly slots: readonly SharedArrayBuffer[];
  readonly imageValues: number;
  readonly inputSize?: readonly [height: number, width: number];
}

/** One image (raw pixels, or an image file's bytes to decode first) to preprocess into `slot` at image position `index`. */
export interface PreprocessJob {
  readonly job: number;
  readonly slot: number;
  readonly index: number;
  readonly image?: RawImage;
  readonly encoded?: Uint8Array;
  /** The sample's source or id, for errors. */
  readonly name: string;
}

export interface PreprocessReply {
  readonly job: number;
  readonly error?: string;
}

const port = parentPort;
if (port) {
  const { preprocessing, slots, imageValues, inputSize } = workerData as PreprocessWorkerData;
  const views = slots.map((buffer) => new Float32Array(buffer));
  port.on('message', async (message: PreprocessJob) => {
    let reply: PreprocessReply;
    try {
      const target = views[message.slot];
      if (!target) throw new RangeError(`no batch slot ${message.slot}`);
      const image = message.encoded ? await decodeImage(message.encoded, message.name) : message.image!;
      if (inputSize) {
        const [, height, width] = preprocessedShape(image, preprocessing);
        if (height !== inputSize[0] || width !== inputSize[1]) {
          throw new Error(`a ${image.width}x${image.height} image preprocesses to ${width}x${height}, the backbone takes ${inputSize[1]}x${inputSize[0]}`);
        }
      }
      preprocessInto(image, preprocessing, target, message.index * imageValues);
      reply = { job: message.job };
    } catch (error) {
      const text = (error as Error).message;
      // Decoding errors name the file already.
      reply = { job: message.job, error: text.startsWith(`${message.name}: `) ? text : `${message.name}: ${text}` };
    }
    port.postMessage(reply);
  });
}
