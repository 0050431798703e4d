/**
 * Node.js helpers of @medssl/weights: read a checkpoint file with its SHA-256 (the provenance the feature
 * manifests record), and write safetensors files. The main entry stays free of Node built-ins.
 */
import { open, type FileHandle } from 'node:fs/promises';

import { byteSourceFromFileHandle, fileSha256, inflateRawWithZlib, writeFileAtomic } from '@medssl/arrays/node';

import { isZip, readCheckpointContents, readZipCheckpoint, type CheckpointContents, type ReadCheckpointOptions } from './checkpoint.js';
import { encodeSafetensorsParts, type WritableTensor } from './safetensors.js';

export interface CheckpointFile extends CheckpointContents {
  /** The path the file was read from (also its `name`). */
  readonly path: string;
  /** SHA-256 of the file's bytes, lower-case hex. */
  readonly sha256: string;
  /** Size of the file in bytes. */
  readonly byteLength: number;
}

/**
 * Reads a checkpoint file in any format `readCheckpointContents` knows, and its SHA-256. ZIP checkpoints
 * (PyTorch's default format, npz) are read member by member with positioned reads, each storage straight
 * into the memory its tensor keeps, so the file is never held whole; other formats are read whole. Errors
 * name `path`.
 */
export async function readCheckpointFile(path: string, options: ReadCheckpointOptions = {}): Promise<CheckpointFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${path}: cannot read the checkpoint (${reason})`, { cause: error });
  }
  try {
    const { size } = await handle.stat();
    const source = byteSourceFromFileHandle(handle, size, path);
    const { sha256, bytes } = await fileSha256(path, { handle });
    if (bytes !== size) throw new Error(`${path}: file changed size while it was read (${size} bytes, then ${bytes}); was it written to meanwhile?`);
    const readOptions = { inflateRaw: inflateRawWithZlib, ...options };
    const head = await source.read(0, Math.min(size, 8));
    const checkpoint = isZip(head)
      ? await readZipCheckpoint(source, path, readOptions, true)
      : await readCheckpointContents(await source.read(0, size), path, readOptions);
    return { ...checkpoint, path, sha256, byteLength: size };
  } finally {
    await handle.close();
  }
}

/** Writes tensors as a safetensors file (see `encodeSafetensors`), durably and without joining them in memory. */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, WritableTensor> | Readonly<Record<string, WritableTensor>>,
  metadata?: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensorsParts(tensors, metadata));
}
