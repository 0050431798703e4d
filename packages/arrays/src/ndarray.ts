/**
 * N-dimensional arrays as plain typed arrays with a shape, the form in which medssl packages hand
 * arrays to each other (see ARCHITECTURE.md). Element types carry numpy's names.
 */

/** Element types read and written by this module, named as numpy names them. */
export type DType = 'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64' | 'int64' | 'uint64';

/**
 * The typed array holding each element type. Booleans are one byte each, 0 or 1, as numpy stores
 * them. 64-bit integers stay 64-bit (`BigInt64Array`, `BigUint64Array`) so that no value is lost;
 * {@link convertInt64} narrows them to numbers with a range check.
 */
export interface TypedArrayByDType {
  bool: Uint8Array;
  uint8: Uint8Array;
  int8: Int8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  uint32: Uint32Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
}

/** An array of one element type: `data` holds the elements in C (row-major) order. */
export interface NdArrayOf<D extends DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayByDType[D];
}

/** Any supported array; checking `dtype` narrows `data` to its typed array. */
export type NdArray = { [D in DType]: NdArrayOf<D> }[DType];

export type AnyTypedArray = TypedArrayByDType[DType];

export const ALL_DTYPES: readonly DType[] = ['bool', 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64', 'int64', 'uint64'];

type TypedArrayConstructor<D extends DType> = {
  new (length: number): TypedArrayByDType[D];
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArrayByDType[D];
  readonly BYTES_PER_ELEMENT: number;
};

const TYPED_ARRAY_CONSTRUCTORS: { [D in DType]: TypedArrayConstructor<D> } = {
  bool: Uint8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: DType): number {
  return TYPED_ARRAY_CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

export function typedArrayConstructor<D extends DType>(dtype: D): TypedArrayConstructor<D> {
  return TYPED_ARRAY_CONSTRUCTORS[dtype];
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(TYPED_ARRAY_CONSTRUCTORS, value);
}

/** Number of elements of an array of this shape (1 for a 0-d array). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dimension of shape) count *= dimension;
  return count;
}

/** Formats a shape the way Python prints a tuple, which is how numpy users read shapes. */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * Checks that an array is well formed: a known dtype, non-negative integer dimensions, and a typed
 * array of the dtype's kind holding exactly as many elements as the shape says.
 * `name` says which array, for the error message.
 */
export function assertNdArray(array: NdArray, name = 'array'): void {
  if (!isDType(array.dtype)) {
    throw new Error(`${name}: dtype: expected one of ${ALL_DTYPES.join(', ')}, got ${String(array.dtype)}`);
  }
  assertShape(array.shape, name);
  // The tag survives typed arrays made in another realm (a worker, a vm context), unlike instanceof.
  const expectedTag = `[object ${TYPED_ARRAY_CONSTRUCTORS[array.dtype].name}]`;
  const actualTag = Object.prototype.toString.call(array.data);
  if (actualTag !== expectedTag) {
    throw new Error(`${name}: data: expected ${expectedTag.slice(8, -1)} for dtype ${array.dtype}, got ${actualTag.slice(8, -1)}`);
  }
  const expectedLength = elementCount(array.shape);
  if (array.data.length !== expectedLength) {
    throw new Error(`${name}: data length: expected ${expectedLength} elements for shape ${formatShape(array.shape)}, got ${array.data.length}`);
  }
}

function assertShape(shape: readonly number[], name: string): void {
  if (!Array.isArray(shape) || !shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0)) {
    throw new Error(`${name}: shape: expected non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

/**
 * Makes an array of a dtype and shape, filled with zeros, or wrapping `data` (not copied) after
 * checking that it matches the shape.
 */
export function createNdArray<D extends DType>(dtype: D, shape: readonly number[], data?: TypedArrayByDType[D]): NdArrayOf<D> {
  assertShape(shape, 'array');
  const array = {
    dtype,
    shape: [...shape],
    data: data ?? new TYPED_ARRAY_CONSTRUCTORS[dtype](elementCount(shape)),
  } as NdArrayOf<D>;
  assertNdArray(array as NdArray);
  return array;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Converts a 64-bit integer array (numpy's default integer type, so common in label files) to
 * `int32` or `float64`, refusing any value that the target cannot hold exactly: outside
 * [-2^31, 2^31 - 1] for int32, beyond ±(2^53 - 1) for float64. The error names the first such
 * element by its flat index.
 */
export function convertInt64<T extends 'int32' | 'float64'>(array: NdArrayOf<'int64'> | NdArrayOf<'uint64'>, targetDType: T, name = 'array'): NdArrayOf<T> {
  const minimum = targetDType === 'int32' ? INT32_MIN : SAFE_MIN;
  const maximum = targetDType === 'int32' ? INT32_MAX : SAFE_MAX;
  const source = array.data;
  const target = new TYPED_ARRAY_CONSTRUCTORS[targetDType](source.length) as Int32Array | Float64Array;
  for (let index = 0; index < source.length; index++) {
    const value = source[index]!;
    if (value < minimum || value > maximum) {
      throw new RangeError(
        `${name}: element ${index} (${value}) of a ${array.dtype} array does not fit in ${targetDType} ` + `(range ${minimum} to ${maximum})`,
      );
    }
    target[index] = Number(value);
  }
  return { dtype: targetDType, shape: [...array.shape], data: target } as unknown as NdArrayOf<T>;
}
