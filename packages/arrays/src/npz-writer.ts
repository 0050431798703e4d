import { crc32 } from './crc32.js';
import type { NdArray } from './ndarray.js';
import { encodeNpyHeader } from './npy.js';

const LOCAL_FILE_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_DIRECTORY_HEADER_SIGNATURE = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const ZIP_VERSION = 20;
/** 1980-01-01, the earliest date a ZIP header can hold: the archive's bytes do not depend on the clock. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const LARGEST_OFFSET = 0xffffffff;

/**
 * An NPZ archive as `np.savez` writes it (a ZIP of stored `<key>.npy` members), as the pieces to write one
 * after the other: headers, and views of the arrays' memory rather than copies. numpy's `np.load` and
 * `@medssl/core`'s `readNpz` read it. Archives past 4 GiB would need ZIP64 and are refused.
 */
export function encodeNpzParts(arrays: ReadonlyMap<string, NdArray>): Uint8Array[] {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('writing npz needs a little-endian host');
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [key, array] of arrays) {
    const name = encoder.encode(`${key}.npy`);
    if (name.byteLength > 0xffff) throw new RangeError(`npz member ${key}: the name is ${name.byteLength} bytes long, at most 65535 fit`);
    const header = encodeNpyHeader(array);
    const data = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
    const size = header.byteLength + data.byteLength;
    const checksum = crc32(data, crc32(header));
    if (offset + 30 + name.byteLength + size > LARGEST_OFFSET) {
      throw new RangeError(`npz: the archive passes 4 GiB at member ${key}; this writer does not write ZIP64`);
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

    parts.push(local, header, data);
    central.push(entry);
    offset += local.byteLength + size;
  }
  const centralSize = central.reduce((sum, entry) => sum + entry.byteLength, 0);
  if (arrays.size > 0xffff || offset + centralSize > LARGEST_OFFSET)
    throw new RangeError(`npz: ${arrays.size} members in ${offset + centralSize} bytes need ZIP64, which this writer does not write`);
  const end = new Uint8Array(22);
  const endView = new DataView(end.buffer);
  endView.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true);
  endView.setUint16(8, arrays.size, true);
  endView.setUint16(10, arrays.size, true);
  endView.setUint32(12, centralSize, true);
  endView.setUint32(16, offset, true);
  return [...parts, ...central, end];
}
