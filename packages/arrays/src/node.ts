/**
 * Node.js helpers for NumPy array files: read and write `.npy` files, read `.npz` files, and open
 * a large `.npz` so that one member can be decoded with positioned reads, without loading the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';

import { writeFileAtomic } from './files.js';
import { byteSourceFromBytes, type ByteSource } from './byte-source.js';
import type { NdArray } from './ndarray.js';
import { encodeNpyHeader, npyDataBytes, parseNpy } from './npy.js';
import { openNpz, type NpzArchive } from './npz.js';
import type { RawInflater } from './zip.js';

/** Above this size readNpzFile reads member by member instead of reading the whole file at once. */
const WHOLE_FILE_READ_LIMIT = 256 * 1024 * 1024;

/** Large output pieces: per-piece overhead, not inflation, dominates with zlib's 16 KiB default. */
const ZLIB_OUTPUT_CHUNK_SIZE = 1024 * 1024;

/**
 * A RawInflater on node:zlib, which inflates in the libuv thread pool; about 1.5 times as fast as
 * DecompressionStream on large members. `openNpzFile` and `readNpzFile` use it.
 */
export const inflateRawWithZlib: RawInflater = async (input, consume) => {
  let stopped = false;
  let consumeFailure: { error: unknown } | undefined;
  try {
    await pipeline(
      Readable.from(input, { objectMode: false }),
      createInflateRaw({ chunkSize: ZLIB_OUTPUT_CHUNK_SIZE }),
      async (output: AsyncIterable<Uint8Array>) => {
        for await (const chunk of output) {
          let wantsMore: boolean;
          try {
            wantsMore = consume(chunk);
          } catch (error) {
            // Kept aside: pipeline would report it as a bare AbortError.
            consumeFailure = { error };
            wantsMore = false;
          }
          if (!wantsMore) {
            stopped = true;
            return;
          }
        }
      },
    );
  } catch (error) {
    // Stopping early aborts the pipeline on purpose.
    if (!stopped) throw error;
  }
  if (consumeFailure !== undefined) throw consumeFailure.error;
};

/** Positioned reads of an open file; `path` names the file in errors. */
export function byteSourceFromFileHandle(handle: FileHandle, size: number, path: string): ByteSource {
  return {
    size,
    read: async (offset, length) => {
      const bytes = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(bytes, filled, length - filled, offset + filled);
        if (bytesRead === 0) {
          throw new Error(`${path}: expected ${length} bytes at offset ${offset}, but the file ended after ${filled} (was it truncated while open?)`);
        }
        filled += bytesRead;
      }
      return bytes;
    },
  };
}

/** Reads an `.npy` file; see `parseNpy` for what is supported. Errors name `path`. */
export async function readNpyFile(path: string): Promise<NdArray> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = await byteSourceFromFileHandle(handle, size, path).read(0, size);
    return parseNpy(bytes, path);
  } finally {
    await handle.close();
  }
}

/**
 * Writes an array as an `.npy` file (little-endian, C order, the bytes `np.save` would write), durably
 * (see `writeFileAtomic`); header and data are written one after the other, never joined in memory.
 */
export async function writeNpyFile(path: string, array: NdArray): Promise<void> {
  await writeFileAtomic(path, [encodeNpyHeader(array), npyDataBytes(array)]);
}

/** An NPZ archive read from a file; close it to release the file handle. */
export interface NpzFileArchive extends NpzArchive {
  close(): Promise<void>;
}

/**
 * Opens an `.npz` file for reading one array at a time: only the directory at the end of the file
 * is read now, and each `read(key)` reads only that member's bytes. Errors name `path`.
 */
export async function openNpzFile(path: string): Promise<NpzFileArchive> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const archive = await openNpz(byteSourceFromFileHandle(handle, size, path), path, {
      inflateRaw: inflateRawWithZlib,
    });
    return { ...archive, close: () => handle.close() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads every array of an `.npz` file, keyed by name (`x.npy` becomes `x`). Errors name `path`.
 * Archives up to 256 MiB are read in one call, which is fastest; larger ones member by member, so
 * that the compressed bytes of the whole archive are never in memory at once.
 */
export async function readNpzFile(path: string): Promise<Map<string, NdArray>> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const source = byteSourceFromFileHandle(handle, size, path);
    const wholeFile = size <= WHOLE_FILE_READ_LIMIT ? byteSourceFromBytes(await source.read(0, size)) : source;
    const archive = await openNpz(wholeFile, path, { inflateRaw: inflateRawWithZlib });
    return await archive.readAll();
  } finally {
    await handle.close();
  }
}

export { copyFileAtomic, fileSha256, sha256Hex, syncDirectory, writeFileAtomic, writeFileAtomicFrom, type WrittenFile } from './files.js';
