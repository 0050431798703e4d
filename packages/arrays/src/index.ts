/**
 * NumPy array files, browser-safe: NPY read and write, NPZ (ZIP) read and write. File helpers live in
 * `./node.js`.
 */
export {
  ALL_DTYPES,
  assertNdArray,
  bytesPerElement,
  convertInt64,
  createNdArray,
  elementCount,
  formatShape,
  type AnyTypedArray,
  type DType,
  type NdArray,
  type NdArrayOf,
  type TypedArrayByDType,
} from './ndarray.js';
export { ArrayFormatError } from './errors.js';
export { encodeNpy, encodeNpyHeader, encodeNpyHeaderOf, npyHeaderByteLength, parseNpy, parseNpyHeader, type NpyHeader } from './npy.js';
export { openNpz, readNpz, type NpzArchive, type NpzMember, type OpenNpzOptions } from './npz.js';
export { encodeNpzParts } from './npz-writer.js';
export { encodeZipParts, type ZipMember } from './zip-writer.js';
export { byteSourceFromBlob, byteSourceFromBytes, type ByteSource } from './byte-source.js';
export {
  inflateRawWithDecompressionStream,
  readZipDirectory,
  readZipEntry,
  zipEntryDataOffset,
  type RawInflater,
  type ZipEntry,
} from './zip.js';
export { crc32 } from './crc32.js';
export { joinBytes } from './bytes.js';
export { MESSAGE_ECHO_LIMIT, quoteText, truncateText } from './messages.js';
