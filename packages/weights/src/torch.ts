/**
 * PyTorch's `torch.save` files: the zip format (the default since PyTorch 1.6) and the legacy format
 * before it, both holding a pickle whose tensors point, through persistent ids, at raw storages kept
 * beside it. Tensors are rebuilt as PyTorch does: a view (offset, size, stride) into a storage, copied
 * out in C order.
 */
import { quoteText, readZipEntry, truncateText, type ByteSource, type RawInflater, type ZipEntry } from '@medssl/arrays';

import { CheckpointFormatError } from './errors.js';
import { describe, GlobalReference, OpaqueObject, unpickle, type GlobalDefinition, type PickleValue } from './pickle.js';
import { CheckpointTensor, decodeElements, elementCount, formatShape, plainBytes, storedElementSize, swapByteOrder, type CheckpointDType } from './tensor.js';

/** Storage classes by the name torch.save writes, with their element type. */
const STORAGE_DTYPES: Readonly<Record<string, CheckpointDType>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  DoubleStorage: 'float64',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** Storage classes PyTorch has whose elements medssl does not read; named so the error says so. */
const UNSUPPORTED_STORAGES = [
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'QInt8Storage',
  'QUInt8Storage',
  'QInt32Storage',
  'QUInt4x2Storage',
  'QUInt2x4Storage',
  'UntypedStorage',
];

/** One storage a checkpoint refers to; its bytes are read after the pickle. */
class StorageReference {
  bytes: Uint8Array | undefined;

  constructor(
    readonly key: string,
    readonly dtype: CheckpointDType,
    readonly elementCount: number,
    /** For the legacy format's storage views: the storage this one is a slice of, and where it starts (elements). */
    readonly base?: { readonly storage: StorageReference; readonly elementOffset: number },
  ) {}

  /** The storage's bytes, slicing the base storage for a view. */
  data(): Uint8Array | undefined {
    if (!this.base) return this.bytes;
    const baseBytes = this.base.storage.data();
    if (!baseBytes) return undefined;
    const size = storedElementSize(this.dtype);
    return baseBytes.subarray(this.base.elementOffset * size, (this.base.elementOffset + this.elementCount) * size);
  }
}

/** A tensor as the pickle describes it: a strided view of a storage. */
class TensorReference {
  constructor(
    readonly storage: StorageReference,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

function nonNegativeIntegers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((item) => Number.isSafeInteger(item) && (item as number) >= 0)) {
    throw new Error(`${what}: expected a tuple of non-negative integers, got ${describe(value)}`);
  }
  return [...(value as number[])];
}

/** `_rebuild_tensor(storage, storage_offset, size, stride)`, the start of every rebuild function's arguments. */
function rebuildTensor(args: readonly unknown[]): TensorReference {
  const [storage, storageOffset, size, stride] = args;
  if (!(storage instanceof StorageReference)) throw new Error(`expected a storage as the first argument, got ${describe(storage)}`);
  if (!Number.isSafeInteger(storageOffset) || (storageOffset as number) < 0) throw new Error(`expected a storage offset, got ${describe(storageOffset)}`);
  const shape = nonNegativeIntegers(size, 'size');
  const strides = nonNegativeIntegers(stride, 'stride');
  if (shape.length !== strides.length) throw new Error(`size ${formatShape(shape)} and stride ${formatShape(strides)} differ in length`);
  return new TensorReference(storage, storageOffset as number, shape, strides);
}

/** A Parameter is its tensor here: `requires_grad` and hooks mean nothing to a reader. */
function rebuildParameter(args: readonly unknown[]): TensorReference {
  const [data] = args;
  if (!(data instanceof TensorReference)) throw new Error(`expected a tensor as the first argument, got ${describe(data)}`);
  return data;
}

