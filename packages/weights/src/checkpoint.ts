/**
 * One entry point for every checkpoint format: the format is recognised from the bytes, not the name.
 */
import {
  ArrayFormatError,
  byteSourceFromBytes,
  openNpz,
  quoteText,
  readZipDirectory,
  truncateText,
  type ByteSource,
  type NdArray,
  type RawInflater,
} from '@medssl/arrays';
import type { StateDict } from '@medssl/spec';

import { CheckpointFormatError } from './errors.js';
import { OpaqueObject, type PickleValue } from './pickle.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { CheckpointTensor, floatingTensors, plainBytes } from './tensor.js';
import { hasLegacyMagic, readTorchLegacy, readTorchZip, torchZipLayout } from './torch.js';

export type CheckpointFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors' | 'npz';

export interface ReadCheckpointOptions {
  /**
   * Classes (`module.name`) that may appear in a pickle as inert {@link OpaqueObject} records, never
   * constructed and never run, e.g. `['argparse.Namespace']` for the `args` of DINO's full training
   * checkpoints. Anything else outside the allow-list is refused. Empty by default.
   */
  readonly allowOpaqueObjects?: readonly string[];
  /**
   * Lets tensors whose stored type needs no conversion (float32, integers, bool) and whose bytes are
   * contiguous and aligned be views of `bytes` instead of copies: faster and half the peak memory for a
   * large file, but the tensors then keep the whole file alive, views of one storage share memory, and
   * writing to `bytes` changes them. Off by default. PyTorch's zip format aligns storages to 64 bytes, so
   * nearly every float32 tensor of a zip checkpoint is then a view; legacy files rarely align.
   */
  readonly shareMemory?: boolean;
  /** Decompressor for deflated ZIP members (npz); defaults to the web-standard DecompressionStream. */
  readonly inflateRaw?: RawInflater;
}

export interface CheckpointContents {
  /** The name errors use: a file name or label given by the caller. */
  readonly name: string;
  readonly format: CheckpointFormat;
  /**
   * Everything the file holds, tensors in place: for PyTorch the unpickled object (dicts as Maps, e.g.
   * `{'teacher': {...}, 'epoch': 100}`); for safetensors and npz a Map of name to tensor.
   */
  readonly root: PickleValue;
  /** Every tensor, of every element type, under dotted keys (see {@link flattenTensors}). */
  readonly tensors: ReadonlyMap<string, CheckpointTensor>;
  /** The floating tensors of {@link tensors} as float32, under the same keys. */
  readonly stateDict: StateDict;
  /** safetensors' `__metadata__`; empty for other formats. */
  readonly metadata: ReadonlyMap<string, string>;
}

const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY_ARCHIVE = [0x50, 0x4b, 0x05, 0x06];
const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46];
const PICKLE_PROTOCOL_OPCODE = 0x80;

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return bytes.byteLength >= at + prefix.length && prefix.every((byte, index) => bytes[at + index] === byte);
}

function hexPrefix(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 16), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/** A key for a dict key: strings as they are, numbers and booleans as Python prints them. */
function keySegment(key: PickleValue): string | undefined {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint') return String(key);
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  return undefined;
}

/** Work {@link flattenTensors} may do whatever the file: a million containers entered or key characters written. */
const FLATTEN_BASE_WORK = 1 << 20;
/** Work it may do per byte of the structure that describes the tree (a checkpoint's pickle or header). */
const FLATTEN_WORK_PER_BYTE = 64;
/** Deeper trees are refused (the PyTorch readers already refuse them at 1000). */
const FLATTEN_MAXIMUM_DEPTH = 1000;

export interface FlattenOptions {
  /**
   * Bytes of the structure the tree was read from (a pickle, a header): the walk may enter containers and
   * write key characters up to 2^20 + 64 per byte of it. A pickle can refer to one container many times, so
   * that a few hundred bytes reach a tensor by 2^24 paths; such a tree is refused, not walked. 0 by default.
   */
  readonly structureByteLength?: number;
}

/**
 * Every tensor in a checkpoint's tree under a dotted key made of the dict keys and list indices on the
 * way to it: `{'state_dict': {'module.conv1.weight': t}}` gives `state_dict.module.conv1.weight`,
 * `{'optimizer': {'state': {0: {'momentum_buffer': t}}}}` gives `optimizer.state.0.momentum_buffer`. A
 * tensor at the root gets the key `''`. Opaque objects and dict keys that are not strings or numbers are
 * not entered. Two paths that spell the same key are an error. A tensor or container the tree holds twice
 * (tied weights) appears under each key; the walk's work is bounded (see {@link FlattenOptions}).
 */
