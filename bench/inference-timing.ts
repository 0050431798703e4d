// What the inference benchmarks share: a fixed input batch and timed embedder calls.
import type { Embedder, Tensor } from '@medssl/spec';

export const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A deterministic batch of `count` images of `size` x `size` (values in about ±2, like normalised pixels). */
export function fixedBatch(count: number, size: number): Tensor {
  const data = new Float32Array(count * 3 * size * size);
  for (let index = 0; index < data.length; index++) data[index] = Math.sin(index * 12.9898) * 2;
  return { data, shape: [count, 3, size, size] };
}

/** Seconds of each of `repeats` calls of the embedder on the batch. */
export async function secondsPerBatch(embedder: Embedder, batch: Tensor, repeats: number): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < repeats; run++) {
    const started = performance.now();
    await embedder.embed(batch);
    times.push((performance.now() - started) / 1000);
  }
  return times;
}