function emptyOrderedDict(args: readonly unknown[]): Map<unknown, unknown> {
  const dict = new Map<unknown, unknown>();
  // OrderedDict(pairs) in protocol 0/1 pickles; protocol 2 adds items with SETITEMS instead.
  const [pairs] = args;
  if (Array.isArray(pairs)) {
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error('OrderedDict: expected (key, value) pairs');
      dict.set(pair[0], pair[1]);
    }
  }
  return dict;
}

/** The globals a state dict needs, each implemented here on plain data. */
export const TORCH_GLOBALS: ReadonlyMap<string, GlobalDefinition> = new Map<string, GlobalDefinition>([
  ['torch._utils._rebuild_tensor', { kind: 'function', call: rebuildTensor }],
  ['torch._utils._rebuild_tensor_v2', { kind: 'function', call: rebuildTensor }],
  ['torch._utils._rebuild_parameter', { kind: 'function', call: rebuildParameter }],
  ['torch._utils._rebuild_parameter_with_state', { kind: 'function', call: rebuildParameter }],
  ['collections.OrderedDict', { kind: 'function', call: emptyOrderedDict, construct: () => new Map() }],
  ['torch.Size', { kind: 'function', call: ([sizes]) => Object.freeze(nonNegativeIntegers(sizes, 'torch.Size')) }],
  ...Object.entries(STORAGE_DTYPES).map(([name, dtype]): [string, GlobalDefinition] => [`torch.${name}`, { kind: 'storage', dtype }]),
  ...UNSUPPORTED_STORAGES.map((name): [string, GlobalDefinition] => [`torch.${name}`, { kind: 'storage', dtype: undefined }]),
]);

export interface TorchReadOptions {
  /** Set by readers that read each storage into a buffer of its own (a file read member by member). */
  readonly storagesOwned?: boolean;
  /** Classes to keep as inert records (see `OpaqueObject`), e.g. `['argparse.Namespace']`. */
  readonly allowOpaqueObjects?: readonly string[];
  /** Lets float32, integer and bool tensors be views of the file's bytes where aligned (see `ReadCheckpointOptions`). */
  readonly shareMemory?: boolean;
}

/**
 * Collects the storages a pickle refers to. Persistent ids are `('storage', storage class, key, location,
 * element count)` in the zip format, with a sixth item, `(view key, offset, size)` or None, in the legacy one.
 */
class StorageTable {
  readonly storages = new Map<string, StorageReference>();

  constructor(private readonly fileName: string) {}

  load = (persistentId: unknown): StorageReference => {
    const fail = (message: string): never => {
      throw new CheckpointFormatError(this.fileName, `persistent id ${describe(persistentId)}: ${message}`);
    };
    if (!Array.isArray(persistentId) || persistentId[0] !== 'storage') return fail("expected a ('storage', ...) tuple");
    const [, storageClass, key, , count, view] = persistentId as unknown[];
    if (!(storageClass instanceof GlobalReference) || storageClass.definition === 'opaque-class' || storageClass.definition.kind !== 'storage') {
      return fail(`expected a storage class, got ${describe(storageClass)}`);
    }
    const dtype = storageClass.definition.dtype;
    if (dtype === undefined) return fail(`${storageClass.qualifiedName} holds elements medssl does not read`);
    if (typeof key !== 'string') return fail(`expected a storage key, got ${describe(key)}`);
    if (!Number.isSafeInteger(count) || (count as number) < 0) return fail(`expected an element count, got ${describe(count)}`);
    const keyName = truncateText(key);
    let root = this.storages.get(key);
    if (root === undefined) {
      root = new StorageReference(key, dtype, count as number);
      this.storages.set(key, root);
    } else if (root.dtype !== dtype || root.elementCount !== count) {
      return fail(`storage ${keyName} was first described as ${root.elementCount} ${root.dtype} elements`);
    }
    if (view === undefined || view === null) return root;
    // Storage views come from PyTorch before 0.4; later legacy files always write None here.
    if (!Array.isArray(view) || view.length !== 3) return fail(`expected a (view key, offset, size) view or None, got ${describe(view)}`);
    const [viewKey, offset, size] = view as unknown[];
    if (typeof viewKey !== 'string' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) {
      return fail(`expected a storage view (key, offset, size), got (${describe(viewKey)}, ${describe(offset)}, ${describe(size)})`);
    }
    if ((offset as number) < 0 || (size as number) < 0 || (offset as number) + (size as number) > root.elementCount) {
      return fail(
        `view ${truncateText(viewKey)} (elements ${offset as number} to ${(offset as number) + (size as number)}) lies outside storage ${keyName} of ${root.elementCount} elements`,
      );
    }
    let viewStorage = this.storages.get(viewKey);
    if (viewStorage === undefined) {
      viewStorage = new StorageReference(viewKey, dtype, size as number, { storage: root, elementOffset: offset as number });
      this.storages.set(viewKey, viewStorage);
    }
    return viewStorage;
  };

