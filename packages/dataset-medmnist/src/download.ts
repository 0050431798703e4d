/**
 * Downloads a MedMNIST file from Zenodo, resumably and checked: bytes go to `<file>.part`, a dropped
 * connection is resumed with an HTTP `Range` request (within the call, and by a later call finding the
 * part file), and the MD5 published in MedMNIST's `info.py` must match before the part file is renamed
 * into place. Node only (node:fs, node:crypto).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { assertMedmnistSize, medmnistFileName, medmnistFlag, medmnistUrl, type MedmnistSize } from './flags.js';

/** Called as bytes arrive: bytes in the file so far, and the full size when the server said it. */
export type DownloadProgress = (bytes: number, total: number | undefined) => void;

export interface DownloadMedmnistOptions {
  readonly flag: string;
  /** 28 (default), 64, 128 or 224. */
  readonly size?: MedmnistSize;
  /** Folder to write `<flag>[_<size>].npz` into; created if absent. */
  readonly root: string;
  /** Another address for the same file (a mirror); the published MD5 still applies. */
  readonly url?: string;
  /** Expected MD5 (hex), overriding the published one; `null` skips the check. */
  readonly md5?: string | null;
  /** The fetch to use (tests, proxies); default the global fetch. */
  readonly fetch?: typeof globalThis.fetch;
  /** Progress callback; default a progress line on stderr; `false` for silence. */
  readonly onProgress?: DownloadProgress | false;
  /**
   * Failed attempts in a row (dropped connections, network or server errors) after which this call gives
   * up; an attempt that brought bytes resets the count. Default 5.
   */
  readonly retries?: number;
  /** Wait before the n-th retry: n times this many milliseconds; default 1000. */
  readonly retryDelayMilliseconds?: number;
  /** Download again even if the file is already there. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  readonly path: string;
  /** False when the file was already there and nothing was fetched. */
  readonly downloaded: boolean;
  readonly bytes: number;
  /** MD5 of the file written (absent when nothing was downloaded). */
  readonly md5?: string;
  /** Whether the MD5 was checked against a known sum. */
  readonly verified: boolean;
}

/** The MD5 published for a flag and size, or undefined where MedMNIST publishes none. */
export function medmnistMd5(flag: string, size: MedmnistSize = 28): string | undefined {
  return medmnistFlag(flag).md5[size];
}

