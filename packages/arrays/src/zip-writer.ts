import { crc32 } from './crc32.js';

const LOCAL_FILE_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_DIRECTORY_HEADER_SIGNATURE = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const ZIP_VERSION = 20;
/** 1980-01-01, the earliest date a ZIP header can hold: the archive's bytes do not depend on the clock. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const LARGEST_OFFSET = 0xffffffff;

/** One stored (uncompressed) member of a ZIP archive: its name and its bytes, in pieces. */
export interface ZipMember {
  readonly name: string;
  readonly data: readonly Uint8Array[];
}

/**
 * A ZIP archive of stored members, as the pieces to write one after the other: headers, and the members'
 * own memory rather than copies. `np.savez` and `torch.save` write this kind of archive (numpy's and
 * PyTorch's readers, and `readZipDirectory`, read it). Archives past 4 GiB would need ZIP64 and are refused.
 */
export function encodeZipParts(members: Iterable<ZipMember>, what = 'zip'): Uint8Array[] {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  let count = 0;
  for (const member of members) {
    const name = encoder.encode(member.name);
    if (name.byteLength > 0xffff) throw new RangeError(`${what} member ${member.name}: the name is ${name.byteLength} bytes long, at most 65535 fit`);
    const size = member.data.reduce((sum, piece) => sum + piece.byteLength, 0);
    const checksum = member.data.reduce((running, piece) => crc32(piece, running), 0);
    if (offset + 30 + name.byteLength + size > LARGEST_OFFSET) {
      throw new RangeError(`${what}: the archive passes 4 GiB at member ${member.name}; this writer does not write ZIP64`);
    }
    const local = new Uint8Array(30 + name.byteLength);
    const localView = new DataView(local.buffer);
    localView.setUint32(0, LOCAL_FILE_HEADER_SIGNATURE, true);
    localView.setUint16(4, ZIP_VERSION, true);
    localView.setUint16(12, DOS_DATE, true);
    localView.setUint32(14, checksum, true);
    localView.setUint32(18, size, true);
    localView.setUint32(22, size, true);
    localView.setUint16(26, name.byteLength, true);
    local.set(name, 30);

    const entry = new Uint8Array(46 + name.byteLength);
    const entryView = new DataView(entry.buffer);
    entryView.setUint32(0, CENTRAL_DIRECTORY_HEADER_SIGNATURE, true);
    entryView.setUint16(4, ZIP_VERSION, true);
    entryView.setUint16(6, ZIP_VERSION, true);
    entryView.setUint16(14, DOS_DATE, true);
    entryView.setUint32(16, checksum, true);
    entryView.setUint32(20, size, true);
    entryView.setUint32(24, size, true);
    entryView.setUint16(28, name.byteLength, true);
    entryView.setUint32(42, offset, true);
    entry.set(name, 46);

    parts.push(local, ...member.data);
    central.push(entry);
    offset += local.byteLength + size;
    count++;
  }
  const centralSize = central.reduce((sum, entry) => sum + entry.byteLength, 0);
  if (count > 0xffff || offset + centralSize > LARGEST_OFFSET) {
    throw new RangeError(`${what}: ${count} members in ${offset + centralSize} bytes need ZIP64, which this writer does not write`);
  }
  const end = new Uint8Array(22);
  const endView = new DataView(end.buffer);
  endView.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true);
  endView.setUint16(8, count, true);
  endView.setUint16(10, count, true);
  endView.setUint32(12, centralSize, true);
  endView.setUint32(16, offset, true);
  return [...parts, ...central, end];
}