  /** Storages whose bytes live in the file under their own key (not views). */
  rootStorages(): StorageReference[] {
    return [...this.storages.values()].filter((storage) => !storage.base);
  }
}

const MAXIMUM_TREE_DEPTH = 1000;

/**
 * A tensor with stride 0 (`expand`) or overlapping strides repeats its storage's elements; copied out in C
 * order it can be far larger than the file (torch.zeros(1).expand(100000, 100000) is 40 GB from 4 bytes).
 * A tensor is refused when it would take more than this many times its storage's bytes and more than
 * {@link AMPLIFICATION_ALLOWANCE} bytes; all tensors together, more than this many times the file's storage
 * bytes plus that allowance. Ordinary tensors take at most twice their storage (float16 read as float32).
 */
const MAXIMUM_AMPLIFICATION = 16;
const AMPLIFICATION_ALLOWANCE = 64 * 1024 * 1024;

/** Bytes per element of the typed array a tensor of `dtype` is read into (floating types become float32). */
function readElementSize(dtype: CheckpointDType): number {
  return dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16' ? 4 : storedElementSize(dtype);
}

/** Whether strides are C order; dimensions of extent 1 may have any stride. */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let dimension = shape.length - 1; dimension >= 0; dimension--) {
    if (shape[dimension] !== 1 && stride[dimension] !== expected) return false;
    expected *= shape[dimension]!;
  }
  return true;
}

/** Copies the elements of a strided view into C order, `elementSize` bytes at a time. */
function gatherStrided(storage: Uint8Array, elementSize: number, offset: number, shape: readonly number[], stride: readonly number[]): Uint8Array {
  const count = elementCount(shape);
  const output = new Uint8Array(count * elementSize);
  // Copy whole elements as 1, 2 or 4-byte words (8-byte elements as two 4-byte words).
  const wordSize = Math.min(elementSize, 4);
  const wordsPerElement = elementSize / wordSize;
  const Words = wordSize === 1 ? Uint8Array : wordSize === 2 ? Uint16Array : Uint32Array;
  const aligned = storage.byteOffset % wordSize === 0 ? storage : new Uint8Array(storage);
  const source = new Words(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / wordSize);
  const target = new Words(output.buffer);
  const rank = shape.length;
  const innerExtent = shape[rank - 1]!;
  const innerStride = stride[rank - 1]! * wordsPerElement;
  const counters = new Array<number>(rank).fill(0);
  let base = offset * wordsPerElement;
  let written = 0;
  for (;;) {
    let position = base;
    for (let index = 0; index < innerExtent; index++) {
      for (let word = 0; word < wordsPerElement; word++) target[written++] = source[position + word]!;
      position += innerStride;
    }
    // Advance the outer dimensions like an odometer.
    let dimension = rank - 2;
    for (; dimension >= 0; dimension--) {
      counters[dimension]!++;
      base += stride[dimension]! * wordsPerElement;
      if (counters[dimension]! < shape[dimension]!) break;
      base -= stride[dimension]! * shape[dimension]! * wordsPerElement;
      counters[dimension] = 0;
    }
    if (dimension < 0) return output;
  }
}

