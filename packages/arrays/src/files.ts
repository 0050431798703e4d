import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that a crash at any moment leaves either the old file or the complete new one: the bytes
 * go to a temporary file in the same folder, are flushed to disk, and the temporary file is renamed over the
 * target; the folder is then flushed so the rename itself survives a power loss. `contents` may be several
 * chunks, written one after the other (a large array need not be joined to its header in memory).
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string | readonly (Uint8Array | string)[]): Promise<void> {
  const chunks = (Array.isArray(contents) ? contents : [contents]) as readonly (Uint8Array | string)[];
  const encoder = new TextEncoder();
  await replaceFile(path, (temporaryPath) =>
    writeSynced(
      temporaryPath,
      chunks.map((chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk)),
    ),
  );
}

/** Size and SHA-256 (hex) of bytes written. */
export interface WrittenFile {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * `writeFileAtomic` for contents that arrive piece by piece (a large array assembled from chunks), so they
 * are never held in memory whole. Returns the size and SHA-256 of what was written. If `source` throws, the
 * temporary file is removed and the target left as it was.
 */
export async function writeFileAtomicFrom(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<WrittenFile> {
  const hash = createHash('sha256');
  return replaceFile(path, async (temporaryPath) => {
    const bytes = await writeSynced(temporaryPath, source, (piece) => hash.update(piece));
    return { bytes, sha256: hash.digest('hex') };
  });
}

/**
 * Copies a file with the same guarantees as `writeFileAtomic`: a copy-on-write clone where the file system
 * offers one, a byte copy otherwise, flushed, then renamed over `target`.
 */
export async function copyFileAtomic(source: string, target: string): Promise<void> {
  await replaceFile(target, async (temporaryPath) => {
    await copyFile(source, temporaryPath, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
    const handle = await open(temporaryPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * The steps every atomic write shares: `fill` writes and flushes a temporary file beside `path`, which is then
 * renamed over it and the folder flushed; on any error the temporary file is removed and `path` left alone.
 */
async function replaceFile<T>(path: string, fill: (temporaryPath: string) => Promise<T>): Promise<T> {
  const directory = dirname(path);
  const temporaryPath = join(directory, `.${basename(path)}.${randomUUID()}.tmp`);
  let result: T;
  try {
    result = await fill(temporaryPath);
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await syncDirectory(directory);
  return result;
}

/** Writes the pieces to a new file and flushes it to disk; returns the bytes written. */
async function writeSynced(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, seen?: (piece: Uint8Array) => void): Promise<number> {
  const handle = await open(path, 'wx');
  try {
    let position = 0;
    for await (const piece of source) {
      seen?.(piece);
      position = await writeAll(handle, piece, position);
    }
    await handle.sync();
    return position;
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let written = 0;
  while (written < bytes.byteLength) {
    // One write call moves at most about 2 GiB on Linux, so large arrays take several.
    const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written, position + written);
    written += bytesWritten;
  }
  return position + written;
}

/** Flushes a directory entry (a rename, a new or removed file) to disk; platforms that cannot open directories skip it. */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Size and SHA-256 of a file, read in pieces (checkpoints and feature files can be gigabytes). The one
 * file hasher of medssl: checkpoints, model files, feature files and stored results are all hashed here.
 * With `handle`, the bytes come from that open file (the one a reader is about to parse), which stays open.
 * Errors name the file.
 */
export async function fileSha256(path: string, options: { readonly handle?: FileHandle } = {}): Promise<WrittenFile> {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = options.handle
    ? createReadStream(path, { fd: options.handle, start: 0, autoClose: false, highWaterMark: HASH_PIECE_BYTES })
    : createReadStream(path, { highWaterMark: HASH_PIECE_BYTES });
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      hash.update(piece);
      bytes += piece.length;
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${path}: cannot read the file to hash it (${reason})`, { cause: error });
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Bytes read per piece while hashing. */
const HASH_PIECE_BYTES = 4 << 20;

/** SHA-256 (hex) of bytes or of a string's UTF-8. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
