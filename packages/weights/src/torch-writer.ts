// Writes checkpoints in PyTorch's zip format (`torch.save` since 1.6): a protocol-2 pickle of nested
// dictionaries whose tensors point, through persistent ids, at raw float32 storages stored beside it. For
// tests and fixtures that need a checkpoint in a method's published layout without running PyTorch;
// `torch.load` and `readCheckpoint` read what it writes.
import { encodeZipParts, joinBytes, type ZipMember } from '@medssl/arrays';
import type { Tensor } from '@medssl/spec';

/** What a checkpoint holds: tensors, numbers, strings, and dictionaries of them (a state dict, `{ model: ... }`). */
export type TorchValue = Tensor | number | string | boolean | TorchDictionary;
export type TorchDictionary = ReadonlyMap<string, TorchValue> | { readonly [key: string]: TorchValue };

// Pickle opcodes (protocol 2), as Python's pickle module names them.
const PROTO = 0x80;
const STOP = 0x2e;
const MARK = 0x28;
const GLOBAL = 0x63;
const REDUCE = 0x52;
const TUPLE = 0x74;
const EMPTY_TUPLE = 0x29;
const SETITEMS = 0x75;
const BINUNICODE = 0x58;
const BININT = 0x4a;
const BINFLOAT = 0x47;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BINPERSID = 0x51;

/** Items per SETITEMS, as Python's pickler batches them. */
const BATCH = 1000;

class PickleWriter {
  private readonly chunks: number[] = [];
  private readonly encoder = new TextEncoder();

  byte(value: number): void {
    this.chunks.push(value);
  }

  bytes(values: ArrayLike<number>): void {
    for (let index = 0; index < values.length; index++) this.chunks.push(values[index]!);
  }

  int(value: number): void {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new RangeError(`torch checkpoint: ${value} is not a 32-bit integer`);
    this.byte(BININT);
    const view = new DataView(new ArrayBuffer(4));
    view.setInt32(0, value, true);
    this.bytes(new Uint8Array(view.buffer));
  }

  float(value: number): void {
    this.byte(BINFLOAT);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, false);
    this.bytes(new Uint8Array(view.buffer));
  }

  string(value: string): void {
    const encoded = this.encoder.encode(value);
    this.byte(BINUNICODE);
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, encoded.length, true);
    this.bytes(new Uint8Array(view.buffer));
    this.bytes(encoded);
  }

  global(module: string, name: string): void {
    this.byte(GLOBAL);
    this.bytes(this.encoder.encode(`${module}\n${name}\n`));
  }

  tuple(write: () => void): void {
    this.byte(MARK);
    write();
    this.byte(TUPLE);
  }

  result(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function isTensor(value: TorchValue): value is Tensor {
  return typeof value === 'object' && value !== null && 'data' in value && value.data instanceof Float32Array && Array.isArray((value as Tensor).shape);
}

function entriesOf(dictionary: TorchDictionary): [string, TorchValue][] {
  return dictionary instanceof Map ? [...dictionary] : Object.entries(dictionary);
}

/** C-order strides of a shape, in elements. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis]!;
  }
  return strides;
}

/**
 * A checkpoint in PyTorch's zip format, as the pieces of the file: every dictionary a
 * `collections.OrderedDict` (as state dicts are), every tensor float32 on the CPU in its own storage.
 */
export function encodeTorchCheckpointParts(value: TorchDictionary, folder = 'archive'): Uint8Array[] {
  const pickle = new PickleWriter();
  const storages: Float32Array[] = [];
  const write = (item: TorchValue, where: string): void => {
    if (isTensor(item)) {
      const count = item.shape.reduce((product, extent) => product * extent, 1);
      if (item.data.length !== count) throw new RangeError(`torch checkpoint: ${where} has shape [${item.shape.join(', ')}] and ${item.data.length} values`);
      const key = String(storages.length);
      storages.push(item.data);
      // torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)
      pickle.global('torch._utils', '_rebuild_tensor_v2');
      pickle.tuple(() => {
        pickle.tuple(() => {
          pickle.string('storage');
          pickle.global('torch', 'FloatStorage');
          pickle.string(key);
          pickle.string('cpu');
          pickle.int(count);
        });
        pickle.byte(BINPERSID);
        pickle.int(0);
        pickle.tuple(() => {
          for (const extent of item.shape) pickle.int(extent);
        });
        pickle.tuple(() => {
          for (const stride of contiguousStrides(item.shape)) pickle.int(stride);
        });
        pickle.byte(NEWFALSE);
        pickle.global('collections', 'OrderedDict');
        pickle.byte(EMPTY_TUPLE);
        pickle.byte(REDUCE);
      });
      pickle.byte(REDUCE);
    } else if (typeof item === 'string') pickle.string(item);
    else if (typeof item === 'boolean') pickle.byte(item ? NEWTRUE : NEWFALSE);
    else if (typeof item === 'number') {
      if (Number.isInteger(item)) pickle.int(item);
      else pickle.float(item);
    } else {
      pickle.global('collections', 'OrderedDict');
      pickle.byte(EMPTY_TUPLE);
      pickle.byte(REDUCE);
      const entries = entriesOf(item);
      for (let start = 0; start < entries.length; start += BATCH) {
        pickle.byte(MARK);
        for (const [key, entry] of entries.slice(start, start + BATCH)) {
          pickle.string(key);
          write(entry, where === '' ? key : `${where}.${key}`);
        }
        pickle.byte(SETITEMS);
      }
    }
  };
  pickle.bytes([PROTO, 2]);
  write(value, '');
  pickle.byte(STOP);

  const encoder = new TextEncoder();
  const members: ZipMember[] = [
    { name: `${folder}/data.pkl`, data: [pickle.result()] },
    { name: `${folder}/byteorder`, data: [encoder.encode('little')] },
    ...storages.map((data, index) => ({ name: `${folder}/data/${index}`, data: [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)] })),
    { name: `${folder}/version`, data: [encoder.encode('3\n')] },
  ];
  return encodeZipParts(members, 'torch checkpoint');
}

/** The same as one byte array. */
export function encodeTorchCheckpoint(value: TorchDictionary, folder = 'archive'): Uint8Array {
  return joinBytes(encodeTorchCheckpointParts(value, folder));
}