/** Turns tensor references into tensors and copies the rest of the tree into {@link PickleValue}s. */
class TreeResolver {
  private readonly resolved = new Map<unknown, PickleValue>();
  /** Storages whose memory a tensor has taken over (see `storagesOwned`). */
  private readonly claimedStorages = new Set<StorageReference>();
  /** Bytes the tensors read so far take in memory. */
  private materializedBytes = 0;
  private readonly maximumMaterializedBytes: number;

  constructor(
    private readonly fileName: string,
    /** The bytes of every storage in the file, together. */
    storageBytes: number,
    private readonly bigEndian: boolean,
    private readonly shareMemory: boolean,
    /**
     * Storage bytes were read into fresh buffers that nothing else holds: the first tensor spanning a whole
     * storage may keep that buffer instead of copying it, and every tensor still has memory of its own.
     */
    private readonly storagesOwned = false,
  ) {
    this.maximumMaterializedBytes = MAXIMUM_AMPLIFICATION * storageBytes + AMPLIFICATION_ALLOWANCE;
  }

  /** Refuses, before anything is allocated, a tensor that repeats its storage into far more memory than the file holds. */
  private checkMaterializedSize(reference: TensorReference, where: string, count: number): void {
    const { storage } = reference;
    const bytes = count * readElementSize(storage.dtype);
    const storageBytes = storage.elementCount * storedElementSize(storage.dtype);
    const refuse = (limit: string): never => {
      throw new CheckpointFormatError(
        this.fileName,
        `${where}: copying it out would take ${bytes} bytes from a storage of ${storageBytes} bytes (stride 0 or overlapping strides repeat elements); ${limit}`,
      );
    };
    if (bytes > MAXIMUM_AMPLIFICATION * storageBytes && bytes > AMPLIFICATION_ALLOWANCE) {
      refuse(`refusing more than ${MAXIMUM_AMPLIFICATION} times the storage's bytes beyond ${AMPLIFICATION_ALLOWANCE}`);
    }
    this.materializedBytes += bytes;
    if (this.materializedBytes > this.maximumMaterializedBytes) {
      refuse(
        `with the tensors before it that makes ${this.materializedBytes} bytes, more than the ${this.maximumMaterializedBytes} allowed (${MAXIMUM_AMPLIFICATION} times the file's storage bytes plus ${AMPLIFICATION_ALLOWANCE})`,
      );
    }
  }

  private tensor(reference: TensorReference, path: string): CheckpointTensor {
    const { storage, storageOffset, shape, stride } = reference;
    const where = `tensor ${truncateText(path) || '(root)'} (storage ${truncateText(storage.key)}, ${storage.dtype}, shape ${truncateText(formatShape(shape))}, stride ${truncateText(formatShape(stride))}, offset ${storageOffset})`;
    const bytes = storage.data();
    if (!bytes) throw new CheckpointFormatError(this.fileName, `${where}: the storage's data was never read`);
    const size = storedElementSize(storage.dtype);
    const count = elementCount(shape);
    if (count > 0) {
      let lastIndex = storageOffset;
      for (let dimension = 0; dimension < shape.length; dimension++) lastIndex += (shape[dimension]! - 1) * stride[dimension]!;
      if (lastIndex >= storage.elementCount) {
        throw new CheckpointFormatError(this.fileName, `${where}: reaches element ${lastIndex}, but the storage holds ${storage.elementCount}`);
      }
    }
    this.checkMaterializedSize(reference, where, count);
    let region: Uint8Array;
    // A region copied here already is the tensor's own memory; only a view of the storage needs copying.
    let ownRegion = true;
    if (count === 0) region = new Uint8Array(0);
    else if (isContiguous(shape, stride)) {
      region = bytes.subarray(storageOffset * size, (storageOffset + count) * size);
      const spansOwnedStorage = this.storagesOwned && !storage.base && storageOffset === 0 && count === storage.elementCount;
      ownRegion = spansOwnedStorage && !this.claimedStorages.has(storage);
      if (ownRegion) this.claimedStorages.add(storage);
    } else region = this.allocating(where, () => gatherStrided(bytes, size, storageOffset, shape, stride));
    if (this.bigEndian && size > 1) {
      region = this.allocating(where, () => swapByteOrder(region, size));
      ownRegion = true;
    }
    const data = this.allocating(where, () => decodeElements(storage.dtype, region, count, ownRegion || this.shareMemory));
    return new CheckpointTensor(storage.dtype, shape, data);
  }