export function flattenTensors(root: PickleValue, name = 'checkpoint', options: FlattenOptions = {}): Map<string, CheckpointTensor> {
  const tensors = new Map<string, CheckpointTensor>();
  const visiting = new Set<object>();
  const maximumWork = FLATTEN_BASE_WORK + FLATTEN_WORK_PER_BYTE * (options.structureByteLength ?? 0);
  let work = 0;
  const charge = (units: number, key: string) => {
    work += units;
    if (work > maximumWork) {
      throw new CheckpointFormatError(
        name,
        `the object reaches its tensors by more paths than its ${options.structureByteLength ?? 0}-byte structure can justify (over ${maximumWork} containers entered and key characters written, at ${quoteText(key)}): it refers to the same containers again and again`,
      );
    }
  };
  const visit = (value: PickleValue, key: string, depth: number) => {
    charge(1, key);
    if (value instanceof CheckpointTensor) {
      charge(key.length, key);
      if (tensors.has(key)) throw new CheckpointFormatError(name, `two tensors flatten to the same key ${quoteText(key)}`);
      tensors.set(key, value);
      return;
    }
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array || value instanceof OpaqueObject || value instanceof Set) return;
    if (visiting.has(value)) return; // a container that holds itself
    if (depth >= FLATTEN_MAXIMUM_DEPTH) throw new CheckpointFormatError(name, `${truncateText(key)}: nested deeper than ${FLATTEN_MAXIMUM_DEPTH} levels`);
    visiting.add(value);
    const child = (segment: string) => (key === '' ? segment : `${key}.${segment}`);
    if (value instanceof Map) {
      for (const [dictKey, item] of value) {
        const segment = keySegment(dictKey);
        if (segment !== undefined) visit(item, child(segment), depth + 1);
      }
    } else {
      value.forEach((item, index) => visit(item, child(String(index)), depth + 1));
    }
    visiting.delete(value);
  };
  visit(root, '', 0);
  return tensors;
}

/** An npz array as a tensor; `copy` gives it memory of its own when the array may be a view of the archive. */
function tensorFromNdArray(array: NdArray, copy: boolean): CheckpointTensor {
  switch (array.dtype) {
    case 'float64':
      return new CheckpointTensor('float64', array.shape, new Float32Array(array.data));
    case 'float32':
      return new CheckpointTensor('float32', array.shape, copy ? array.data.slice() : array.data);
    default:
      return new CheckpointTensor(array.dtype, array.shape, (copy ? array.data.slice() : array.data) as never);
  }
}

function contents(
  name: string,
  format: CheckpointFormat,
  root: PickleValue,
  structureByteLength: number,
  metadata: ReadonlyMap<string, string> = new Map(),
): CheckpointContents {
  const tensors = flattenTensors(root, name, { structureByteLength });
  return { name, format, root, tensors, stateDict: floatingTensors(tensors), metadata };
}

/** Whether bytes start like a ZIP archive (a PyTorch zip checkpoint or an npz). */
export function isZip(bytes: Uint8Array): boolean {
  return startsWith(bytes, ZIP_LOCAL_HEADER) || startsWith(bytes, ZIP_EMPTY_ARCHIVE);
}

/**
 * Reads a ZIP checkpoint (PyTorch or npz) behind any byte source. `storagesOwned`: each read of `source`
 * returns a fresh buffer that nothing else holds (a file read member by member), which tensors may keep.
 */
export async function readZipCheckpoint(source: ByteSource, name: string, options: ReadCheckpointOptions, storagesOwned = false): Promise<CheckpointContents> {
  try {
    return await readZipMembers(source, name, options, storagesOwned);
  } catch (error) {
    // The archive's own faults (directory, CRC-32, deflate, an npz member's header) are checkpoint faults too.
    if (error instanceof ArrayFormatError) throw CheckpointFormatError.wrapping(name, error);
    throw error;
  }
}

