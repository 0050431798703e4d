/**
 * Writes small npz archives for tests, stored (like np.savez) or deflated (like np.savez_compressed):
 * a plain ZIP (APPNOTE 4.3.7, 4.3.12, 4.3.16) of `<key>.npy` members encoded by core's `encodeNpy`.
 */
import { writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { crc32, createNdArray, encodeNpy, type NdArray } from '@medssl/arrays';
import { createRng } from '@medssl/core';

export type NpzCompression = 'stored' | 'deflated';

export function npzBytes(arrays: Readonly<Record<string, NdArray>>, compression: NpzCompression): Uint8Array {
  const localParts: Uint8Array[] = [];
  const centralParts: Uint8Array[] = [];
  let offset = 0;
  for (const [key, array] of Object.entries(arrays)) {
    const name = new TextEncoder().encode(`${key}.npy`);
    const content = encodeNpy(array);
    const data = compression === 'deflated' ? new Uint8Array(deflateRawSync(content)) : content;
    const method = compression === 'deflated' ? 8 : 0;
    const checksum = crc32(content);

    const local = new Uint8Array(30 + name.length);
    const localView = new DataView(local.buffer);
    localView.setUint32(0, 0x04034b50, true);
    localView.setUint16(4, 20, true);
    localView.setUint16(8, method, true);
    localView.setUint32(14, checksum, true);
    localView.setUint32(18, data.length, true);
    localView.setUint32(22, content.length, true);
    localView.setUint16(26, name.length, true);
    local.set(name, 30);

    const central = new Uint8Array(46 + name.length);
    const centralView = new DataView(central.buffer);
    centralView.setUint32(0, 0x02014b50, true);
    centralView.setUint16(4, 20, true);
    centralView.setUint16(6, 20, true);
    centralView.setUint16(10, method, true);
    centralView.setUint32(16, checksum, true);
    centralView.setUint32(20, data.length, true);
    centralView.setUint32(24, content.length, true);
    centralView.setUint16(28, name.length, true);
    centralView.setUint32(42, offset, true);
    central.set(name, 46);

    localParts.push(local, data);
    centralParts.push(central);
    offset += local.length + data.length;
  }
  const centralSize = centralParts.reduce((sum, part) => sum + part.length, 0);
  const end = new Uint8Array(22);
  const endView = new DataView(end.buffer);
  endView.setUint32(0, 0x06054b50, true);
  endView.setUint16(8, centralParts.length, true);
  endView.setUint16(10, centralParts.length, true);
  endView.setUint32(12, centralSize, true);
  endView.setUint32(16, offset, true);
  return Buffer.concat([...localParts, ...centralParts, end]);
}

export function writeNpz(path: string, arrays: Readonly<Record<string, NdArray>>, compression: NpzCompression): void {
  writeFileSync(path, npzBytes(arrays, compression));
}

/** A uint8 array of the given shape whose values follow a pattern (seeded by `salt`). */
export function patternedUint8(shape: number[], salt: number): NdArray {
  const array = createNdArray('uint8', shape);
  for (let index = 0; index < array.data.length; index++) array.data[index] = (index * 31 + salt * 17 + (index >> 7)) & 0xff;
  return array;
}

export function uint8Array(shape: number[], values: ArrayLike<number>): NdArray {
  const array = createNdArray('uint8', shape);
  array.data.set(values);
  return array;
}

/** A uint8 array of seeded noise: it hardly compresses, like real images. */
export function noisyUint8(shape: number[], seed: number): NdArray {
  const array = createNdArray('uint8', shape);
  const rng = createRng(seed);
  for (let index = 0; index < array.data.length; index++) array.data[index] = rng.int(256);
  return array;
}
