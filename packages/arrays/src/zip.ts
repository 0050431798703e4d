/**
 * Reading ZIP archives, as much as NPZ files need, after PKWARE's APPNOTE.TXT (6.3): the end of
 * central directory record (section 4.3.16) and its ZIP64 forms (4.3.14, 4.3.15), the central
 * directory (4.3.12) with the ZIP64 extended information extra field (4.5.3), local file headers
 * (4.3.7), and members stored (method 0) or deflated (method 8). Sizes and offsets always come
 * from the central directory: writers that stream (data descriptors, flag bit 3) or that force
 * ZIP64, as numpy does, leave them out of the local headers.
 */
import type { ByteSource } from './byte-source.js';
import { crc32 } from './crc32.js';
import { ArrayFormatError } from './errors.js';
import { truncateText } from './messages.js';

const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const CENTRAL_DIRECTORY_HEADER_SIGNATURE = 0x02014b50;
const LOCAL_FILE_HEADER_SIGNATURE = 0x04034b50;
const ZIP64_EXTRA_FIELD_ID = 0x0001;

const END_OF_CENTRAL_DIRECTORY_SIZE = 22;
const MAXIMUM_COMMENT_LENGTH = 0xffff;
const ZIP64_LOCATOR_SIZE = 20;
const FIRST_TAIL_SIZE = 4096;
const ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE = 56;
const CENTRAL_DIRECTORY_HEADER_SIZE = 46;
const LOCAL_FILE_HEADER_SIZE = 30;

const FLAG_ENCRYPTED = 1 << 0;
const FLAG_UTF8_NAME = 1 << 11;

export const COMPRESSION_STORED = 0;
export const COMPRESSION_DEFLATE = 8;
const COMPRESSION_METHOD_NAMES: Readonly<Record<number, string>> = {
  1: 'shrink',
  6: 'implode',
  9: 'deflate64',
  12: 'bzip2',
  14: 'LZMA',
  93: 'Zstandard',
  95: 'XZ',
  99: 'AES encryption',
};

/**
 * Deflate expands at most 1032-fold (a 258-byte match in two bits); a member claiming more than that, plus
 * a little for block headers, is refused before its uncompressed size is allocated.
 */
const DEFLATE_MAXIMUM_RATIO = 1032;
const DEFLATE_RATIO_SLACK = 1024;

/** Compressed bytes handed to the decompressor at a time. */
const INFLATE_INPUT_CHUNK_SIZE = 4 * 1024 * 1024;

/** Code page 437, in which ZIP names are written unless flag bit 11 says UTF-8: bytes 0x80 to 0xFF. */
const CP437_UPPER_HALF =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** One member of a ZIP archive, as its central directory describes it. */
export interface ZipEntry {
  readonly fileName: string;
  /** 0 stored, 8 deflate; others are refused when read. */
  readonly compressionMethod: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a ZIP64 eight-byte field, refusing values past 2^53 that a number cannot hold exactly. */
function readUint64(view: DataView, offset: number, archiveName: string, field: string): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ArrayFormatError(archiveName, field, `expected a value below 2^53, got ${value}`);
  }
  return Number(value);
}

function decodeFileName(bytes: Uint8Array, flags: number, archiveName: string): string {
  if (flags & FLAG_UTF8_NAME) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (error) {
      throw new ArrayFormatError(archiveName, 'central directory', 'a file name flagged as UTF-8 is not valid UTF-8', {
        cause: error,
      });
    }
  }
  let name = '';
  for (const byte of bytes) name += byte < 0x80 ? String.fromCharCode(byte) : CP437_UPPER_HALF[byte - 0x80];
  return name;
}

