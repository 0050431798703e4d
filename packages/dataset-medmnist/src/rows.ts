/**
 * Reading single image rows out of an npz images member without holding the whole member.
 *
 * MedMNIST+ 224x224 files reach several gigabytes, more than one split can sensibly hold in memory, so a
 * row is read one of three ways:
 * - stored members (`np.savez`): a positioned read of exactly that row, random access at any size;
 * - deflated members (`np.savez_compressed`, as the official files are) up to `maxInMemoryBytes` once
 *   inflated: the member is inflated once through core's `openNpzFile` (CRC-checked) and kept, one split
 *   at a time;
 * - larger deflated members: deflate has no random access, so the member is inflated as a stream that
 *   hands out rows as it passes them, pausing when no one asks for more (memory stays at a window of
 *   recent rows, 32 MiB). Rows asked for in increasing order (any streaming pipeline) cost one pass; a row
 *   behind the window starts the stream over, so random order on such a file is slow.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32, type ByteSource, type ZipEntry } from '@medssl/arrays';
import { byteSourceFromFileHandle, inflateRawWithZlib, openNpzFile } from '@medssl/arrays/node';

/** Where an images member sits in its archive, and the shape of its rows. */
export interface ImagesMember {
  /** The npz file. */
  readonly path: string;
  /** The array name, e.g. `train_images`. */
  readonly key: string;
  readonly entry: ZipEntry;
  /** File offset of the member's bytes (compressed or stored), just after its local header. */
  readonly memberDataOffset: number;
  /** Offset of the first pixel inside the NPY member: the size of its header. */
  readonly npyDataOffset: number;
  readonly rowBytes: number;
  readonly rows: number;
}

export type RowAccess = 'positioned' | 'in-memory' | 'streamed';

export interface RowReader {
  readonly access: RowAccess;
  /** A fresh copy of one row's bytes. */
  read(row: number): Promise<Uint8Array>;
}

/** ZIP's method number for a member stored without compression. */
const COMPRESSION_STORED = 0;

/** `archive.npz[train_images.npy]`, the way core names members in its errors. */
export function memberLabel(member: Pick<ImagesMember, 'path' | 'entry'>): string {
  return `${member.path}[${member.entry.fileName}]`;
}

