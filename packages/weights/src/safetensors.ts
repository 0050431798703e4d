/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
 * UTF-8 JSON (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__":
 * {"key": "value"}}`, padded with spaces to a multiple of 8 bytes), then the tensors' little-endian C-order
 * bytes, which must cover the rest of the file exactly, without holes or overlaps. Written byte for byte
 * as the reference implementation writes it: compact JSON, `__metadata__` first, tensors ordered by element
 * type (larger alignment first, so every tensor is aligned) and then by name, offsets back to back.
 */
import { joinBytes, quoteText, truncateText } from '@medssl/arrays';
import { CheckpointFormatError } from './errors.js';
import { CheckpointTensor, decodeElements, elementCount, formatShape, plainBytes, type CheckpointDType } from './tensor.js';

export type SafetensorsDType = 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

/** The reference implementation's dtype order, which decides the order tensors are written in. */
const DTYPE_ORDER: readonly SafetensorsDType[] = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

const READ_DTYPES: Readonly<Partial<Record<SafetensorsDType, CheckpointDType>>> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  U16: 'uint16',
  F16: 'float16',
  BF16: 'bfloat16',
  I32: 'int32',
  U32: 'uint32',
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  U64: 'uint64',
};

const DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The reference implementation refuses larger headers. */
const MAXIMUM_HEADER_SIZE = 100_000_000;
/**
 * A header nests three deep (the header, a tensor's entry, its shape); deeper JSON is refused by a scan
 * before JSON.parse, so that no reader (ours, or one that walks the parsed value) recurses over it.
 */
const MAXIMUM_HEADER_DEPTH = 8;
const METADATA_KEY = '__metadata__';

export interface SafetensorsContents {
  /** Tensors by name, in file order. Floating types are read as float32 (see `CheckpointTensor`). */
  readonly tensors: Map<string, CheckpointTensor>;
  /** The free-form `__metadata__` strings; empty when the file has none. */
  readonly metadata: Map<string, string>;
  /** Bytes of the JSON header. */
  readonly headerByteLength: number;
}

/** Whether `bytes` start like a safetensors file: a plausible header length followed by `{`. */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 10) return false;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return headerLength >= 2n && headerLength <= BigInt(MAXIMUM_HEADER_SIZE) && bytes[8] === 0x7b;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How deep the JSON in `bytes` nests, counting brackets outside strings, and where it first passes
 * `maximum` (then it stops looking). The bytes are UTF-8, in which `"`, `\\`, `[` and `{` are never part
 * of a longer character.
 */
function jsonDepthExceeded(bytes: Uint8Array, maximum: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (inString) {
      if (byte === 0x5c) index++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maximum) return index;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return undefined;
}

/** A bounded description of a parsed JSON value for messages: it never recurses and never echoes much. */
function describeJson(value: unknown): string {
  if (typeof value === 'string') return quoteText(value);
  if (value === undefined) return 'nothing';
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    const plain = value.length <= 16 && value.every((item) => item === null || typeof item !== 'object');
    return plain
      ? truncateText(`[${value.map((item) => (typeof item === 'string' ? JSON.stringify(item) : String(item))).join(', ')}]`)
      : `a list of ${value.length} items`;
  }
  const keys = Object.keys(value);
  return keys.length === 0 ? 'an empty object' : `an object with keys ${truncateText(keys.map((key) => JSON.stringify(key)).join(', '))}`;
}

/**
 * Reads a whole safetensors file; every rule of the format is checked, and errors name the tensor.
 * `shareMemory`: as in `ReadCheckpointOptions`.
 */