/** Finds the end of central directory record, which ends the archive but may be followed by a comment. */
async function findEndOfCentralDirectory(source: ByteSource, archiveName: string): Promise<{ offset: number; record: DataView }> {
  if (source.size < END_OF_CENTRAL_DIRECTORY_SIZE) {
    throw new ArrayFormatError(
      archiveName,
      'end of central directory',
      `not found: the file has ${source.size} bytes, fewer than the ${END_OF_CENTRAL_DIRECTORY_SIZE} of that record; this is not a ZIP (NPZ) archive`,
    );
  }
  // Archives rarely carry a comment, so a short tail usually holds the record; the longest comment
  // possible decides how far back to look otherwise.
  const searchLengths = [Math.min(source.size, FIRST_TAIL_SIZE), Math.min(source.size, END_OF_CENTRAL_DIRECTORY_SIZE + MAXIMUM_COMMENT_LENGTH)];
  let searched = 0;
  for (const searchLength of searchLengths) {
    if (searchLength <= searched) continue;
    searched = searchLength;
    const tailOffset = source.size - searchLength;
    const tail = await source.read(tailOffset, searchLength);
    const view = viewOf(tail);
    // Search backwards; a record only counts if its comment length reaches exactly the end of the file.
    for (let offset = tail.byteLength - END_OF_CENTRAL_DIRECTORY_SIZE; offset >= 0; offset--) {
      if (view.getUint32(offset, true) !== END_OF_CENTRAL_DIRECTORY_SIGNATURE) continue;
      const commentLength = view.getUint16(offset + 20, true);
      if (offset + END_OF_CENTRAL_DIRECTORY_SIZE + commentLength !== tail.byteLength) continue;
      return {
        offset: tailOffset + offset,
        record: new DataView(tail.buffer, tail.byteOffset + offset, END_OF_CENTRAL_DIRECTORY_SIZE),
      };
    }
  }
  throw new ArrayFormatError(
    archiveName,
    'end of central directory',
    `signature 50 4b 05 06 not found in the last ${searched} bytes; the file is not a ZIP (NPZ) archive or is truncated`,
  );
}

interface CentralDirectoryLocation {
  entryCount: number;
  size: number;
  offset: number;
  /** Where the end records begin; the central directory must end before this. */
  endRecordsOffset: number;
}

async function locateCentralDirectory(source: ByteSource, archiveName: string): Promise<CentralDirectoryLocation> {
  const { offset: endOffset, record } = await findEndOfCentralDirectory(source, archiveName);
  const diskNumber = record.getUint16(4, true);
  const centralDirectoryDisk = record.getUint16(6, true);
  const entriesOnDisk = record.getUint16(8, true);
  let location: CentralDirectoryLocation = {
    entryCount: record.getUint16(10, true),
    size: record.getUint32(12, true),
    offset: record.getUint32(16, true),
    endRecordsOffset: endOffset,
  };

  const locatorOffset = endOffset - ZIP64_LOCATOR_SIZE;
  const locator = locatorOffset >= 0 ? viewOf(await source.read(locatorOffset, ZIP64_LOCATOR_SIZE)) : undefined;
  if (locator !== undefined && locator.getUint32(0, true) === ZIP64_LOCATOR_SIGNATURE) {
    // With ZIP64 the classic record may hold 0xFFFF/0xFFFFFFFF placeholders; the ZIP64 record is authoritative.
    const zip64Offset = readUint64(locator, 8, archiveName, 'ZIP64 end of central directory locator');
    const totalDisks = locator.getUint32(16, true);
    if (totalDisks > 1) {
      throw new ArrayFormatError(archiveName, 'ZIP64 end of central directory locator', `multi-disk archives are not supported (${totalDisks} disks)`);
    }
    if (zip64Offset + ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE > locatorOffset) {
      throw new ArrayFormatError(
        archiveName,
        'ZIP64 end of central directory locator',
        `points to offset ${zip64Offset}, which leaves no room for the ${ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE}-byte record before the locator at ${locatorOffset}`,
      );
    }
    const zip64 = viewOf(await source.read(zip64Offset, ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE));
    const signature = zip64.getUint32(0, true);
    if (signature !== ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE) {
      throw new ArrayFormatError(
        archiveName,
        'ZIP64 end of central directory',
        `expected signature 0x${ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE.toString(16)} at offset ${zip64Offset}, got 0x${signature.toString(16)}`,
      );
    }
    const zip64Disk = zip64.getUint32(16, true);
    const zip64CentralDirectoryDisk = zip64.getUint32(20, true);
    if (zip64Disk !== 0 || zip64CentralDirectoryDisk !== 0) {
      throw new ArrayFormatError(archiveName, 'ZIP64 end of central directory', 'multi-disk archives are not supported');
    }
    const zip64EntriesOnDisk = readUint64(zip64, 24, archiveName, 'ZIP64 end of central directory');
    location = {
      entryCount: readUint64(zip64, 32, archiveName, 'ZIP64 end of central directory'),
      size: readUint64(zip64, 40, archiveName, 'ZIP64 end of central directory'),
      offset: readUint64(zip64, 48, archiveName, 'ZIP64 end of central directory'),
      endRecordsOffset: zip64Offset,
    };
    if (zip64EntriesOnDisk !== location.entryCount) {
      throw new ArrayFormatError(archiveName, 'ZIP64 end of central directory', 'multi-disk archives are not supported');
    }
  } else if (diskNumber !== 0 || centralDirectoryDisk !== 0 || entriesOnDisk !== location.entryCount) {
    throw new ArrayFormatError(archiveName, 'end of central directory', 'multi-disk (spanned) archives are not supported');
  }

  if (location.offset + location.size > location.endRecordsOffset) {
    throw new ArrayFormatError(
      archiveName,
      'end of central directory',
      `says the central directory spans bytes ${location.offset} to ${location.offset + location.size}, ` +
        `past the end records at ${location.endRecordsOffset}; the archive is truncated or corrupt`,
    );
  }
  return location;
}

