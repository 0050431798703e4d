/**
 * NumPy's NPY format, versions 1.0, 2.0 and 3.0, after the specification in numpy's
 * `numpy/lib/format.py` (NEP 1): a magic string, a version, a header length, a Python dict literal
 * with `descr`, `fortran_order` and `shape`, padding, then the raw elements.
 */
import { ArrayFormatError } from './errors.js';
import { assertNdArray, bytesPerElement, elementCount, formatShape, typedArrayConstructor, type AnyTypedArray, type DType, type NdArray } from './ndarray.js';
import { quoteText, truncateText } from './messages.js';
import { formatPythonLiteral, parsePythonLiteral, type PythonLiteral } from './python-literal.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy pads headers so that the data starts at a multiple of this, which lets it memory-map. */
const DATA_ALIGNMENT = 64;
/** numpy leaves room for this many digits in the growth axis so that appends can rewrite the header in place. */
const GROWTH_AXIS_MAXIMUM_DIGITS = 21;
const DEFAULT_NAME = 'NPY data';
/**
 * numpy's own reader refuses longer headers unless told they are trusted (`max_header_size`, numpy 1.24);
 * the header of an array of a supported dtype is under 200 bytes.
 */
const MAXIMUM_HEADER_BYTES = 10_000;
/** numpy's NPY_MAXDIMS (32 before numpy 2.0, 64 since). */
const MAXIMUM_DIMENSIONS = 64;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The type codes of `descr` (without byte order), numpy's `dtype.str[1:]`. */
const DTYPE_BY_TYPE_CODE: Readonly<Record<string, DType>> = {
  b1: 'bool',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  u4: 'uint32',
  i4: 'int32',
  u8: 'uint64',
  i8: 'int64',
  f4: 'float32',
  f8: 'float64',
};

const TYPE_CODE_BY_DTYPE = Object.fromEntries(Object.entries(DTYPE_BY_TYPE_CODE).map(([code, dtype]) => [dtype, code])) as Record<DType, string>;

const SUPPORTED_DESCRIPTIONS = '|b1, |u1, |i1, <u2, <i2, <u4, <i4, <u8, <i8, <f4, <f8 (or > for big-endian)';

/** What the header of an NPY file says. */
export interface NpyHeader {
  /** Format version: 1.0 and 2.0 differ in the width of the header length, 3.0 allows UTF-8 headers. */
  readonly version: { readonly major: 1 | 2 | 3; readonly minor: 0 };
  readonly dtype: DType;
  /** `descr` as written, e.g. `<f4` or `>i8`. */
  readonly descr: string;
  readonly bigEndian: boolean;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Offset of the first data byte: the size of magic string, version, header length and header. */
  readonly dataOffset: number;
  /** Number of data bytes the header promises: elements times bytes per element. */
  readonly dataByteLength: number;
}

/**
 * Size of magic string, version, header length and header, read from the first 12 bytes (10 for
 * version 1.0). Lets a caller that streams a file know how many bytes {@link parseNpyHeader} needs.
 */
export function npyHeaderByteLength(prefix: Uint8Array, name = DEFAULT_NAME): number {
  const major = readPreamble(prefix, name);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major !== 1 && prefix.byteLength < 12) {
    throw new ArrayFormatError(name, 'header length', `truncated: expected 12 bytes of preamble, got ${prefix.byteLength}`);
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  // Checked before anyone reads or parses that many bytes of untrusted text.
  if (headerLength > MAXIMUM_HEADER_BYTES) {
    throw new ArrayFormatError(name, 'header length', `expected at most ${MAXIMUM_HEADER_BYTES} bytes (numpy's own limit), got ${headerLength}`);
  }
  return (major === 1 ? 10 : 12) + headerLength;
}

