// One preprocessing job, as the worker threads run it (and the pool's own thread, for the first images while
// the workers start): decode an image file's bytes (or take raw pixels), check the size it preprocesses to,
// and write the backbone's [3, H, W] input into a slot of a shared batch buffer.
import type { Preprocessing, RawImage } from '@medssl/spec';
import { decodeImage } from '@medssl/core/node';
import { preprocessedShape, preprocessInto } from '@medssl/core';

/** What the pool passes a worker at start: the transform, the shared batch buffers, and the size every image must end up. */
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
  /** The sample's pixel limit, where its dataset set one (`Sample.maxPixels`). */
  readonly maxPixels?: number;
}

/** A worker's answer: a job done (or failed), or, once, that it has started and takes jobs. */
export type PreprocessReply = { readonly job: number; readonly error?: string } | { readonly ready: true };

/** Runs a job against the slot buffers (`views`, one Float32Array per slot); errors come back as the reply's text, naming the image. */
export async function runPreprocessJob(
  job: PreprocessJob,
  data: Omit<PreprocessWorkerData, 'slots'>,
  views: readonly Float32Array[],
): Promise<{ job: number; error?: string }> {
  const { preprocessing, imageValues, inputSize } = data;
  try {
    const target = views[job.slot];
    if (!target) throw new RangeError(`no batch slot ${job.slot}`);
    const image = job.encoded ? await decodeImage(job.encoded, job.name, job.maxPixels === undefined ? {} : { maxPixels: job.maxPixels }) : job.image!;
    if (inputSize) {
      const [, height, width] = preprocessedShape(image, preprocessing);
      if (height !== inputSize[0] || width !== inputSize[1]) {
        throw new Error(`a ${image.width}x${image.height} image preprocesses to ${width}x${height}, the backbone takes ${inputSize[1]}x${inputSize[0]}`);
      }
    }
    preprocessInto(image, preprocessing, target, job.index * imageValues);
    return { job: job.job };
  } catch (error) {
    const text = (error as Error).message;
    // Decoding errors name the file already.
    return { job: job.job, error: text.startsWith(`${job.name}: `) ? text : `${job.name}: ${text}` };
  }
}
