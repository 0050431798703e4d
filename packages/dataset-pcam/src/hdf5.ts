// The thin layer over h5wasm: loading it once, turning HDF5's error stack into errors that name the file,
// and opening one uint8 array with its shape and type checked.
import { statSync } from 'node:fs';
import type { Dataset as Hdf5Dataset, File as Hdf5File, Metadata } from 'h5wasm/node';

export type { Hdf5Dataset, Hdf5File };

type H5wasmModule = typeof import('h5wasm/node');
type H5wasmRuntime = Awaited<H5wasmModule['ready']>;

export interface Hdf5 {
  readonly h5wasm: H5wasmModule;
  readonly runtime: H5wasmRuntime;
  /** Set once a read trapped or aborted in this instance (or left its memory near the limit): it is not used again. */
  broken: boolean;
}

/** An HDF5 file that cannot be read as PatchCamelyon expects: names the file and the dataset (key). */
export class Hdf5ReadError extends Error {
  override readonly name = 'Hdf5ReadError';
  constructor(
    readonly file: string,
    /** The dataset key, or undefined where the file itself cannot be opened. */
    readonly dataset: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

let loading: Promise<Hdf5> | undefined;
let instances = 0;

/** wasm32 memory stops at 2 GiB; an instance whose memory grew past this after a failed read is replaced. */
const SWOLLEN_BYTES = 1 << 30;

/**
 * h5wasm's Node build reads host files through Emscripten's NODERAWFS: HDF5 seeks and reads only the bytes a
 * slice needs, so a file is never loaded whole. It is imported on first use, so importing this package (for
 * `pcamInfo`) stays cheap. After `discardHdf5`, the next call starts a fresh instance: h5wasm keeps its wasm
 * module in a module-level variable, so a fresh instance is a fresh import of its module (by URL with a query).
 */
export function loadHdf5(): Promise<Hdf5> {
  loading ??= importH5wasm(instances++).then(
    async (h5wasm) => ({ h5wasm, runtime: await h5wasm.ready, broken: false }),
    (error: Error) => {
      loading = undefined;
      throw new Error(`reading PatchCamelyon needs the "h5wasm" package (npm install h5wasm): ${error.message}`);
    },
  );
  return loading;
}

function importH5wasm(instance: number): Promise<H5wasmModule> {
  if (instance === 0) return import('h5wasm/node');
  return import(/* @vite-ignore */ `${import.meta.resolve('h5wasm/node')}?instance=${instance}`) as Promise<H5wasmModule>;
}

/**
 * Marks an instance as unusable after a trap, an abort or a read that swelled its memory: everything it held
 * (open files, allocations) is dropped, and the next `loadHdf5` starts afresh. Its memory stays reserved (an ES
 * module is never unloaded), but pages it never touched are not resident.
 */
export function discardHdf5(hdf5: Hdf5): void {
  if (hdf5.broken) return;
  hdf5.broken = true;
  loading = undefined;
}

/** A WebAssembly trap or an Emscripten abort: the instance's state is undefined afterwards. */
function isTrap(error: unknown): boolean {
  if ((error as Error | undefined)?.name === 'RuntimeError') return true;
  const text = error instanceof Error ? error.message : String(error);
  return /Aborted\(|null function or function signature mismatch|memory access out of bounds|unreachable|Cannot enlarge memory|out of memory/i.test(text);
}

/** The innermost frame of an HDF5 error stack ("H5Z_pipeline(): filter returned failure during read"). */
export function describeHdf5Error(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const frames = [...text.matchAll(/#\d+:.* in ([\w]+\(\)): (.*)$/gm)];
  const innermost = frames.at(-1);
  if (innermost) return `HDF5: ${innermost[1]}: ${innermost[2]!.trim().slice(0, 120)}`;
  return text.split('\n')[0]!.trim().slice(0, 120);
}

/**
 * Runs h5wasm calls with HDF5's throwing error handler active. By default h5wasm prints HDF5's error stack
 * and carries on, so a failed read would return a buffer of zeros. The handler is switched back off at once
 * because it is process-wide and other h5wasm users may rely on the default. A trap or abort (a damaged file
 * can make HDF5 call through a null pointer, read out of bounds or ask for gigabytes) discards the instance.
 */
export function withHdf5Errors<T>(hdf5: Hdf5, path: string, action: string, body: () => T, dataset?: string): T {
  if (hdf5.broken) throw new Hdf5ReadError(path, dataset, `${path}: cannot ${action} (the HDF5 reader failed on an earlier file; open the dataset again)`);
  try {
    hdf5.runtime.activate_throwing_error_handler();
    return body();
  } catch (error) {
    const trapped = isTrap(error);
    if (trapped || hdf5.runtime.HEAPU8.length > SWOLLEN_BYTES) discardHdf5(hdf5);
    const said = trapped ? `the HDF5 reader failed: ${describeHdf5Error(error)}; the file is damaged` : describeHdf5Error(error);
    throw new Hdf5ReadError(path, dataset, `${path}: cannot ${action} (${said})`, { cause: error });
  } finally {
    if (!hdf5.broken) hdf5.runtime.deactivate_throwing_error_handler();
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

/** deflate inflates at most 1032 to 1; HDF5 chunks add their index. A larger claim is a damaged header. */
const MAX_COMPRESSION_RATIO = 1100;

/**
 * A uint8 dataset's bytes against the file's length, before anything is read: stored plain it cannot be larger
 * than the file, compressed not more than deflate's ratio. A damaged header claiming more would have HDF5
 * allocate it all.
 */
export function checkSizeAgainstFile(path: string, key: string, shape: readonly number[], chunked: boolean): void {
  const bytes = shape.reduce((product, size) => product * size, 1);
  const fileBytes = statSync(path).size;
  const limit = chunked ? fileBytes * MAX_COMPRESSION_RATIO : fileBytes;
  if (bytes > limit) {
    throw new Hdf5ReadError(
      path,
      key,
      `${path}: dataset "${key}" claims shape ${describeShape(shape)} (${bytes} bytes), more than a ${fileBytes}-byte file can hold ${chunked ? 'compressed' : 'stored plain'}; the file is damaged`,
    );
  }
}

/**
 * Opens `key` in an HDF5 file and checks it is uint8 with shape (N, ...tail). The caller closes `file`.
 * Errors name the file, the key, and the expected and actual type or shape.
 */
export function openUint8Array(hdf5: Hdf5, path: string, key: string, tail: readonly number[]): Uint8Array4d {
  const file = withHdf5Errors(hdf5, path, 'open it as an HDF5 file', () => new hdf5.h5wasm.File(path, 'r'));
  const closeQuietly = () => {
    if (!hdf5.broken) file.close();
  };
  try {
    const { h5wasm } = hdf5;
    const dataset = withHdf5Errors(
      hdf5,
      path,
      `read dataset "${key}"`,
      () => {
        if (file.file_id < 0n) throw new Error('not an HDF5 file');
        const keys = file.keys();
        if (!keys.includes(key)) {
          throw new Error(`no dataset "${key}"; the file holds ${keys.length > 0 ? keys.map((name) => `"${name}"`).join(', ') : 'nothing'}`);
        }
        const entity = file.get(key);
        if (!(entity instanceof h5wasm.Dataset)) throw new Error(`"${key}" is not a dataset`);
        return entity;
      },
      key,
    );
    const metadata = withHdf5Errors(hdf5, path, `read dataset "${key}"`, () => dataset.metadata, key);
    const isUint8 = metadata.type === hdf5.runtime.H5T_class_t.H5T_INTEGER.value && metadata.size === 1 && !metadata.signed;
    if (!isUint8) throw new Hdf5ReadError(path, key, `${path}: dataset "${key}" must hold uint8 values, got ${describeType(hdf5, metadata)}`);
    const shape = metadata.shape;
    const expected = `(N, ${tail.join(', ')})`;
    if (shape === null || shape.length !== tail.length + 1 || tail.some((size, axis) => shape[axis + 1] !== size) || !Number.isSafeInteger(shape[0])) {
      throw new Hdf5ReadError(path, key, `${path}: dataset "${key}" must have shape ${expected}, got ${describeShape(shape)}`);
    }
    checkSizeAgainstFile(path, key, shape, metadata.chunks !== null && metadata.chunks !== undefined);
    const chunkRows = metadata.chunks?.[0];
    if (chunkRows !== undefined && (!Number.isSafeInteger(chunkRows) || chunkRows < 1 || chunkRows > Math.max(1, shape[0]!))) {
      throw new Hdf5ReadError(path, key, `${path}: dataset "${key}" is stored in chunks of ${chunkRows} rows, expected 1 to ${Math.max(1, shape[0]!)}`);
    }
    return { file, dataset, length: shape[0]!, chunkRows };
  } catch (error) {
    closeQuietly();
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
  withHdf5Errors(
    hdf5,
    path,
    `read patches ${start}..${end - 1}`,
    () => {
      const status = hdf5.runtime.get_dataset_data(file.file_id, dataset.path, count, offset, strides, BigInt(pointer));
      if (status < 0) throw new Error(`HDF5 read status ${status}`);
    },
    dataset.path.replace(/^\//, ''),
  );
}