/** Checks magic string and version; returns the major version. */
function readPreamble(bytes: Uint8Array, name: string): 1 | 2 | 3 {
  if (bytes.byteLength < 10) {
    throw new ArrayFormatError(name, 'preamble', `too short to be an NPY file: expected at least 10 bytes, got ${bytes.byteLength}`);
  }
  if (!MAGIC.every((byte, index) => bytes[index] === byte)) {
    const actual = [...bytes.subarray(0, 6)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    throw new ArrayFormatError(name, 'magic string', `expected 93 4e 55 4d 50 59 ("\\x93NUMPY"), got ${actual}; this is not an NPY file`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new ArrayFormatError(name, 'format version', `expected 1.0, 2.0 or 3.0, got ${major}.${minor}`);
  }
  return major;
}

/**
 * Parses the header of an NPY file. `bytes` must hold at least the whole header (see
 * {@link npyHeaderByteLength}); the data may be absent. `name` (the file name) goes into errors.
 */
export function parseNpyHeader(bytes: Uint8Array, name = DEFAULT_NAME): NpyHeader {
  const major = readPreamble(bytes, name);
  const dataOffset = npyHeaderByteLength(bytes, name);
  const lengthFieldEnd = major === 1 ? 10 : 12;
  if (bytes.byteLength < dataOffset) {
    throw new ArrayFormatError(name, 'header', `truncated: expected ${dataOffset - lengthFieldEnd} header bytes, got ${bytes.byteLength - lengthFieldEnd}`);
  }
  const headerBytes = bytes.subarray(lengthFieldEnd, dataOffset);
  let headerText: string;
  try {
    // Versions 1.0 and 2.0 are latin-1 by specification; 3.0 exists only to allow UTF-8.
    headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(headerBytes);
  } catch (error) {
    throw new ArrayFormatError(name, 'header', `is not valid ${major === 3 ? 'UTF-8' : 'latin-1'} text`, {
      cause: error,
    });
  }

  const { value: dictionary, end } = parsePythonLiteral(headerText, name, 'header');
  if (!/^\s*$/.test(headerText.slice(end))) {
    throw new ArrayFormatError(name, 'header', `expected only spaces and a newline after the dict, got ${quoteText(headerText.slice(end))}`);
  }
  if (dictionary === null || typeof dictionary !== 'object' || dictionary.kind !== 'dict') {
    throw new ArrayFormatError(name, 'header', `expected a dict literal, got ${truncateText(formatPythonLiteral(dictionary))}`);
  }
  const keys = [...dictionary.entries.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    throw new ArrayFormatError(
      name,
      'header keys',
      `expected exactly 'descr', 'fortran_order' and 'shape', got ${truncateText(keys.map((key) => `'${key}'`).join(', ')) || 'none'}`,
    );
  }
  const { dtype, bigEndian, descr } = parseDescr(dictionary.entries.get('descr')!, name);
  const fortranOrder = dictionary.entries.get('fortran_order')!;
  if (typeof fortranOrder !== 'boolean') {
    throw new ArrayFormatError(name, "header field 'fortran_order'", `expected True or False, got ${truncateText(formatPythonLiteral(fortranOrder))}`);
  }
  const shape = parseShape(dictionary.entries.get('shape')!, name);
  const dataByteLength = elementCount(shape) * bytesPerElement(dtype);
  if (!Number.isSafeInteger(dataByteLength)) {
    throw new ArrayFormatError(name, "header field 'shape'", `${formatShape(shape)} of ${dtype} is too large to address (more than 2^53 bytes)`);
  }
  return { version: { major, minor: 0 }, dtype, descr, bigEndian, fortranOrder, shape, dataOffset, dataByteLength };
}

function parseDescr(descr: PythonLiteral, name: string): { dtype: DType; bigEndian: boolean; descr: string } {
  const field = "header field 'descr'";
  if (typeof descr !== 'string') {
    if (descr !== null && typeof descr === 'object' && descr.kind === 'list') {
      throw new ArrayFormatError(name, field, `structured dtypes (a list of fields) are not supported; got ${truncateText(formatPythonLiteral(descr))}`);
    }
    throw new ArrayFormatError(name, field, `expected a string such as '<f4', got ${truncateText(formatPythonLiteral(descr))}`);
  }
  if (/^[|<>=]?O\d*$/.test(descr)) {
    throw new ArrayFormatError(
      name,
      field,
      `object arrays ('${truncateText(descr)}') are not supported: their data is a Python pickle, and reading it would mean ` +
        'executing pickle instructions, which medssl never does. Save the array with a numeric dtype instead.',
    );
  }
  const match = /^([|<>])([a-z]\d)$/.exec(descr);
  const dtype = match === null ? undefined : DTYPE_BY_TYPE_CODE[match[2]!];
  if (match === null || dtype === undefined) {
    throw new ArrayFormatError(name, field, `expected one of ${SUPPORTED_DESCRIPTIONS}, got '${truncateText(descr)}'`);
  }
  const byteOrder = match[1]!;
  const singleByte = bytesPerElement(dtype) === 1;
  // '|' means "byte order not applicable", which only holds for one-byte types.
  if (byteOrder === '|' && !singleByte) {
    throw new ArrayFormatError(name, field, `expected '<' or '>' byte order for a ${bytesPerElement(dtype)}-byte type, got '${descr}'`);
  }
  return { dtype, bigEndian: byteOrder === '>' && !singleByte, descr };
}

function parseShape(shape: PythonLiteral, name: string): number[] {
  const valid =
    shape !== null && typeof shape === 'object' && shape.kind === 'tuple' && shape.items.every((dimension) => typeof dimension === 'number' && dimension >= 0);
  if (!valid) {
    throw new ArrayFormatError(name, "header field 'shape'", `expected a tuple of non-negative integers, got ${truncateText(formatPythonLiteral(shape))}`);
  }
  if (shape.items.length > MAXIMUM_DIMENSIONS) {
    throw new ArrayFormatError(name, "header field 'shape'", `expected at most ${MAXIMUM_DIMENSIONS} dimensions (numpy's limit), got ${shape.items.length}`);
  }
  return shape.items as number[];
}

/**
 * Reads an NPY file held in memory. Versions 1.0, 2.0 and 3.0; dtypes `|b1 |u1 |i1 <u2 <i2 <u4
 * <i4 <u8 <i8 <f4 <f8`. Big-endian data is converted to the host's byte order and Fortran-order
 * data is transposed to C order (both copy). Otherwise `data` is a view into `bytes`, without
 * copying, when the data's offset is a multiple of the element size (numpy aligns it to 64 bytes),
 * so writing to the result writes to `bytes`. 64-bit integers come back as BigInt64Array or
 * BigUint64Array; see `convertInt64`. `name` (the file name) goes into error messages.
 */
export function parseNpy(bytes: Uint8Array, name = DEFAULT_NAME): NdArray {
  const header = parseNpyHeader(bytes, name);
  const actualByteLength = bytes.byteLength - header.dataOffset;
  if (actualByteLength !== header.dataByteLength) {
    const problem = actualByteLength < header.dataByteLength ? 'truncated' : 'longer than the header says';
    throw new ArrayFormatError(
      name,
      'data',
      `${problem}: expected ${header.dataByteLength} bytes for shape ${formatShape(header.shape)} of ${header.dtype}, ` + `got ${actualByteLength}`,
    );
  }
  return decodeNpyData(header, bytes.subarray(header.dataOffset));
}

/** Turns the data section into an array in C order and host byte order. */
function decodeNpyData(header: NpyHeader, dataBytes: Uint8Array): NdArray {
  const { dtype, shape } = header;
  const count = elementCount(shape);
  const itemSize = bytesPerElement(dtype);
  const Constructor = typedArrayConstructor(dtype);
  const needsByteSwap = itemSize > 1 && header.bigEndian === HOST_IS_LITTLE_ENDIAN;
  const transposes = header.fortranOrder && shape.length > 1 && count > 0;

  let data: AnyTypedArray;
  if (count === 0) {
    data = new Constructor(0);
  } else if (!needsByteSwap && !transposes && dataBytes.byteOffset % itemSize === 0) {
    data = new Constructor(dataBytes.buffer, dataBytes.byteOffset, count);
  } else {
    data = new Constructor(count);
    const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    target.set(dataBytes);
    if (needsByteSwap) swapByteOrder(target, itemSize);
    if (transposes) data = fortranToC(data, shape, itemSize);
  }
  return { dtype, shape: [...shape], data } as NdArray;
}

/** Reverses the bytes of every element, in place. */
function swapByteOrder(bytes: Uint8Array, itemSize: number): void {
  for (let start = 0; start < bytes.length; start += itemSize) {
    for (let low = start, high = start + itemSize - 1; low < high; low++, high--) {
      const byte = bytes[low]!;
      bytes[low] = bytes[high]!;
      bytes[high] = byte;
    }
  }
}

/**
 * Copies column-major elements into row-major order. Elements are moved as unsigned integer words
 * (two 32-bit words for 8-byte types) so that float bit patterns such as NaN payloads survive.
 */
function fortranToC(source: AnyTypedArray, shape: readonly number[], itemSize: number): AnyTypedArray {
  const wordSize = Math.min(itemSize, 4);
  const wordsPerElement = itemSize / wordSize;
  const wordsOf = (array: AnyTypedArray): Uint8Array | Uint16Array | Uint32Array => {
    const length = array.byteLength / wordSize;
    if (wordSize === 1) return new Uint8Array(array.buffer, array.byteOffset, length);
    if (wordSize === 2) return new Uint16Array(array.buffer, array.byteOffset, length);
    return new Uint32Array(array.buffer, array.byteOffset, length);
  };
  const target = new (source.constructor as new (length: number) => AnyTypedArray)(source.length);
  const sourceWords = wordsOf(source);
  const targetWords = wordsOf(target);

  const dimensions = shape.length;
  // Element strides of the Fortran layout: the first axis varies fastest.
  const fortranStrides: number[] = [];
  let stride = 1;
  for (const dimension of shape) {
    fortranStrides.push(stride);
    stride *= dimension;
  }
  const index = new Array<number>(dimensions).fill(0);
  let sourceElement = 0;
  for (let targetElement = 0; targetElement < source.length; targetElement++) {
    for (let word = 0; word < wordsPerElement; word++) {
      targetWords[targetElement * wordsPerElement + word] = sourceWords[sourceElement * wordsPerElement + word]!;
    }
    // Advance the C-order index (last axis fastest), moving the Fortran offset with it.
    for (let axis = dimensions - 1; axis >= 0; axis--) {
      index[axis]!++;
      sourceElement += fortranStrides[axis]!;
      if (index[axis]! < shape[axis]!) break;
      sourceElement -= fortranStrides[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
  return target;
}

/** The header dict exactly as numpy 1.24 writes it, growth padding included. */
function headerText(dtype: DType, dimensions: readonly number[]): string {
  const byteOrder = bytesPerElement(dtype) === 1 ? '|' : '<';
  const descr = `${byteOrder}${TYPE_CODE_BY_DTYPE[dtype]}`;
  const shape = dimensions.length === 1 ? `(${dimensions[0]},)` : `(${dimensions.join(', ')})`;
  const growthPadding = dimensions.length > 0 ? ' '.repeat(GROWTH_AXIS_MAXIMUM_DIGITS - String(dimensions[0]).length) : '';
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }${growthPadding}`;
}

/**
 * The bytes that precede the data in an NPY file for this array: version 1.0 (2.0 only if the header
 * exceeds 65535 bytes), padded with spaces and a newline so that the data starts at a multiple of 64
 * bytes. Same bytes as `np.save` writes for a C-order little-endian array.
 */
export function encodeNpyHeader(array: NdArray): Uint8Array {
  assertNdArray(array);
  return encodeNpyHeaderOf(array.dtype, array.shape);
}

/**
 * {@link encodeNpyHeader} from a dtype and a shape alone: for a file whose data is written piece by
 * piece after its header.
 */
export function encodeNpyHeaderOf(dtype: DType, shape: readonly number[]): Uint8Array {
  if (!shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0)) {
    throw new RangeError(`npy header: shape must hold non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const text = headerText(dtype, shape);
  // +1 for the final newline; numpy adds a whole 64 bytes of padding when already aligned.
  const unpaddedLength = text.length + 1;
  let major: 1 | 2 = 1;
  let lengthFieldSize = 2;
  let padding = DATA_ALIGNMENT - ((8 + lengthFieldSize + unpaddedLength) % DATA_ALIGNMENT);
  if (unpaddedLength + padding > 0xffff) {
    major = 2;
    lengthFieldSize = 4;
    padding = DATA_ALIGNMENT - ((8 + lengthFieldSize + unpaddedLength) % DATA_ALIGNMENT);
  }
  const headerLength = unpaddedLength + padding;
  const bytes = new Uint8Array(8 + lengthFieldSize + headerLength);
  bytes.set(MAGIC, 0);
  bytes[6] = major;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  const offset = 8 + lengthFieldSize;
  for (let index = 0; index < text.length; index++) bytes[offset + index] = text.charCodeAt(index);
  bytes.fill(0x20, offset + text.length, bytes.length - 1);
  bytes[bytes.length - 1] = 0x0a;
  return bytes;
}

/**
 * The data section of an NPY file for this array: its elements in little-endian order. A view of
 * `array.data` (no copy) on little-endian hosts, which is every common platform.
 */
export function npyDataBytes(array: NdArray): Uint8Array {
  const itemSize = bytesPerElement(array.dtype);
  const view = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN || itemSize === 1) return view;
  const swapped = view.slice();
  swapByteOrder(swapped, itemSize);
  return swapped;
}

/**
 * Encodes an array as an NPY file: little-endian, C order, header as {@link encodeNpyHeader}. For a
 * C-order little-endian numpy array, the result equals what `np.save` writes, byte for byte.
 */
export function encodeNpy(array: NdArray): Uint8Array {
  const header = encodeNpyHeader(array);
  const data = npyDataBytes(array);
  const bytes = new Uint8Array(header.byteLength + data.byteLength);
  bytes.set(header, 0);
  bytes.set(data, header.byteLength);
  return bytes;
}
