import type { Tensor } from '@medssl/spec';

/** Element types a checkpoint may store, named as PyTorch and numpy name them. */
export type CheckpointDType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool';

/**
 * The typed array a tensor of each stored type is read into. Every floating type becomes float32, the
 * type the medssl runtimes compute in (float64 is rounded to nearest; float16 and bfloat16 widen exactly).
 * 64-bit integers stay 64-bit; booleans are bytes, 0 or 1.
 */
export interface TensorDataByDType {
  float64: Float32Array;
  float32: Float32Array;
  float16: Float32Array;
  bfloat16: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint64: BigUint64Array;
  uint32: Uint32Array;
  uint16: Uint16Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type CheckpointTensorData = TensorDataByDType[CheckpointDType];

export const FLOATING_DTYPES: ReadonlySet<CheckpointDType> = new Set(['float64', 'float32', 'float16', 'bfloat16']);

const ELEMENT_SIZES: Readonly<Record<CheckpointDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
};

/** Bytes one element of `dtype` takes in a file. */
export function storedElementSize(dtype: CheckpointDType): number {
  return ELEMENT_SIZES[dtype];
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const extent of shape) count *= extent;
  return count;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A tensor read from a checkpoint: C-order data, in memory of its own (unless the reader was asked to
 * share the file's memory), and the element type the file stored it in. Floating tensors hold float32 whatever they were
 * stored as; see {@link TensorDataByDType}.
 */
export class CheckpointTensor<D extends CheckpointDType = CheckpointDType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TensorDataByDType[D];

  constructor(dtype: D, shape: readonly number[], data: TensorDataByDType[D]) {
    if (data.length !== elementCount(shape)) {
      throw new RangeError(`a ${dtype} tensor of shape ${formatShape(shape)} needs ${elementCount(shape)} values, got ${data.length}`);
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /** float64, float32, float16 or bfloat16 in the file; `data` is then a Float32Array. */
  isFloatingPoint(): this is CheckpointTensor<'float64' | 'float32' | 'float16' | 'bfloat16'> {
    return FLOATING_DTYPES.has(this.dtype);
  }

  /** The contract's float32 {@link Tensor}; integer and boolean tensors are refused, naming `key`. */
  toTensor(key = 'tensor'): Tensor {
    if (!this.isFloatingPoint()) throw new TypeError(`${key}: a ${this.dtype} tensor is not a floating-point tensor`);
    return { data: this.data, shape: this.shape };
  }
}

/**
 * The same memory as a plain Uint8Array. A Node.js Buffer is a Uint8Array whose `slice` returns a view, not
 * a copy, which would let tensors share (and misalign) the file's memory.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A view of `bytes` as elements of `size` bytes, copying only when the offset is not a multiple of `size`. */
function alignedBuffer(bytes: Uint8Array, size: number): { buffer: ArrayBufferLike; byteOffset: number } {
  if (bytes.byteOffset % size === 0) return { buffer: bytes.buffer, byteOffset: bytes.byteOffset };
  return { buffer: bytes.slice().buffer, byteOffset: 0 };
}

/** Reverses the bytes of every element, for files written on big-endian machines. Returns a copy. */
export function swapByteOrder(bytes: Uint8Array, size: number): Uint8Array {
  const swapped = new Uint8Array(bytes.byteLength);
  for (let element = 0; element < bytes.byteLength; element += size) {
    for (let byte = 0; byte < size; byte++) swapped[element + byte] = bytes[element + size - 1 - byte]!;
  }
  return swapped;
}

let float16Table: Float32Array | undefined;

/** All 65,536 float16 values as float32: a table lookup is the fastest widening in JavaScript. */
function float16ToFloat32Table(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[bits] = mantissa === 0 ? sign * Infinity : NaN;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  float16Table = table;
  return table;
}

/** Typed arrays that hold a stored type's elements as they are, with no conversion. */
const SAME_TYPE_ARRAYS = {
  float32: Float32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/**
 * Decodes `count` little-endian elements of `dtype` from `bytes` (exactly `count` elements long) into the
 * typed array {@link TensorDataByDType} gives. The result is new memory unless `shareMemory` is set and the
 * elements need no conversion (float32, integers, bool) and are aligned in `bytes`: then it is a view of them.
 */
export function decodeElements<D extends CheckpointDType>(dtype: D, input: Uint8Array, count: number, shareMemory = false): TensorDataByDType[D] {
  const bytes = plainBytes(input);
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('reading checkpoints needs a little-endian host');
  const size = ELEMENT_SIZES[dtype];
  if (bytes.byteLength !== count * size) {
    throw new RangeError(`expected ${count * size} bytes for ${count} ${dtype} elements, got ${bytes.byteLength}`);
  }
  let data: CheckpointTensorData;
  switch (dtype) {
    case 'float64': {
      const { buffer, byteOffset } = alignedBuffer(bytes, 8);
      data = new Float32Array(new Float64Array(buffer, byteOffset, count));
      break;
    }
    case 'float16': {
      const { buffer, byteOffset } = alignedBuffer(bytes, 2);
      const halves = new Uint16Array(buffer, byteOffset, count);
      const table = float16ToFloat32Table();
      const floats = new Float32Array(count);
      for (let index = 0; index < count; index++) floats[index] = table[halves[index]!]!;
      data = floats;
      break;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const { buffer, byteOffset } = alignedBuffer(bytes, 2);
      const halves = new Uint16Array(buffer, byteOffset, count);
      const words = new Uint32Array(count);
      for (let index = 0; index < count; index++) words[index] = halves[index]! << 16;
      data = new Float32Array(words.buffer);
      break;
    }
    default: {
      const SameType = SAME_TYPE_ARRAYS[dtype as keyof typeof SAME_TYPE_ARRAYS];
      if (SameType === undefined) throw new TypeError(`unknown dtype ${String(dtype)}`);
      const share = shareMemory && bytes.byteOffset % size === 0;
      data = share ? new SameType(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) : new SameType(bytes.slice().buffer);
    }
  }
  return data as TensorDataByDType[D];
}

/**
 * The floating tensors of a flat tensor map as the contract's {@link StateDict} values (float32), in the
 * same order under the same keys; integer and boolean tensors (`num_batches_tracked`) are left out.
 */
export function floatingTensors(tensors: ReadonlyMap<string, CheckpointTensor>): Map<string, Tensor> {
  const stateDict = new Map<string, Tensor>();
  for (const [key, tensor] of tensors) if (tensor.isFloatingPoint()) stateDict.set(key, tensor.toTensor(key));
  return stateDict;
}