  /** Runs `make`, reporting a failed allocation (a tensor larger than this runtime's arrays) as a format error. */
  private allocating<T>(where: string, make: () => T): T {
    try {
      return make();
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new CheckpointFormatError(this.fileName, `${where}: cannot hold it in memory (${error.message})`, { cause: error });
    }
  }

  resolve(value: unknown, path: string, depth = 0): PickleValue {
    if (value === null || typeof value !== 'object') {
      if (value === undefined || typeof value === 'symbol' || typeof value === 'function') {
        throw new CheckpointFormatError(
          this.fileName,
          `${truncateText(path) || '(root)'}: expected a value, found ${value === undefined ? 'nothing' : `a ${typeof value}`}`,
        );
      }
      return value as PickleValue;
    }
    if (value instanceof Uint8Array) return value;
    if (depth > MAXIMUM_TREE_DEPTH) throw new CheckpointFormatError(this.fileName, `${truncateText(path)}: nested deeper than ${MAXIMUM_TREE_DEPTH} levels`);
    const known = this.resolved.get(value);
    if (known !== undefined) return known;
    const child = (key: string) => (path === '' ? key : `${path}.${key}`);
    if (value instanceof TensorReference) {
      const tensor = this.tensor(value, path);
      this.resolved.set(value, tensor);
      return tensor;
    }
    if (value instanceof Map) {
      const dict = new Map<PickleValue, PickleValue>();
      this.resolved.set(value, dict);
      for (const [key, item] of value) {
        const resolvedKey = this.resolve(key, `${path}[key]`, depth + 1);
        dict.set(resolvedKey, this.resolve(item, child(String(resolvedKey)), depth + 1));
      }
      return dict;
    }
    if (Array.isArray(value)) {
      const list: PickleValue[] = [];
      this.resolved.set(value, list);
      value.forEach((item, index) => list.push(this.resolve(item, child(String(index)), depth + 1)));
      return Object.isFrozen(value) ? Object.freeze(list) : list;
    }
    if (value instanceof Set) {
      const set = new Set<PickleValue>();
      this.resolved.set(value, set);
      for (const item of value) set.add(this.resolve(item, `${path}[item]`, depth + 1));
      return set;
    }
    if (value instanceof OpaqueObject) {
      const constructorArguments: PickleValue[] = [];
      const record = new OpaqueObject(value.className, constructorArguments);
      this.resolved.set(value, record);
      value.constructorArguments.forEach((item, index) => constructorArguments.push(this.resolve(item, child(`(argument ${index})`), depth + 1)));
      if (value.state !== undefined) record.state = this.resolve(value.state, child('(state)'), depth + 1);
      return record;
    }
    if (value instanceof StorageReference) {
      throw new CheckpointFormatError(this.fileName, `${truncateText(path) || '(root)'}: a bare storage (not a tensor) is not supported`);
    }
    throw new CheckpointFormatError(this.fileName, `${truncateText(path) || '(root)'}: ${describe(value)} cannot be part of a checkpoint's data`);
  }
}

/** How the zip format lays out one checkpoint: `<folder>/data.pkl`, `<folder>/data/<key>`, `<folder>/byteorder`. */
export interface TorchZipLayout {
  readonly folder: string;
  readonly pickle: ZipEntry;
  readonly entries: ReadonlyMap<string, ZipEntry>;
}

