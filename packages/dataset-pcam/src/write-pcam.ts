// Writes PatchCamelyon's official HDF5 layout, for tests and the memory benchmark: exported for tests only,
// as `@medssl/dataset-pcam/testing`, not from index.ts.
import { join } from 'node:path';
import { loadHdf5 } from './hdf5.js';
import { PATCH_CHANNELS, PATCH_SIZE, pcamFileName, type PcamOfficialSplit } from './pcam.js';

const PATCH_BYTES = PATCH_SIZE * PATCH_SIZE * PATCH_CHANNELS;

export interface Hdf5ArrayToWrite {
  readonly key: string;
  readonly data: Uint8Array | Uint16Array | Float32Array;
  readonly shape: readonly number[];
  /** h5wasm dtype: '<B' uint8, '<H' uint16, '<f' float32. */
  readonly dtype: '<B' | '<H' | '<f';
  /** gzip level for chunked storage; without it the array is stored contiguous (plain). */
  readonly gzipLevel?: number;
  /** Rows per chunk along the first axis when gzipped; default 32. */
  readonly chunkRows?: number;
}

/** Writes whole arrays into a new HDF5 file (small files: the data is passed in memory). */
export async function writeHdf5Arrays(path: string, arrays: readonly Hdf5ArrayToWrite[]): Promise<void> {
  const { h5wasm } = await loadHdf5();
  const file = new h5wasm.File(path, 'w');
  try {
    for (const array of arrays) {
      const chunked = array.gzipLevel !== undefined;
      file.create_dataset({
        name: array.key,
        data: array.data,
        shape: [...array.shape],
        dtype: array.dtype,
        ...(chunked ? { chunks: [Math.min(array.chunkRows ?? 32, Math.max(1, array.shape[0]!)), ...array.shape.slice(1)], compression: array.gzipLevel } : {}),
      });
    }
  } finally {
    file.close();
  }
}

export interface PcamBlock {
  /** Consecutive patches, interleaved RGB, 96*96*3 bytes each. */
  readonly patches: Uint8Array;
  /** One label per patch. */
  readonly labels: Uint8Array;
}

export interface WritePcamSplitOptions {
  readonly root: string;
  readonly official: PcamOfficialSplit;
  /** Total number of patches the blocks add up to. */
  readonly count: number;
  /** Blocks of patches in file order. */
  readonly blocks: Iterable<PcamBlock> | AsyncIterable<PcamBlock>;
  /** gzip level; without it x is stored contiguous, which needs all patches in memory (small splits only). */
  readonly gzipLevel?: number;
  /** Patches per chunk when gzipped; default 32 (864 KiB, inside HDF5's default 1 MiB chunk cache). */
  readonly chunkRows?: number;
}

/**
 * Writes `camelyonpatch_level_2_split_<official>_{x,y}.h5` into `root`. Gzipped x is written block by block
 * into a chunked dataset, so writing the 262,144-patch train split stays small in memory.
 */
export async function writePcamSplit(options: WritePcamSplitOptions): Promise<void> {
  const { root, official, count, gzipLevel, chunkRows = 32 } = options;
  const xPath = join(root, pcamFileName(official, 'x'));
  const yPath = join(root, pcamFileName(official, 'y'));
  const labels = new Uint8Array(count);
  const patchShape = [PATCH_SIZE, PATCH_SIZE, PATCH_CHANNELS];
  let written = 0;
  const place = (block: PcamBlock): void => {
    const rows = block.labels.length;
    if (block.patches.length !== rows * PATCH_BYTES) {
      throw new Error(`writePcamSplit ${official}: a block of ${rows} labels needs ${rows * PATCH_BYTES} pixel bytes, got ${block.patches.length}`);
    }
    if (written + rows > count) throw new Error(`writePcamSplit ${official}: blocks hold more than ${count} patches`);
    labels.set(block.labels, written);
    written += rows;
  };

  if (gzipLevel === undefined) {
    const pixels = new Uint8Array(count * PATCH_BYTES);
    for await (const block of options.blocks) {
      pixels.set(block.patches, written * PATCH_BYTES);
      place(block);
    }
    if (written !== count) throw new Error(`writePcamSplit ${official}: blocks hold ${written} patches, expected ${count}`);
    await writeHdf5Arrays(xPath, [{ key: 'x', data: pixels, shape: [count, ...patchShape], dtype: '<B' }]);
  } else {
    const { h5wasm } = await loadHdf5();
    const file = new h5wasm.File(xPath, 'w');
    try {
      let dataset: ReturnType<typeof file.create_dataset> | undefined;
      for await (const block of options.blocks) {
        const start = written;
        place(block);
        if (!dataset) {
          // h5wasm creates a dataset from data, so the first block creates it and a resize makes room for the rest.
          dataset = file.create_dataset({
            name: 'x',
            data: block.patches,
            shape: [written, ...patchShape],
            maxshape: [count, ...patchShape],
            dtype: '<B',
            chunks: [Math.min(chunkRows, count), ...patchShape],
            compression: gzipLevel,
          });
          dataset.resize([count, ...patchShape]);
        } else {
          dataset.write_slice([[start, written]], block.patches);
        }
      }
      if (written !== count) throw new Error(`writePcamSplit ${official}: blocks hold ${written} patches, expected ${count}`);
    } finally {
      file.close();
    }
  }
  await writeHdf5Arrays(yPath, [
    { key: 'y', data: labels, shape: [count, 1, 1, 1], dtype: '<B', ...(gzipLevel === undefined ? {} : { gzipLevel, chunkRows: 4096 }) },
  ]);
}