/** Lists the members of a ZIP archive from its central directory. `archiveName` goes into errors. */
export async function readZipDirectory(source: ByteSource, archiveName: string): Promise<ZipEntry[]> {
  const location = await locateCentralDirectory(source, archiveName);
  const directory = await source.read(location.offset, location.size);
  const view = viewOf(directory);
  const entries: ZipEntry[] = [];
  let position = 0;
  for (let index = 0; index < location.entryCount; index++) {
    const field = `central directory entry ${index}`;
    if (position + CENTRAL_DIRECTORY_HEADER_SIZE > directory.byteLength) {
      throw new ArrayFormatError(
        archiveName,
        field,
        `expected ${location.entryCount} entries in ${location.size} bytes, but the directory ends after ${index}`,
      );
    }
    const signature = view.getUint32(position, true);
    if (signature !== CENTRAL_DIRECTORY_HEADER_SIGNATURE) {
      throw new ArrayFormatError(
        archiveName,
        field,
        `expected signature 0x${CENTRAL_DIRECTORY_HEADER_SIGNATURE.toString(16)}, got 0x${signature.toString(16)}`,
      );
    }
    const flags = view.getUint16(position + 8, true);
    const compressionMethod = view.getUint16(position + 10, true);
    const checksum = view.getUint32(position + 16, true);
    let compressedSize = view.getUint32(position + 20, true);
    let uncompressedSize = view.getUint32(position + 24, true);
    const nameLength = view.getUint16(position + 28, true);
    const extraLength = view.getUint16(position + 30, true);
    const commentLength = view.getUint16(position + 32, true);
    let diskStart = view.getUint16(position + 34, true);
    let localHeaderOffset = view.getUint32(position + 42, true);
    const variableStart = position + CENTRAL_DIRECTORY_HEADER_SIZE;
    const entryEnd = variableStart + nameLength + extraLength + commentLength;
    if (entryEnd > directory.byteLength) {
      throw new ArrayFormatError(archiveName, field, `name, extra field and comment run past the end of the central directory`);
    }
    const fileName = decodeFileName(directory.subarray(variableStart, variableStart + nameLength), flags, archiveName);

    // The ZIP64 extra field holds, in this order, exactly those values whose classic field is all ones.
    let extraPosition = variableStart + nameLength;
    const extraEnd = extraPosition + extraLength;
    while (extraPosition + 4 <= extraEnd) {
      const headerId = view.getUint16(extraPosition, true);
      const dataSize = view.getUint16(extraPosition + 2, true);
      const dataStart = extraPosition + 4;
      if (dataStart + dataSize > extraEnd) {
        throw new ArrayFormatError(
          archiveName,
          `${field} ('${truncateText(fileName)}') extra field`,
          `block 0x${headerId.toString(16)} runs past the extra field`,
        );
      }
      if (headerId === ZIP64_EXTRA_FIELD_ID) {
        let cursor = dataStart;
        const take = (width: 8 | 4, what: string): number => {
          if (cursor + width > dataStart + dataSize) {
            throw new ArrayFormatError(
              archiveName,
              `${field} ('${truncateText(fileName)}') ZIP64 extra field`,
              `expected the ${what}, but the field has only ${dataSize} bytes`,
            );
          }
          const value =
            width === 8 ? readUint64(view, cursor, archiveName, `${field} ('${truncateText(fileName)}') ZIP64 ${what}`) : view.getUint32(cursor, true);
          cursor += width;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take(8, 'uncompressed size');
        if (compressedSize === 0xffffffff) compressedSize = take(8, 'compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take(8, 'local header offset');
        if (diskStart === 0xffff) diskStart = take(4, 'disk number');
      }
      extraPosition = dataStart + dataSize;
    }
    if (diskStart !== 0) {
      throw new ArrayFormatError(archiveName, `${field} ('${truncateText(fileName)}')`, `starts on disk ${diskStart}; multi-disk archives are not supported`);
    }
    entries.push({
      fileName,
      compressionMethod,
      flags,
      crc32: checksum,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    });
    position = entryEnd;
  }
  return entries;
}

/** Finds where a member's data starts, from its local header, and checks that the data fits in the archive. */
/**
 * The archive offset where a member's bytes (stored or deflated) begin, just after its local header; for
 * readers that fetch rows of a stored member with positioned reads. Errors name `archive[member]`.
 */
export function zipEntryDataOffset(source: ByteSource, entry: ZipEntry, archiveName: string): Promise<number> {
  return locateEntryData(source, entry, memberLabel(archiveName, entry.fileName));
}

async function locateEntryData(source: ByteSource, entry: ZipEntry, memberName: string): Promise<number> {
  if (entry.flags & FLAG_ENCRYPTED) {
    throw new ArrayFormatError(memberName, 'flags', 'the member is encrypted, which is not supported');
  }
  if (entry.compressionMethod !== COMPRESSION_STORED && entry.compressionMethod !== COMPRESSION_DEFLATE) {
    const methodName = COMPRESSION_METHOD_NAMES[entry.compressionMethod];
    throw new ArrayFormatError(
      memberName,
      'compression method',
      `expected 0 (stored) or 8 (deflate), got ${entry.compressionMethod}${methodName === undefined ? '' : ` (${methodName})`}`,
    );
  }
  if (entry.localHeaderOffset + LOCAL_FILE_HEADER_SIZE > source.size) {
    throw new ArrayFormatError(memberName, 'local file header', `offset ${entry.localHeaderOffset} is past the end of the ${source.size}-byte archive`);
  }
  const header = viewOf(await source.read(entry.localHeaderOffset, LOCAL_FILE_HEADER_SIZE));
  const signature = header.getUint32(0, true);
  if (signature !== LOCAL_FILE_HEADER_SIGNATURE) {
    throw new ArrayFormatError(
      memberName,
      'local file header',
      `expected signature 0x${LOCAL_FILE_HEADER_SIGNATURE.toString(16)} at offset ${entry.localHeaderOffset}, got 0x${signature.toString(16)}`,
    );
  }
  const dataOffset = entry.localHeaderOffset + LOCAL_FILE_HEADER_SIZE + header.getUint16(26, true) + header.getUint16(28, true);
  if (dataOffset + entry.compressedSize > source.size) {
    throw new ArrayFormatError(
      memberName,
      'data',
      `truncated: expected ${entry.compressedSize} bytes from offset ${dataOffset}, ` + `but the archive has ${Math.max(0, source.size - dataOffset)}`,
    );
  }
  if (entry.compressionMethod === COMPRESSION_DEFLATE && entry.uncompressedSize > entry.compressedSize * DEFLATE_MAXIMUM_RATIO + DEFLATE_RATIO_SLACK) {
    throw new ArrayFormatError(
      memberName,
      'sizes',
      `${entry.compressedSize} deflated bytes cannot hold the ${entry.uncompressedSize} the directory claims (deflate expands at most ${DEFLATE_MAXIMUM_RATIO}-fold)`,
    );
  }
  if (entry.compressionMethod === COMPRESSION_STORED && entry.compressedSize !== entry.uncompressedSize) {
    throw new ArrayFormatError(
      memberName,
      'sizes',
      `a stored member must have equal sizes, got compressed ${entry.compressedSize} and uncompressed ${entry.uncompressedSize}`,
    );
  }
  return dataOffset;
}

/**
 * Decompresses raw deflate data (ZIP method 8): takes compressed pieces from `input` and hands
 * decompressed pieces to `consume` in order, stopping early when `consume` returns false. Errors
 * from `input` or `consume` must come out unchanged. The default,
 * {@link inflateRawWithDecompressionStream}, works in browsers and Node.js; `./node.js` offers a
 * faster one built on node:zlib.
 */
export type RawInflater = (input: AsyncIterable<Uint8Array>, consume: (chunk: Uint8Array) => boolean) => Promise<void>;

/** A {@link RawInflater} on the web-standard `DecompressionStream('deflate-raw')`. */
export const inflateRawWithDecompressionStream: RawInflater = async (input, consume) => {
  if (typeof DecompressionStream !== 'function') {
    throw new Error("deflate needs the web-standard DecompressionStream('deflate-raw'), which this runtime lacks (Node.js 20+ and current browsers have it)");
  }
  const stream = new DecompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let stopped = false;
  // Fed concurrently with reading: the stream applies back-pressure, so awaiting writes alone would stall.
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (stopped) break;
        await writer.write(toArrayBufferView(chunk));
      }
      if (!stopped) await writer.close();
    } catch (error) {
      // Passes an input error on to the reading side; after a stop, writes fail by design.
      if (!stopped) await writer.abort(error).catch(() => undefined);
    }
  })();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!consume(value)) {
        stopped = true;
        await reader.cancel();
        break;
      }
    }
  } catch (error) {
    stopped = true;
    // Cancelling unblocks a write that waits for room, so that feeding can finish.
    await reader.cancel(error).catch(() => undefined);
    await feeding;
    throw error;
  }
  await feeding;
};

