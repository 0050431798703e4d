// Real components for extraction tests that need no runtime package: a dataset over image files decoded by
// core's own decoder, and an embedder that pools each image's channels over a grid (a fixed feature map,
// deterministic to the bit). Both implement the @medssl/spec contracts in full.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, Embedder, Matrix, Preprocessing, RawImage, Sample, SampleOptions, Tensor } from '@medssl/spec';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import { sampleRange } from '@medssl/core';
import { sharedData } from '@medssl/test-data';

export const pcamJpegs = sharedData('pcam', 'data');

/** The PCam JPEG patches of one split in file-name order (the patch index), normal (0) and tumour (1) mixed. */
export function pcamFiles(split: 'train' | 'valid' | 'test'): { path: string; label: number; id: string }[] {
  const files: { path: string; label: number; id: string }[] = [];
  for (const label of [0, 1]) {
    const folder = join(pcamJpegs, split, String(label));
    for (const name of readdirSync(folder).sort()) files.push({ path: join(folder, name), label, id: `${split}/${label}/${name}` });
  }
  const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  return files.sort((a, b) => (name(a.path) < name(b.path) ? -1 : name(a.path) > name(b.path) ? 1 : 0));
}

/** A binary dataset over image files, decoded lazily by `decodeImageFile`; one split, `train`. */
export function fileDataset(files: readonly { path: string; label: number; id: string }[], version = 'test-1', mode: { encoded?: boolean } = {}): Dataset {
  return {
    specificationVersion: 'medssl/v1',
    id: 'test-files',
    version,
    task: { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' },
    splits: ['train'],
    async size() {
      return files.length;
    },
    async *samples(_split: string, options: SampleOptions = {}): AsyncGenerator<Sample> {
      const { start, end } = sampleRange('test-files/train', files.length, options);
      for (let row = start; row < end; row++) {
        const file = files[row]!;
        const decode = (): Promise<RawImage> => decodeImageFile(file.path);
        yield mode.encoded
          ? { id: file.id, target: file.label, source: file.path, decode, encoded: () => readImageFile(file.path) }
          : { id: file.id, target: file.label, source: file.path, decode };
      }
    },
  };
}

/**
 * An embedder whose features are each channel's mean over a `grid` x `grid` partition of the input: a real,
 * if simple, feature map. Sums run in float64 and are rounded once, so results never depend on batching.
 */
export function gridMeanEmbedder(preprocessing: Preprocessing, grid = 4, backboneId = 'test:grid-mean'): Embedder & { calls: number } {
  const crop = preprocessing.centerCrop;
  const size = typeof crop === 'number' ? [crop, crop] : crop ? [crop[0], crop[1]] : undefined;
  if (!size) throw new Error('gridMeanEmbedder needs a centre crop to fix its input size');
  const [height, width] = size as [number, number];
  const dimension = 3 * grid * grid;
  let disposed = false;
  const embedder = {
    backboneId,
    runtimeId: 'test',
    provider: 'javascript',
    precision: 'float32' as const,
    inputShape: [3, height, width] as const,
    dimension,
    calls: 0,
    async embed(batch: Tensor): Promise<Matrix> {
      if (disposed) throw new Error('disposed');
      embedder.calls++;
      const count = batch.shape[0]!;
      if (batch.data.length !== count * 3 * height * width) throw new RangeError(`batch of ${batch.data.length} values for ${count} images`);
      const output = new Float32Array(count * dimension);
      for (let image = 0; image < count; image++) {
        for (let channel = 0; channel < 3; channel++) {
          const plane = (image * 3 + channel) * height * width;
          for (let cellRow = 0; cellRow < grid; cellRow++) {
            for (let cellColumn = 0; cellColumn < grid; cellColumn++) {
              const top = Math.floor((cellRow * height) / grid);
              const bottom = Math.floor(((cellRow + 1) * height) / grid);
              const left = Math.floor((cellColumn * width) / grid);
              const right = Math.floor(((cellColumn + 1) * width) / grid);
              let sum = 0;
              for (let row = top; row < bottom; row++) for (let column = left; column < right; column++) sum += batch.data[plane + row * width + column]!;
              output[image * dimension + (channel * grid + cellRow) * grid + cellColumn] = sum / ((bottom - top) * (right - left));
            }
          }
        }
      }
      return { data: output, shape: [count, dimension] };
    },
    async dispose() {
      disposed = true;
    },
  };
  return embedder;
}

/** An embedder whose features are its input, flattened: shows exactly what the pipeline fed it. */
export function identityEmbedder(height: number, width: number): Embedder {
  return {
    backboneId: 'test:identity',
    runtimeId: 'test',
    provider: 'javascript',
    precision: 'float32',
    inputShape: [3, height, width],
    dimension: 3 * height * width,
    async embed(batch: Tensor): Promise<Matrix> {
      return { data: batch.data.slice(), shape: [batch.shape[0]!, 3 * height * width] };
    },
    async dispose() {},
  };
}
