/**
 * NumPy's NPZ files: ZIP archives (stored by `np.savez`, deflated by `np.savez_compressed`) whose
 * members `<key>.npy` are NPY files.
 */
import { byteSourceFromBlob, byteSourceFromBytes, type ByteSource } from './byte-source.js';
import { ArrayFormatError } from './errors.js';
import { truncateText } from './messages.js';
import type { NdArray } from './ndarray.js';
import { npyHeaderByteLength, parseNpy, parseNpyHeader, type NpyHeader } from './npy.js';
import {
  COMPRESSION_DEFLATE,
  inflateRawWithDecompressionStream,
  memberLabel,
  readZipDirectory,
  readZipEntry,
  readZipEntryPrefix,
  type RawInflater,
  type ZipEntry,
} from './zip.js';

const DEFAULT_NAME = 'NPZ archive';
/** Enough for the header of any array numpy writes with default settings (it caps headers at 10000 bytes). */
const HEADER_PREFIX_SIZE = 4096;

/** One array of an NPZ archive, described without decoding it. */
export interface NpzMember {
  /** The array's name: the member's file name without `.npy`, as `np.load(...)[key]` takes it. */
  readonly key: string;
  readonly fileName: string;
  /** True for deflated members (`np.savez_compressed`), false for stored ones (`np.savez`). */
  readonly compressed: boolean;
  readonly compressedSize: number;
  /** Size of the NPY file: header plus data. */
  readonly uncompressedSize: number;
}

/**
 * An NPZ archive whose directory has been read but whose arrays are decoded one at a time, on
 * request: with a file or Blob source, reading one member touches only that member's bytes.
 */
export interface NpzArchive {
  /** The name used in error messages: the path or file name given when opening. */
  readonly name: string;
  /** Array names in archive order. */
  readonly keys: readonly string[];
  readonly members: readonly NpzMember[];
  /** Members that are not `.npy` files; numpy would return their raw bytes, we list but do not decode them. */
  readonly otherFileNames: readonly string[];
  has(key: string): boolean;
  /** Dtype and shape of one array, decompressing only its header. */
  readHeader(key: string): Promise<NpyHeader>;
  /** Decodes one array, checking the member's CRC-32. */
  read(key: string): Promise<NdArray>;
  /** Decodes every array, one after the other. */
  readAll(): Promise<Map<string, NdArray>>;
}

function toByteSource(source: ByteSource | Uint8Array | Blob): ByteSource {
  if (source instanceof Uint8Array) return byteSourceFromBytes(source);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return byteSourceFromBlob(source);
  return source as ByteSource;
}

export interface OpenNpzOptions {
  /** Decompressor for deflated members; defaults to the web-standard DecompressionStream. */
  inflateRaw?: RawInflater;
}

/**
 * Opens an NPZ archive held in memory, in a Blob (a browser File), or behind any {@link ByteSource}
 * (see `openNpzFile` in `./node` for files). Reads the ZIP directory only. `name` goes into errors.
 */
export async function openNpz(source: ByteSource | Uint8Array | Blob, name = DEFAULT_NAME, options: OpenNpzOptions = {}): Promise<NpzArchive> {
  const inflateRaw = options.inflateRaw ?? inflateRawWithDecompressionStream;
  const byteSource = toByteSource(source);
  const entries = await readZipDirectory(byteSource, name);
  const entriesByKey = new Map<string, ZipEntry>();
  const members: NpzMember[] = [];
  const otherFileNames: string[] = [];
  for (const entry of entries) {
    if (entry.fileName.endsWith('/')) continue; // a directory entry holds no data
    if (!entry.fileName.endsWith('.npy')) {
      otherFileNames.push(entry.fileName);
      continue;
    }
    const key = entry.fileName.slice(0, -'.npy'.length);
    if (entriesByKey.has(key)) {
      throw new ArrayFormatError(name, 'central directory', `member '${truncateText(entry.fileName)}' appears twice`);
    }
    entriesByKey.set(key, entry);
    members.push({
      key,
      fileName: entry.fileName,
      compressed: entry.compressionMethod === COMPRESSION_DEFLATE,
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
    });
  }
  const keys = members.map((member) => member.key);

  const entryFor = (key: string): ZipEntry => {
    const entry = entriesByKey.get(key);
    if (entry === undefined) {
      const available = keys.map((known) => `'${known}'`).join(', ') || 'none';
      throw new Error(`${name}: no array named '${truncateText(key)}'; the archive holds ${truncateText(available)}`);
    }
    return entry;
  };

  const read = async (key: string): Promise<NdArray> => {
    const entry = entryFor(key);
    const content = await readZipEntry(byteSource, entry, name, inflateRaw);
    return parseNpy(content, memberLabel(name, entry.fileName));
  };

  const readHeader = async (key: string): Promise<NpyHeader> => {
    const entry = entryFor(key);
    const label = memberLabel(name, entry.fileName);
    let prefix = await readZipEntryPrefix(byteSource, entry, HEADER_PREFIX_SIZE, name, inflateRaw);
    const headerLength = npyHeaderByteLength(prefix, label);
    if (headerLength > prefix.byteLength && headerLength <= entry.uncompressedSize) {
      prefix = await readZipEntryPrefix(byteSource, entry, headerLength, name, inflateRaw);
    }
    return parseNpyHeader(prefix, label);
  };

  const readAll = async (): Promise<Map<string, NdArray>> => {
    const arrays = new Map<string, NdArray>();
    for (const key of keys) arrays.set(key, await read(key));
    return arrays;
  };

  return { name, keys, members, otherFileNames, has: (key) => entriesByKey.has(key), read, readHeader, readAll };
}

/**
 * Reads every array of an NPZ archive held in memory, keyed by name (`x.npy` becomes `x`).
 * Members that are not `.npy` files are skipped (see {@link NpzArchive.otherFileNames}).
 */
export async function readNpz(bytes: Uint8Array, name = DEFAULT_NAME, options: OpenNpzOptions = {}): Promise<Map<string, NdArray>> {
  return (await openNpz(bytes, name, options)).readAll();
}