/** Finds `<folder>/data.pkl` among a zip's members, or undefined when the archive is not a torch.save file. */
export function torchZipLayout(entries: readonly ZipEntry[], fileName: string): TorchZipLayout | undefined {
  const pickles = entries.filter((entry) => /^[^/]+\/data\.pkl$/.test(entry.fileName));
  if (pickles.length === 0) return undefined;
  if (pickles.length > 1) {
    throw new CheckpointFormatError(
      fileName,
      `holds ${pickles.length} data.pkl members (${truncateText(pickles.map((entry) => entry.fileName).join(', '))}); expected one`,
    );
  }
  const pickle = pickles[0]!;
  return { folder: pickle.fileName.slice(0, -'/data.pkl'.length), pickle, entries: new Map(entries.map((entry) => [entry.fileName, entry])) };
}

/** What a torch.save file holds, and how long its pickle is (which bounds the work its structure may ask for). */
export interface TorchFileContents {
  readonly root: PickleValue;
  readonly pickleByteLength: number;
}

/** The bytes of the storages a file holds (views are parts of them). */
function storageByteTotal(storages: readonly StorageReference[]): number {
  return storages.reduce((total, storage) => total + storage.elementCount * storedElementSize(storage.dtype), 0);
}

/** Reads a torch.save zip archive: the pickle, then each storage it refers to, then the tensors. */
export async function readTorchZip(
  source: ByteSource,
  layout: TorchZipLayout,
  fileName: string,
  inflateRaw: RawInflater | undefined,
  options: TorchReadOptions,
): Promise<TorchFileContents> {
  const { folder, entries } = layout;
  const readMember = (entry: ZipEntry) => readZipEntry(source, entry, fileName, inflateRaw);
  const byteOrderEntry = entries.get(`${folder}/byteorder`);
  // Files from before PyTorch 1.13 have no byteorder record and are little-endian.
  const byteOrder = byteOrderEntry ? new TextDecoder().decode(await readMember(byteOrderEntry)).trim() : 'little';
  if (byteOrder !== 'little' && byteOrder !== 'big')
    throw new CheckpointFormatError(fileName, `${truncateText(folder)}/byteorder: expected "little" or "big", got ${quoteText(byteOrder)}`);

  const storageTable = new StorageTable(fileName);
  const pickleBytes = await readMember(layout.pickle);
  const { value, end } = unpickle(pickleBytes, {
    fileName,
    pickleName: layout.pickle.fileName,
    globals: TORCH_GLOBALS,
    allowOpaqueObjects: options.allowOpaqueObjects,
    persistentLoad: storageTable.load,
  });
  if (end !== pickleBytes.byteLength) {
    throw new CheckpointFormatError(fileName, `${truncateText(layout.pickle.fileName)}: ${pickleBytes.byteLength - end} bytes follow the pickle's STOP opcode`);
  }

  const rootStorages = storageTable.rootStorages();
  for (const storage of rootStorages) {
    const memberName = `${folder}/data/${storage.key}`;
    const entry = entries.get(memberName);
    if (!entry)
      throw new CheckpointFormatError(fileName, `storage ${truncateText(storage.key)}: member ${truncateText(memberName)} is missing from the archive`);
    // Checked against the directory before the member is read: the pickle's count must not decide what is allocated.
    const expected = storage.elementCount * storedElementSize(storage.dtype);
    if (entry.uncompressedSize !== expected) {
      throw new CheckpointFormatError(
        fileName,
        `storage ${truncateText(storage.key)} (${truncateText(memberName)}): expected ${expected} bytes (${storage.elementCount} ${storage.dtype} elements), the archive holds ${entry.uncompressedSize}`,
      );
    }
    storage.bytes = await readMember(entry);
  }
  const resolver = new TreeResolver(
    fileName,
    storageByteTotal(rootStorages),
    byteOrder === 'big',
    options.shareMemory ?? false,
    options.storagesOwned ?? false,
  );
  return { root: resolver.resolve(value, ''), pickleByteLength: pickleBytes.byteLength };
}