export function readSafetensors(input: Uint8Array, fileName = 'model.safetensors', options: { readonly shareMemory?: boolean } = {}): SafetensorsContents {
  const bytes = plainBytes(input);
  const fail = (message: string): never => {
    throw new CheckpointFormatError(fileName, message);
  };
  if (bytes.byteLength < 8) fail(`truncated: a safetensors file starts with an 8-byte header length, but the file has ${bytes.byteLength} bytes`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAXIMUM_HEADER_SIZE)) fail(`header length ${headerLength} exceeds the format's limit of ${MAXIMUM_HEADER_SIZE} bytes`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.byteLength) fail(`truncated: the header needs bytes 8 to ${dataStart}, but the file has ${bytes.byteLength}`);

  const headerBytes = bytes.subarray(8, dataStart);
  const tooDeep = jsonDepthExceeded(headerBytes, MAXIMUM_HEADER_DEPTH);
  if (tooDeep !== undefined) {
    fail(`the header nests brackets more than ${MAXIMUM_HEADER_DEPTH} deep at byte ${8 + tooDeep}; the format needs 3 (header, tensor, shape)`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    if (!text.startsWith('{')) fail(`the header should be a JSON object starting with "{", got ${quoteText(text.slice(0, 20))}`);
    header = JSON.parse(text);
  } catch (error) {
    if (error instanceof CheckpointFormatError) throw error;
    throw new CheckpointFormatError(
      fileName,
      `the header is not valid UTF-8 JSON (${truncateText(error instanceof Error ? error.message : String(error), 160)})`,
      {
        cause: error,
      },
    );
  }
  if (!isRecord(header)) return fail('the header is not a JSON object');

  const metadata = new Map<string, string>();
  const rawMetadata = header[METADATA_KEY];
  if (rawMetadata !== undefined) {
    if (!isRecord(rawMetadata)) fail(`${METADATA_KEY} should map strings to strings, got ${describeJson(rawMetadata)}`);
    for (const [key, value] of Object.entries(rawMetadata as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`${METADATA_KEY}.${truncateText(key)} should be a string, got ${describeJson(value)}`);
      metadata.set(key, value as string);
    }
  }

  interface Entry {
    name: string;
    dtype: CheckpointDType;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  const dataLength = bytes.byteLength - dataStart;
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const tensorName = truncateText(name);
    if (!isRecord(info)) return fail(`tensor ${tensorName}: expected {dtype, shape, data_offsets}, got ${describeJson(info)}`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !(DTYPE_ORDER as readonly string[]).includes(dtype)) {
      return fail(`tensor ${tensorName}: unknown dtype ${describeJson(dtype)}; the format defines ${DTYPE_ORDER.join(', ')}`);
    }
    const readType = READ_DTYPES[dtype as SafetensorsDType];
    if (readType === undefined) return fail(`tensor ${tensorName}: dtype ${dtype} (8-bit float) is not read by medssl`);
    if (!Array.isArray(shape) || !shape.every((extent) => Number.isSafeInteger(extent) && extent >= 0)) {
      return fail(`tensor ${tensorName}: shape should be a list of non-negative integers, got ${describeJson(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0)) {
      return fail(`tensor ${tensorName}: data_offsets should be [begin, end], got ${describeJson(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expectedLength = elementCount(shape as number[]) * DTYPE_SIZES[dtype as SafetensorsDType];
    if (end - begin !== expectedLength) {
      return fail(
        `tensor ${tensorName}: ${dtype} of shape ${truncateText(formatShape(shape as number[]))} needs ${expectedLength} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: readType, shape: shape as number[], begin, end });
  }

  // The format requires the tensors to tile the data exactly; checking it catches truncation and corruption.
  const byOffset = [...entries].sort((left, right) => left.begin - right.begin || left.end - right.end);
  let covered = 0;
  for (const entry of byOffset) {
    if (entry.begin !== covered) {
      fail(
        `tensor ${truncateText(entry.name)}: data_offsets start at ${entry.begin}, expected ${covered} (tensors must follow each other without gaps or overlaps)`,
      );
    }
    covered = entry.end;
  }
  if (covered !== dataLength) {
    fail(
      covered > dataLength
        ? `truncated: the header describes ${covered} bytes of tensor data, but the file holds ${dataLength} after the header`
        : `${dataLength - covered} bytes after the last tensor's data are not described by the header`,
    );
  }

  const tensors = new Map<string, CheckpointTensor>();
  for (const entry of byOffset) {
    const region = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(
      entry.name,
      new CheckpointTensor(entry.dtype, entry.shape, decodeElements(entry.dtype, region, elementCount(entry.shape), options.shareMemory ?? false)),
    );
  }
  return { tensors, metadata, headerByteLength: dataStart - 8 };
}

/** Typed arrays the writer stores, each as the safetensors type of the same width and kind. */
export type WritableTensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/**
 * A tensor to write: the contract's float32 `Tensor`, a `CheckpointTensor`, or any typed array with a
 * shape. The data's type decides the stored type; a Uint8Array is U8 unless `dtype` is `'bool'`.
 */
export interface WritableTensor {
  readonly data: WritableTensorData;
  readonly shape: readonly number[];
  readonly dtype?: CheckpointDType | string;
}

const TYPED_ARRAY_DTYPES: Readonly<Record<string, SafetensorsDType>> = {
  Float32Array: 'F32',
  Float64Array: 'F64',
  BigInt64Array: 'I64',
  BigUint64Array: 'U64',
  Int32Array: 'I32',
  Uint32Array: 'U32',
  Int16Array: 'I16',
  Uint16Array: 'U16',
  Int8Array: 'I8',
  Uint8Array: 'U8',
};

function safetensorsDType(name: string, tensor: WritableTensor): SafetensorsDType {
  // The tag survives typed arrays from another realm (a worker), unlike instanceof.
  const tag = Object.prototype.toString.call(tensor.data).slice(8, -1);
  const dtype = TYPED_ARRAY_DTYPES[tag];
  if (dtype === undefined) throw new TypeError(`tensor ${name}: cannot write a ${tag}`);
  if (dtype === 'U8' && tensor.dtype === 'bool') {
    const values = tensor.data as Uint8Array;
    const bad = values.findIndex((value) => value > 1);
    if (bad >= 0) throw new RangeError(`tensor ${name}: a bool tensor holds ${values[bad]} at element ${bad}; expected 0 or 1`);
    return 'BOOL';
  }
  return dtype;
}

/** Orders strings by Unicode code point, as Rust compares UTF-8 strings (JavaScript's < compares UTF-16 units). */
function compareCodePoints(left: string, right: string): number {
  const leftPoints = Array.from(left, (character) => character.codePointAt(0)!);
  const rightPoints = Array.from(right, (character) => character.codePointAt(0)!);
  for (let index = 0; index < Math.min(leftPoints.length, rightPoints.length); index++) {
    if (leftPoints[index] !== rightPoints[index]) return leftPoints[index]! - rightPoints[index]!;
  }
  return leftPoints.length - rightPoints.length;
}

function entriesOf<T>(items: ReadonlyMap<string, T> | Readonly<Record<string, T>>): [string, T][] {
  return items instanceof Map ? [...items] : Object.entries(items as Record<string, T>);
}

/**
 * The pieces of a safetensors file, in order: the length and header, then each tensor's bytes (views of
 * the tensors' memory, not copies), so that a large file can be written without joining them.
 */
export function encodeSafetensorsParts(
  tensors: ReadonlyMap<string, WritableTensor> | Readonly<Record<string, WritableTensor>>,
  metadata?: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): Uint8Array[] {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('writing safetensors needs a little-endian host');
  const prepared = entriesOf(tensors).map(([name, tensor]) => {
    if (name === METADATA_KEY) throw new RangeError(`${METADATA_KEY} is reserved for metadata and cannot name a tensor`);
    if (!tensor.shape.every((extent) => Number.isSafeInteger(extent) && extent >= 0)) {
      throw new RangeError(`tensor ${name}: shape ${formatShape(tensor.shape)} should hold non-negative integers`);
    }
    if (elementCount(tensor.shape) !== tensor.data.length) {
      throw new RangeError(`tensor ${name}: shape ${formatShape(tensor.shape)} needs ${elementCount(tensor.shape)} values, got ${tensor.data.length}`);
    }
    return { name, dtype: safetensorsDType(name, tensor), shape: tensor.shape, data: tensor.data };
  });
  prepared.sort((left, right) => DTYPE_ORDER.indexOf(right.dtype) - DTYPE_ORDER.indexOf(left.dtype) || compareCodePoints(left.name, right.name));

  const fields: string[] = [];
  if (metadata !== undefined) {
    const metadataFields = entriesOf(metadata).map(([key, value]) => {
      if (typeof value !== 'string') throw new TypeError(`metadata ${key}: values must be strings, got ${typeof value}`);
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    fields.push(`${JSON.stringify(METADATA_KEY)}:{${metadataFields.join(',')}}`);
  }
  let offset = 0;
  const dataParts: Uint8Array[] = [];
  for (const { name, dtype, shape, data } of prepared) {
    const byteLength = data.byteLength;
    fields.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + byteLength}]}`);
    offset += byteLength;
    dataParts.push(new Uint8Array(data.buffer, data.byteOffset, byteLength));
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  // Padding the header to 8 bytes aligns every tensor, since they are ordered by alignment.
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return [head, ...dataParts];
}

/** Encodes tensors (and optional `__metadata__` strings) as a safetensors file. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, WritableTensor> | Readonly<Record<string, WritableTensor>>,
  metadata?: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): Uint8Array {
  return joinBytes(encodeSafetensorsParts(tensors, metadata));
}