/**
 * Runs an inflater over a member's compressed bytes, read from `source` in chunks so that a large
 * member is never held twice, and names the member in decompression errors.
 */
async function inflateEntry(
  inflateRaw: RawInflater,
  source: ByteSource,
  dataOffset: number,
  compressedSize: number,
  consume: (chunk: Uint8Array) => boolean,
  memberName: string,
): Promise<void> {
  let inputFailure: { error: unknown } | undefined;
  async function* compressedChunks(): AsyncGenerator<Uint8Array> {
    for (let position = 0; position < compressedSize; position += INFLATE_INPUT_CHUNK_SIZE) {
      try {
        yield await source.read(dataOffset + position, Math.min(INFLATE_INPUT_CHUNK_SIZE, compressedSize - position));
      } catch (error) {
        inputFailure = { error };
        throw error;
      }
    }
  }
  try {
    await inflateRaw(compressedChunks(), consume);
  } catch (error) {
    // Failures to read the archive (I/O errors) and our own format errors pass through as they are.
    if (error instanceof ArrayFormatError || (inputFailure !== undefined && error === inputFailure.error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ArrayFormatError(memberName, 'deflate data', `could not be decompressed (${reason}); the archive is corrupt or truncated`, {
      cause: error,
    });
  }
}

/** DecompressionStream accepts views of ordinary ArrayBuffers only, not of SharedArrayBuffers. */
function toArrayBufferView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}

/** Label for errors about one member, e.g. `data.npz[train_images.npy]`. */
export function memberLabel(archiveName: string, fileName: string): string {
  return `${archiveName}[${truncateText(fileName)}]`;
}

/**
 * Reads and, if deflated, decompresses one member, then checks its CRC-32 against the central
 * directory. For a stored member of an in-memory archive the result is a view of the archive.
 */
export async function readZipEntry(
  source: ByteSource,
  entry: ZipEntry,
  archiveName: string,
  inflateRaw: RawInflater = inflateRawWithDecompressionStream,
): Promise<Uint8Array> {
  const memberName = memberLabel(archiveName, entry.fileName);
  const dataOffset = await locateEntryData(source, entry, memberName);
  let content: Uint8Array;
  if (entry.compressionMethod === COMPRESSION_STORED) {
    content = await source.read(dataOffset, entry.compressedSize);
  } else {
    try {
      content = new Uint8Array(entry.uncompressedSize);
    } catch (error) {
      throw new ArrayFormatError(memberName, 'uncompressed size', `${entry.uncompressedSize} bytes do not fit in one array in this runtime`, {
        cause: error,
      });
    }
    let written = 0;
    await inflateEntry(
      inflateRaw,
      source,
      dataOffset,
      entry.compressedSize,
      (chunk) => {
        if (written + chunk.byteLength > entry.uncompressedSize) {
          throw new ArrayFormatError(memberName, 'uncompressed size', `expected ${entry.uncompressedSize} bytes, but decompression produced more`);
        }
        content.set(chunk, written);
        written += chunk.byteLength;
        return true;
      },
      memberName,
    );
    if (written !== entry.uncompressedSize) {
      throw new ArrayFormatError(memberName, 'uncompressed size', `expected ${entry.uncompressedSize} bytes, decompression produced ${written}`);
    }
  }
  const actualChecksum = crc32(content);
  if (actualChecksum !== entry.crc32) {
    throw new ArrayFormatError(
      memberName,
      'CRC-32',
      `mismatch: the central directory says 0x${entry.crc32.toString(16).padStart(8, '0')}, ` +
        `the data gives 0x${actualChecksum.toString(16).padStart(8, '0')}; the member is corrupt`,
    );
  }
  return content;
}

/**
 * Reads the first `byteCount` bytes of a member (fewer if the member is shorter), decompressing only
 * as much as needed. The CRC-32 cannot be checked on part of a member.
 */
export async function readZipEntryPrefix(
  source: ByteSource,
  entry: ZipEntry,
  byteCount: number,
  archiveName: string,
  inflateRaw: RawInflater = inflateRawWithDecompressionStream,
): Promise<Uint8Array> {
  const memberName = memberLabel(archiveName, entry.fileName);
  const dataOffset = await locateEntryData(source, entry, memberName);
  const wanted = Math.min(byteCount, entry.uncompressedSize);
  if (entry.compressionMethod === COMPRESSION_STORED) return source.read(dataOffset, wanted);
  const prefix = new Uint8Array(wanted);
  let written = 0;
  if (wanted > 0) {
    await inflateEntry(
      inflateRaw,
      source,
      dataOffset,
      entry.compressedSize,
      (chunk) => {
        const part = chunk.subarray(0, wanted - written);
        prefix.set(part, written);
        written += part.byteLength;
        return written < wanted;
      },
      memberName,
    );
  }
  return prefix.subarray(0, written);
}