/** The first pickle of a legacy file: the integer 0x1950a86a20f9469cfc6c, as torch.save writes it (protocol 2, LONG1). */
export const LEGACY_MAGIC_PREFIX = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

export function hasLegacyMagic(bytes: Uint8Array): boolean {
  return bytes.byteLength >= LEGACY_MAGIC_PREFIX.byteLength && LEGACY_MAGIC_PREFIX.every((byte, index) => bytes[index] === byte);
}

/**
 * Reads a legacy torch.save file: five pickles one after another (magic number, protocol version 1001,
 * system information, the object, the list of storage keys), then each storage in the order of that
 * list as an 8-byte element count followed by its raw elements.
 */
export function readTorchLegacy(input: Uint8Array, fileName: string, options: TorchReadOptions): TorchFileContents {
  const bytes = plainBytes(input);
  const plain = (offset: number) => unpickle(bytes, { fileName, offset });
  const magic = plain(0);
  if (magic.value !== LEGACY_MAGIC_NUMBER)
    throw new CheckpointFormatError(fileName, `expected the legacy torch.save magic number, got ${describe(magic.value)}`);
  const protocol = plain(magic.end);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    throw new CheckpointFormatError(fileName, `expected legacy protocol version ${LEGACY_PROTOCOL_VERSION}, got ${describe(protocol.value)}`);
  }
  const systemInformation = plain(protocol.end);
  const littleEndian = systemInformation.value instanceof Map ? systemInformation.value.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') throw new CheckpointFormatError(fileName, 'the system information pickle does not say the byte order (little_endian)');

  const storageTable = new StorageTable(fileName);
  const object = unpickle(bytes, {
    fileName,
    offset: systemInformation.end,
    globals: TORCH_GLOBALS,
    allowOpaqueObjects: options.allowOpaqueObjects,
    persistentLoad: storageTable.load,
  });
  const keyList = plain(object.end);
  if (!Array.isArray(keyList.value) || !keyList.value.every((key) => typeof key === 'string')) {
    throw new CheckpointFormatError(fileName, `expected the list of storage keys after the object, got ${describe(keyList.value)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = keyList.end;
  for (const key of keyList.value as string[]) {
    const storage = storageTable.storages.get(key);
    if (!storage || storage.base) {
      throw new CheckpointFormatError(fileName, `storage key ${quoteText(key)} in the key list is not a storage the object refers to`);
    }
    const name = truncateText(key);
    if (position + 8 > bytes.byteLength) {
      throw new CheckpointFormatError(
        fileName,
        `truncated: storage ${name}'s element count should be at byte ${position}, but the file ends at ${bytes.byteLength}`,
      );
    }
    const count = view.getBigInt64(position, littleEndian);
    if (count !== BigInt(storage.elementCount)) {
      throw new CheckpointFormatError(
        fileName,
        `storage ${name} at byte ${position}: the pickle says ${storage.elementCount} ${storage.dtype} elements, the data says ${count}`,
      );
    }
    const start = position + 8;
    const end = start + storage.elementCount * storedElementSize(storage.dtype);
    if (end > bytes.byteLength) {
      throw new CheckpointFormatError(fileName, `truncated: storage ${name} needs bytes ${start} to ${end}, but the file ends at ${bytes.byteLength}`);
    }
    storage.bytes = bytes.subarray(start, end);
    position = end;
  }
  const unread = storageTable.rootStorages().find((storage) => storage.bytes === undefined);
  if (unread) throw new CheckpointFormatError(fileName, `storage ${truncateText(unread.key)} is used by a tensor but missing from the key list`);
  const resolver = new TreeResolver(fileName, storageByteTotal(storageTable.rootStorages()), !littleEndian, options.shareMemory ?? false);
  return { root: resolver.resolve(object.value, ''), pickleByteLength: object.end - systemInformation.end };
}
