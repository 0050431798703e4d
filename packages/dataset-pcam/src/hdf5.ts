// The thin layer over h5wasm: loading it once, turning HDF5's error stack into errors that name the file,
// and opening one uint8 array with its shape and type checked.
import type { Dataset as Hdf5Dataset, File as Hdf5File, Metadata } from 'h5wasm/node';

export type { Hdf5Dataset, Hdf5File };

type H5wasmModule = typeof import('h5wasm/node');
type H5wasmRuntime = Awaited<H5wasmModule['ready']>;

export interface Hdf5 {
  readonly h5wasm: H5wasmModule;
  readonly runtime: H5wasmRuntime;
}

let loading: Promise<Hdf5> | undefined;

/**
 * h5wasm's Node build reads host files through Emscripten's NODERAWFS: HDF5 seeks and reads only the bytes a
 * slice needs, so a file is never loaded whole. It is imported on first use, so importing this package (for
 * `pcamInfo`) stays cheap.
 */
export function loadHdf5(): Promise<Hdf5> {
  loading ??= import('h5wasm/node').then(
    async (h5wasm) => ({ h5wasm, runtime: await h5wasm.ready }),
    (error: Error) => {
      loading = undefined;
      throw new Error(`reading PatchCamelyon needs the "h5wasm" package (npm install h5wasm): ${error.message}`);
    },
  );
  return loading;
}

/** The innermost frame of an HDF5 error stack ("H5Z_pipeline(): filter returned failure during read"). */
export function describeHdf5Error(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/#\d+:.* in ([\w]+\(\)): (.*)$/gm)];
  const innermost = frames.at(-1);
  if (innermost) return `HDF5: ${innermost[1]}: ${innermost[2]!.trim()}`;
  return text.split('\n')[0]!.trim();
}

/**
 * Runs h5wasm calls with HDF5's throwing error handler active. By default h5wasm prints HDF5's error stack
 * and carries on, so a failed read would return a buffer of zeros. The handler is switched back off at once
 * because it is process-wide and other h5wasm users may rely on the default.
 */
export function withHdf5Errors<T>(hdf5: Hdf5, path: string, action: string, body: () => T): T {
  hdf5.runtime.activate_throwing_error_handler();
  try {
    return body();
  } catch (error) {
    throw new Error(`${path}: cannot ${action} (${describeHdf5Error(error)})`);
  } finally {
    hdf5.runtime.deactivate_throwing_error_handler();
  }
}

export interface Uint8Array4d {
  readonly file: Hdf5File;
  readonly dataset: Hdf5Dataset;
  readonly length: number;
  /** Rows per chunk along the first axis, or undefined for contiguous storage. */
  readonly chunkRows: number | undefined;
}

function describeShape(shape: readonly number[] | null): string {
  return shape === null ? 'no shape (an empty dataset)' : `(${shape.join(', ')})`;
}

function describeType(hdf5: Hdf5, metadata: Metadata): string {
  const classes = hdf5.runtime.H5T_class_t;
  if (metadata.type === classes.H5T_INTEGER.value) return `${metadata.signed ? 'int' : 'uint'}${metadata.size * 8}`;
  if (metadata.type === classes.H5T_FLOAT.value) return `float${metadata.size * 8}`;
  if (metadata.type === classes.H5T_STRING.value) return 'string';
  if (metadata.type === classes.H5T_COMPOUND.value) return 'a compound type';
  return `HDF5 type class ${metadata.type}`;
}

/**
 * Opens `key` in an HDF5 file and checks it is uint8 with shape (N, ...tail). The caller closes `file`.
 * Errors name the file, the key, and the expected and actual type or shape.
 */
export function openUint8Array(hdf5: Hdf5, path: string, key: string, tail: readonly number[]): Uint8Array4d {
  const file = withHdf5Errors(hdf5, path, 'open it as an HDF5 file', () => new hdf5.h5wasm.File(path, 'r'));
  try {
    const { h5wasm } = hdf5;
    const dataset = withHdf5Errors(hdf5, path, `read dataset "${key}"`, () => {
      if (file.file_id < 0n) throw new Error('not an HDF5 file');
      const keys = file.keys();
      if (!keys.includes(key)) {
        throw new Error(`no dataset "${key}"; the file holds ${keys.length > 0 ? keys.map((name) => `"${name}"`).join(', ') : 'nothing'}`);
      }
      const entity = file.get(key);
      if (!(entity instanceof h5wasm.Dataset)) throw new Error(`"${key}" is not a dataset`);
      return entity;
    });
    const metadata = withHdf5Errors(hdf5, path, `read dataset "${key}"`, () => dataset.metadata);
    const isUint8 = metadata.type === hdf5.runtime.H5T_class_t.H5T_INTEGER.value && metadata.size === 1 && !metadata.signed;
    if (!isUint8) throw new Error(`${path}: dataset "${key}" must hold uint8 values, got ${describeType(hdf5, metadata)}`);
    const shape = metadata.shape;
    const expected = `(N, ${tail.join(', ')})`;
    if (shape === null || shape.length !== tail.length + 1 || tail.some((size, axis) => shape[axis + 1] !== size)) {
      throw new Error(`${path}: dataset "${key}" must have shape ${expected}, got ${describeShape(shape)}`);
    }
    return { file, dataset, length: shape[0]!, chunkRows: metadata.chunks?.[0] };
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Reads rows start..end-1 of a uint8 dataset straight into wasm memory at `pointer`, which must hold
 * (end - start) rows. h5wasm's `slice` would read into a fresh buffer and copy it out; this skips that copy.
 */
export function readRowsInto(hdf5: Hdf5, path: string, file: Hdf5File, dataset: Hdf5Dataset, start: number, end: number, pointer: number): void {
  const shape = dataset.shape!;
  const count = [BigInt(end - start), ...shape.slice(1).map(BigInt)];
  const offset = [BigInt(start), ...shape.slice(1).map(() => 0n)];
  const strides = shape.map(() => 1n);
  withHdf5Errors(hdf5, path, `read patches ${start}..${end - 1}`, () => {
    const status = hdf5.runtime.get_dataset_data(file.file_id, dataset.path, count, offset, strides, BigInt(pointer));
    if (status < 0) throw new Error(`HDF5 read status ${status}`);
  });
}