async function readZipMembers(source: ByteSource, name: string, options: ReadCheckpointOptions, storagesOwned: boolean): Promise<CheckpointContents> {
  const entries = await readZipDirectory(source, name);
  const layout = torchZipLayout(entries, name);
  if (layout) {
    if ([...layout.entries.keys()].some((entry) => entry.startsWith(`${layout.folder}/code/`))) {
      throw new CheckpointFormatError(
        name,
        "this is a TorchScript archive (torch.jit.save), which holds code; save the model's state_dict() with torch.save instead",
      );
    }
    const { root, pickleByteLength } = await readTorchZip(source, layout, name, options.inflateRaw, { ...options, storagesOwned });
    return contents(name, 'pytorch-zip', root, pickleByteLength);
  }
  if (entries.some((entry) => entry.fileName.endsWith('.npy'))) {
    const archive = await openNpz(source, name, options.inflateRaw ? { inflateRaw: options.inflateRaw } : {});
    const root = new Map<PickleValue, PickleValue>();
    for (const [key, array] of await archive.readAll()) root.set(key, tensorFromNdArray(array, !storagesOwned && !options.shareMemory));
    // An npz is flat: one key per member, each named in the archive's directory.
    return contents(
      name,
      'npz',
      root,
      entries.reduce((total, entry) => total + entry.fileName.length, 0),
    );
  }
  const listed = entries
    .slice(0, 5)
    .map((entry) => truncateText(entry.fileName))
    .join(', ');
  throw new CheckpointFormatError(name, `a ZIP archive with neither <folder>/data.pkl (PyTorch) nor .npy members (NumPy); it holds ${listed || 'nothing'}`);
}

/**
 * Reads a checkpoint held in memory, recognising its format from its first bytes: PyTorch's zip format
 * (`torch.save` since 1.6), PyTorch's legacy format, safetensors, or a NumPy `.npz`. Pickles go through the
 * restricted unpickler, which runs nothing and refuses globals outside its allow-list. `name` (a file name)
 * goes into every error.
 */
export async function readCheckpointContents(input: Uint8Array, name = 'checkpoint', options: ReadCheckpointOptions = {}): Promise<CheckpointContents> {
  const bytes = plainBytes(input);
  if (bytes.byteLength === 0) throw new CheckpointFormatError(name, 'the file is empty');
  if (isZip(bytes)) return readZipCheckpoint(byteSourceFromBytes(bytes), name, options);
  if (hasLegacyMagic(bytes)) {
    const { root, pickleByteLength } = readTorchLegacy(bytes, name, options);
    return contents(name, 'pytorch-legacy', root, pickleByteLength);
  }
  if (looksLikeSafetensors(bytes)) {
    const { tensors, metadata, headerByteLength } = readSafetensors(bytes, name, options);
    return contents(name, 'safetensors', new Map<PickleValue, PickleValue>(tensors), headerByteLength, metadata);
  }
  if (startsWith(bytes, NPY_MAGIC))
    throw new CheckpointFormatError(name, 'a single NumPy .npy array, not a checkpoint; read it with parseNpy from @medssl/core');
  if (startsWith(bytes, HDF5_MAGIC)) throw new CheckpointFormatError(name, 'an HDF5 file (Keras or TensorFlow weights), which medssl does not read');
  if (startsWith(bytes, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) {
    throw new CheckpointFormatError(
      name,
      'a tar archive: the format of torch.save before PyTorch 0.1.10 is not supported; re-save the file with a current PyTorch',
    );
  }
  if (bytes[0] === PICKLE_PROTOCOL_OPCODE) {
    throw new CheckpointFormatError(
      name,
      "a pickle without torch.save's magic number (a plain pickle.dump, not a PyTorch checkpoint); medssl reads only torch.save files",
    );
  }
  throw new CheckpointFormatError(
    name,
    `unknown checkpoint format: the first bytes (${hexPrefix(bytes)}) match none of PyTorch zip (50 4b 03 04), PyTorch legacy (80 02 8a 0a 6c fc 9c 46 ...), safetensors (8-byte length, then "{") or NumPy npz`,
  );
}

/**
 * Reads a checkpoint's floating tensors as the contract's {@link StateDict}, keyed by dotted paths exactly
 * as they are in the file (no prefix stripped): `state_dict.module.conv1.weight`, `teacher.backbone.norm.weight`.
 * See {@link readCheckpointContents} for integer tensors, the object tree and the formats read.
 */
export async function readCheckpoint(bytes: Uint8Array, name = 'checkpoint', options: ReadCheckpointOptions = {}): Promise<StateDict> {
  return (await readCheckpointContents(bytes, name, options)).stateDict;
}
