/**
 * Builders of hostile checkpoints for the tests: pickles written opcode by opcode, wrapped as torch.save
 * writes them (zip and legacy), so that each hostile shape can be made at any size without PyTorch.
 */
import { encodeZipParts, joinBytes } from '@medssl/arrays';

import { LEGACY_MAGIC_PREFIX } from '../torch.js';

const encoder = new TextEncoder();

/** A protocol 2 pickle, written opcode by opcode. */
export class PickleBuilder {
  private readonly bytes: number[] = [0x80, 0x02];

  raw(...values: number[]): this {
    for (const value of values) this.bytes.push(value);
    return this;
  }

  text(value: string): this {
    const encoded = encoder.encode(value);
    this.raw(0x58, ...uint32(encoded.length));
    for (const byte of encoded) this.bytes.push(byte);
    return this;
  }

  global(module: string, name: string): this {
    this.raw(0x63);
    for (const byte of encoder.encode(`${module}\n${name}\n`)) this.bytes.push(byte);
    return this;
  }

  int(value: number): this {
    return value < 256 ? this.raw(0x4b, value) : this.raw(0x4a, ...uint32(value));
  }

  /** A tuple of small integers. */
  tuple(values: readonly number[]): this {
    this.raw(0x28);
    for (const value of values) this.int(value);
    return this.raw(0x74);
  }

  put(key: number): this {
    return key < 256 ? this.raw(0x71, key) : this.raw(0x72, ...uint32(key));
  }

  get(key: number): this {
    return key < 256 ? this.raw(0x68, key) : this.raw(0x6a, ...uint32(key));
  }

  /**
   * `torch._utils._rebuild_tensor_v2` of float32 storage `key` (of `count` elements) as torch.save writes
   * it; `legacy` adds the sixth, view item of the legacy format's persistent id.
   */
  tensor(key: string, count: number, shape: readonly number[], stride: readonly number[], legacy = false, offset = 0): this {
    this.global('torch._utils', '_rebuild_tensor_v2').raw(0x28);
    this.raw(0x28).text('storage').global('torch', 'FloatStorage').text(key).text('cpu').int(count);
    if (legacy) this.raw(0x4e);
    this.raw(0x74, 0x51);
    this.int(offset).tuple(shape).tuple(stride).raw(0x89);
    this.global('collections', 'OrderedDict').raw(0x29, 0x52);
    return this.raw(0x74, 0x52);
  }

  /** STOP, and the bytes. */
  finish(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

function uint32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** Float32 storages by key, as raw little-endian bytes. */
export type Storages = ReadonlyMap<string, Float32Array>;

/** A torch.save zip archive (`archive/data.pkl`, `archive/data/<key>`, `archive/version`) around a pickle. */
export function torchZip(pickle: Uint8Array, storages: Storages): Uint8Array {
  const members = [
    { name: 'archive/data.pkl', data: [pickle] },
    ...[...storages].map(([key, values]) => ({ name: `archive/data/${key}`, data: [new Uint8Array(values.buffer, values.byteOffset, values.byteLength)] })),
    { name: 'archive/version', data: [encoder.encode('3\n')] },
  ];
  return joinBytes(encodeZipParts(members));
}

/**
 * A legacy torch.save file around an object pickle: the magic number, protocol version 1001, the system
 * information, the object, the storage keys, then each storage as an element count and its elements.
 */
export function torchLegacy(pickle: Uint8Array, storages: Storages): Uint8Array {
  const magic = Uint8Array.from([...LEGACY_MAGIC_PREFIX, 0x2e]);
  const protocol = new PickleBuilder().raw(0x4d, 0xe9, 0x03).finish();
  const system = new PickleBuilder().raw(0x7d, 0x28).text('little_endian').raw(0x88, 0x75).finish();
  const keys = new PickleBuilder().raw(0x5d, 0x28);
  for (const key of storages.keys()) keys.text(key);
  const parts = [magic, protocol, system, pickle, keys.raw(0x65).finish()];
  for (const values of storages.values()) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(values.length), true);
    parts.push(count, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return joinBytes(parts);
}

/**
 * The fuzzers' shared-reference pickle: a one-element tensor, then `depth` lists each holding two
 * references to the one below, so that the object has 2^depth paths to the tensor in a few hundred bytes.
 */
export function sharedReferencePickle(depth: number, legacy: boolean): Uint8Array {
  const pickle = new PickleBuilder().tensor('0', 1, [1], [1], legacy).put(0).raw(0x30);
  for (let level = 1; level <= depth; level++)
    pickle
      .raw(0x5d, 0x28)
      .get(level - 1)
      .get(level - 1)
      .raw(0x65)
      .put(level)
      .raw(0x30);
  return pickle.get(depth).finish();
}