export async function downloadMedmnist(options: DownloadMedmnistOptions): Promise<DownloadResult> {
  const info = medmnistFlag(options.flag);
  const size = options.size ?? 28;
  assertMedmnistSize(size, 'downloadMedmnist: size');
  const url = options.url ?? medmnistUrl(info.flag, size);
  const expected = options.md5 === null ? undefined : (options.md5 ?? info.md5[size])?.toLowerCase();
  const target = join(options.root, medmnistFileName(info.flag, size));
  const partPath = `${target}.part`;
  const fetchFunction = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 5;
  const retryDelay = options.retryDelayMilliseconds ?? 1000;
  const onProgress = options.onProgress === false ? undefined : (options.onProgress ?? terminalProgress(basename(target)));
  const signal = options.signal;

  if (!options.force) {
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isFile()) return { path: target, downloaded: false, bytes: existing.size, verified: false };
  }
  await mkdir(options.root, { recursive: true });

  // A part file left by an earlier call is hashed first so that the checksum covers the whole file.
  let hash = createHash('md5');
  let written = await hashExisting(partPath, hash);
  let total: number | undefined;
  let failures = 0;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    if (attempt > 0 && failures > 0) await sleep(failures * retryDelay, signal);
    const response = await fetchFunction(url, {
      headers: written > 0 ? { Range: `bytes=${written}-` } : {},
      redirect: 'follow',
      ...(signal === undefined ? {} : { signal }),
    }).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      return error instanceof Error ? error : new Error(String(error));
    });
    if (response instanceof Error) {
      if (++failures > retries) throw gaveUp(url, partPath, written, response);
      continue;
    }

    if (response.status === 416 && written > 0) {
      // The part file may already be complete; otherwise it does not fit this file: start over.
      await response.body?.cancel();
      const reported = totalFromContentRange(response.headers.get('content-range'));
      if (reported === written) {
        total = written;
        break;
      }
      ({ hash, written } = await startOver(partPath));
      continue;
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      if (++failures > retries) throw gaveUp(url, partPath, written, new Error(`HTTP ${response.status} ${response.statusText}`));
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel();
      throw new Error(`${url}: HTTP ${response.status} ${response.statusText}; expected 200 or 206`);
    }

    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range === undefined || range.start !== written) {
        // The server answered a different range than asked: only a fresh start is safe.
        await response.body?.cancel();
        ({ hash, written } = await startOver(partPath));
        continue;
      }
      total = range.total;
    } else {
      // 200 is the whole file: the server ignored the range (or none was asked).
      if (written > 0) ({ hash, written } = await startOver(partPath));
      const length = Number(response.headers.get('content-length'));
      total = Number.isFinite(length) && length > 0 ? length : undefined;
    }
    if (response.body === null) throw new Error(`${url}: HTTP ${response.status} without a body`);

    const attemptStart = written;
    const handle = await open(partPath, 'a');
    let dropped: Error | undefined;
    try {
      onProgress?.(written, total);
      for await (const chunk of response.body) {
        await writeAll(handle, chunk);
        hash.update(chunk);
        written += chunk.byteLength;
        onProgress?.(written, total);
      }
      await handle.sync();
    } catch (error) {
      if (signal?.aborted) throw error;
      dropped = error instanceof Error ? error : new Error(String(error));
    } finally {
      await handle.close();
    }
    if (dropped === undefined && total !== undefined && written < total) {
      dropped = new Error(`the connection closed after ${written} of ${total} bytes`);
    }
    if (dropped !== undefined) {
      // Progress resets the count: a long download over a flaky line may drop many times.
      failures = written > attemptStart ? 1 : failures + 1;
      if (failures > retries) throw gaveUp(url, partPath, written, dropped);
      continue;
    }
    if (total !== undefined && written > total) {
      await rm(partPath, { force: true });
      throw new Error(`${url}: received ${written} bytes, more than the ${total} announced; deleted ${partPath}`);
    }
    break;
  }

  const actual = hash.digest('hex');
  if (expected !== undefined && actual !== expected) {
    await rm(partPath, { force: true });
    throw new Error(
      `${url}: MD5 mismatch for ${basename(target)}: expected ${expected}, got ${actual}; deleted ${partPath}. ` +
        'The download was corrupted or the file on the server changed',
    );
  }
  await rename(partPath, target);
  await syncDirectory(dirname(target));
  return { path: target, downloaded: true, bytes: written, md5: actual, verified: expected !== undefined };
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function hashExisting(path: string, hash: Hash): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).byteLength;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return bytes;
}

async function startOver(partPath: string): Promise<{ hash: Hash; written: number }> {
  await rm(partPath, { force: true });
  return { hash: createHash('md5'), written: 0 };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

function gaveUp(url: string, partPath: string, written: number, cause: Error): Error {
  return new Error(
    `${url}: download failed (${cause.message}); ${written} bytes are kept in ${partPath}, and calling downloadMedmnist again resumes from there`,
    { cause },
  );
}

/** `bytes 100-199/1000` gives start 100 and total 1000 (undefined total for `/*`). */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (match === null) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/** `bytes *\/1000` (the answer to an unsatisfiable range) gives 1000. */
function totalFromContentRange(header: string | null): number | undefined {
  const match = /^bytes \*\/(\d+)$/.exec(header?.trim() ?? '');
  return match === null ? undefined : Number(match[1]);
}

async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r').catch(() => undefined);
  try {
    await handle?.sync();
  } catch {
    // Some file systems cannot flush a directory; the rename has still happened.
  } finally {
    await handle?.close();
  }
}

/**
 * A progress line on stderr: rewritten in place on a terminal (at most ten times a second), one line
 * per tenth of the file otherwise (logs).
 */
export function terminalProgress(name: string, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  let lastDraw = 0;
  let lastTenth = -1;
  return (bytes, total) => {
    const done = total !== undefined && bytes >= total;
    const line = `${name}: ${formatBytes(bytes)}${total === undefined ? '' : ` / ${formatBytes(total)} (${Math.floor((100 * bytes) / total)}%)`}`;
    if (stream.isTTY) {
      const now = Date.now();
      if (!done && now - lastDraw < 100) return;
      lastDraw = now;
      stream.write(`\r${line}\u001b[K${done ? '\n' : ''}`);
      return;
    }
    const tenth = total === undefined ? Math.floor(bytes / (100 * 1024 * 1024)) : Math.floor((10 * bytes) / total);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    stream.write(`${line}\n`);
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