/** One read-only file handle shared by positioned reads, closed after a short idle time. */
export class SharedFile {
  private opened: Promise<{ handle: FileHandle; source: ByteSource }> | undefined;
  private active = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly path: string,
    private readonly idleMilliseconds = 2000,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.active++;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    try {
      this.opened ??= this.openFile();
      const { source } = await this.opened;
      return await source.read(offset, length);
    } finally {
      if (--this.active === 0) this.scheduleClose();
    }
  }

  private async openFile(): Promise<{ handle: FileHandle; source: ByteSource }> {
    try {
      const handle = await open(this.path, 'r');
      const { size } = await handle.stat();
      return { handle, source: byteSourceFromFileHandle(handle, size, this.path) };
    } catch (error) {
      this.opened = undefined;
      throw new Error(`${this.path}: cannot open (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }

  private scheduleClose(): void {
    this.idleTimer = setTimeout(() => {
      if (this.active > 0) return;
      const opened = this.opened;
      this.opened = undefined;
      void opened?.then(({ handle }) => handle.close()).catch(() => undefined);
    }, this.idleMilliseconds);
    this.idleTimer.unref();
  }
}

/** Stored member: each row is a positioned read. No CRC check is possible on part of a member. */
export function positionedRows(member: ImagesMember, file: SharedFile): RowReader {
  return {
    access: 'positioned',
    read: (row) => file.read(member.memberDataOffset + member.npyDataOffset + row * member.rowBytes, member.rowBytes),
  };
}

/** Keeps one inflated images member at a time: memory stays bounded by one split. */
export class WholeMemberCache {
  private current: { key: string; pixels: Promise<Uint8Array> } | undefined;

  pixels(member: ImagesMember): Promise<Uint8Array> {
    if (this.current?.key !== member.key) {
      const pixels = this.load(member);
      const current = { key: member.key, pixels };
      this.current = current;
      // A failed read is not kept: the next request tries again and reports the error again.
      pixels.catch(() => {
        if (this.current === current) this.current = undefined;
      });
    }
    return this.current!.pixels;
  }

  private async load(member: ImagesMember): Promise<Uint8Array> {
    const archive = await openNpzFile(member.path);
    try {
      const array = await archive.read(member.key);
      if (array.dtype !== 'uint8') throw new Error(`${memberLabel(member)}: expected uint8 pixels, got ${array.dtype}`);
      return array.data;
    } finally {
      await archive.close();
    }
  }
}

export function inMemoryRows(member: ImagesMember, cache: WholeMemberCache): RowReader {
  return {
    access: 'in-memory',
    read: async (row) => {
      const pixels = await cache.pixels(member);
      return pixels.slice(row * member.rowBytes, (row + 1) * member.rowBytes);
    },
  };
}

/** Compressed bytes read per step of a stream: small, so that a pause leaves little inflated ahead. */
const STREAM_INPUT_CHUNK_SIZE = 256 * 1024;
/** Recent rows a stream keeps, so that requests slightly out of order (concurrent decodes) need no restart. */
export const STREAM_WINDOW_BYTES = 32 * 1024 * 1024;
/** A stream no one asked anything of for this long closes its file; a later request starts over. */
const STREAM_IDLE_MILLISECONDS = 30_000;

interface Waiter {
  resolve(row: Uint8Array): void;
  reject(error: unknown): void;
}

/** An error this module made, which already names the member. */
class MemberReadError extends Error {}

/** One pass of inflation over a deflated images member, handing out rows as it produces them. */
class RowStream {
  private produced = 0;
  private headerBytesLeft: number;
  private partial: Uint8Array;
  private partialFill = 0;
  private readonly window = new Map<number, Uint8Array>();
  private readonly waiters = new Map<number, Waiter[]>();
  private highestRequested = -1;
  /** Rows below this have left the window. */
  private evictedBelow = 0;
  private wake: (() => void) | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private failure: unknown;
  private stopped = false;
  private retiring = false;
  private checksum = 0;
  /** The last row waits for the CRC-32 of the whole member before it is handed out. */
  private lastRow: Uint8Array | undefined;
  private readonly windowRows: number;
  private readonly readAheadRows: number;

  constructor(
    private readonly member: ImagesMember,
    windowBytes: number,
  ) {
    this.windowRows = Math.max(16, Math.floor(windowBytes / member.rowBytes));
    this.readAheadRows = Math.floor(this.windowRows / 2);
    this.headerBytesLeft = member.npyDataOffset;
    this.partial = new Uint8Array(member.rowBytes);
    void this.pump();
  }

  /** Whether `row` can still come from this stream without starting over. */
  canServe(row: number): boolean {
    if (this.failure !== undefined || this.retiring) return false;
    if (this.window.has(row)) return true;
    return !this.stopped && row >= this.produced;
  }

  request(row: number): Promise<Uint8Array> {
    const kept = this.window.get(row);
    if (kept !== undefined) return Promise.resolve(kept.slice());
    return new Promise<Uint8Array>((resolve, reject) => {
      const waiting = this.waiters.get(row);
      if (waiting === undefined) this.waiters.set(row, [{ resolve, reject }]);
      else waiting.push({ resolve, reject });
      if (row > this.highestRequested) {
        this.highestRequested = row;
        this.evict();
      }
      this.wake?.();
    });
  }

  /** No new requests; stops as soon as the requests already made are answered. */
  retire(): void {
    this.retiring = true;
    if (this.waiters.size === 0) this.stop();
  }

  private stop(): void {
    this.stopped = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.wake?.();
  }

  private async pump(): Promise<void> {
    const { member } = this;
    let handle: FileHandle | undefined;
    try {
      handle = await open(member.path, 'r');
      const { size } = await handle.stat();
      const source = byteSourceFromFileHandle(handle, size, member.path);
      await inflateRawWithZlib(this.compressedChunks(source), (chunk) => this.consume(chunk));
      if (this.stopped) return;
      if (this.produced !== member.rows || this.partialFill !== 0 || this.headerBytesLeft !== 0) {
        throw new MemberReadError(
          `${memberLabel(member)}: the deflated data ended after ${this.produced} of ${member.rows} rows; the archive is truncated or corrupt`,
        );
      }
      if (this.checksum !== member.entry.crc32) {
        throw new MemberReadError(
          `${memberLabel(member)}: CRC-32 mismatch: the central directory says 0x${hex32(member.entry.crc32)}, ` +
            `the data gives 0x${hex32(this.checksum)}; the member is corrupt`,
        );
      }
      if (this.lastRow !== undefined) this.keep(member.rows - 1, this.lastRow);
    } catch (error) {
      if (this.stopped) return;
      this.fail(
        error instanceof MemberReadError || (error instanceof Error && error.message.startsWith(member.path))
          ? error
          : new Error(`${memberLabel(member)}: deflate data could not be decompressed (${(error as Error).message}); the archive is corrupt or truncated`, {
              cause: error,
            }),
      );
    } finally {
      this.stopped = true;
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      await handle?.close().catch(() => undefined);
    }
  }

  private async *compressedChunks(source: ByteSource): AsyncGenerator<Uint8Array> {
    const { memberDataOffset, entry } = this.member;
    for (let position = 0; position < entry.compressedSize; position += STREAM_INPUT_CHUNK_SIZE) {
      // Inflate further only while someone waits for a row not produced yet, plus a little read-ahead.
      while (!this.stopped && this.produced > this.highestRequested + this.readAheadRows) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.idleTimer = setTimeout(() => this.stop(), STREAM_IDLE_MILLISECONDS);
          this.idleTimer.unref();
        });
        this.wake = undefined;
        if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      }
      if (this.stopped) return;
      yield await source.read(memberDataOffset + position, Math.min(STREAM_INPUT_CHUNK_SIZE, entry.compressedSize - position));
    }
  }

  private consume(chunk: Uint8Array): boolean {
    if (this.stopped) return false;
    const { member } = this;
    this.checksum = crc32(chunk, this.checksum);
    let offset = 0;
    if (this.headerBytesLeft > 0) {
      offset = Math.min(this.headerBytesLeft, chunk.byteLength);
      this.headerBytesLeft -= offset;
    }
    while (offset < chunk.byteLength) {
      if (this.produced >= member.rows) {
        throw new MemberReadError(`${memberLabel(member)}: the deflated data holds more than the ${member.rows} rows its header promises`);
      }
      const take = Math.min(member.rowBytes - this.partialFill, chunk.byteLength - offset);
      this.partial.set(chunk.subarray(offset, offset + take), this.partialFill);
      this.partialFill += take;
      offset += take;
      if (this.partialFill === member.rowBytes) {
        const row = this.produced++;
        if (row === member.rows - 1) this.lastRow = this.partial;
        else this.keep(row, this.partial);
        this.partial = new Uint8Array(member.rowBytes);
        this.partialFill = 0;
      }
    }
    return !this.stopped;
  }

  /**
   * The window holds the rows from `windowRows` behind the furthest request onwards: rows inflated ahead of
   * every request stay until asked for (one input chunk's worth plus the read-ahead, so bounded), and rows
   * far behind go.
   */
  private windowStart(): number {
    return this.highestRequested - this.windowRows + 1;
  }

  private evict(): void {
    const start = this.windowStart();
    for (; this.evictedBelow < start && this.evictedBelow < this.produced; this.evictedBelow++) this.window.delete(this.evictedBelow);
  }

  private keep(row: number, pixels: Uint8Array): void {
    if (row >= this.windowStart()) this.window.set(row, pixels);
    const waiting = this.waiters.get(row);
    if (waiting !== undefined) {
      this.waiters.delete(row);
      for (const waiter of waiting) waiter.resolve(pixels.slice());
      if (this.retiring && this.waiters.size === 0) this.stop();
    }
  }

  private fail(error: unknown): void {
    this.failure = error;
    for (const waiting of this.waiters.values()) for (const waiter of waiting) waiter.reject(error);
    this.waiters.clear();
  }
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Deflated member too large to keep: rows come from a stream, started over when a request falls behind it. */
export class StreamedRows implements RowReader {
  readonly access = 'streamed';
  private stream: RowStream | undefined;
  /** Passes started over because a row was asked for after the stream had left it behind. */
  restarts = 0;

  constructor(
    private readonly member: ImagesMember,
    private readonly windowBytes = STREAM_WINDOW_BYTES,
  ) {}

  read(row: number): Promise<Uint8Array> {
    if (this.stream === undefined || !this.stream.canServe(row)) {
      if (this.stream !== undefined) {
        this.stream.retire();
        this.restarts++;
      }
      this.stream = new RowStream(this.member, this.windowBytes);
    }
    return this.stream.request(row);
  }
}

/** Chooses how rows of a member are read (see the module comment). */
export function rowReader(
  member: ImagesMember,
  file: SharedFile,
  cache: WholeMemberCache,
  maxInMemoryBytes: number,
  streamWindowBytes = STREAM_WINDOW_BYTES,
): RowReader {
  if (member.entry.compressionMethod === COMPRESSION_STORED) return positionedRows(member, file);
  if (member.entry.uncompressedSize <= maxInMemoryBytes) return inMemoryRows(member, cache);
  return new StreamedRows(member, streamWindowBytes);
}
