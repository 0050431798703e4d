// The embedding loop: decode and preprocess images a batch ahead, run the backbone batch by batch, and
// collect one row of features per image. No DOM here, so Node runs the same loop for the comparison.
import { batches, mapConcurrent, preprocessInto } from '@medssl/core';
import type { Embedder, Matrix, Preprocessing } from '@medssl/spec';
import type { ImageFile } from './labels.js';

export interface EmbedProgress {
  readonly done: number;
  readonly total: number;
  /** Seconds since the loop started. */
  readonly seconds: number;
}

export interface EmbedImagesOptions {
  readonly images: readonly ImageFile[];
  readonly preprocessing: Preprocessing;
  readonly embedder: Embedder;
  readonly batchSize: number;
  readonly onProgress?: (progress: EmbedProgress) => void;
  readonly signal?: AbortSignal;
}

/** `[images, dimension]` embeddings, rows in the order of `images`. Errors name the image. */
export async function embedImages(options: EmbedImagesOptions): Promise<Matrix> {
  const { images, preprocessing, embedder, batchSize, onProgress, signal } = options;
  const [channels, height, width] = embedder.inputShape;
  const imageLength = channels * height * width;
  const dimension = embedder.dimension;
  const features = new Float32Array(images.length * dimension);
  const started = performance.now();
  const preprocessed = mapConcurrent(
    images,
    async (image) => {
      const pixels = await image.decode();
      const input = new Float32Array(imageLength);
      let shape: readonly number[];
      try {
        shape = preprocessInto(pixels, preprocessing, input);
      } catch (error) {
        throw new Error(`${image.path}: ${(error as Error).message}`, { cause: error });
      }
      if (shape[1] !== height || shape[2] !== width) {
        throw new Error(`${image.path}: preprocessed to ${shape.join('x')}, but ${embedder.backboneId} takes ${embedder.inputShape.join('x')}`);
      }
      return input;
    },
    // Decoding the next batch overlaps with running the current one.
    { concurrency: batchSize, ...(signal ? { signal } : {}) },
  );
  let done = 0;
  onProgress?.({ done, total: images.length, seconds: 0 });
  for await (const batch of batches(preprocessed, batchSize)) {
    signal?.throwIfAborted();
    const data = new Float32Array(batch.length * imageLength);
    batch.forEach((input, index) => data.set(input, index * imageLength));
    const output = await embedder.embed({ data, shape: [batch.length, channels, height, width] });
    if (output.shape[0] !== batch.length || output.shape[1] !== dimension) {
      throw new Error(
        `${embedder.runtimeId} returned embeddings of shape [${output.shape.join(', ')}] for a batch of ${batch.length}; expected [${batch.length}, ${dimension}]`,
      );
    }
    features.set(output.data, done * dimension);
    done += batch.length;
    onProgress?.({ done, total: images.length, seconds: (performance.now() - started) / 1000 });
  }
  return { data: features, shape: [images.length, dimension] };
}
