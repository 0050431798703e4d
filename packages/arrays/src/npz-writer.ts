import type { NdArray } from './ndarray.js';
import { encodeNpyHeader } from './npy.js';
import { encodeZipParts } from './zip-writer.js';

/**
 * An NPZ archive as `np.savez` writes it (a ZIP of stored `<key>.npy` members), as the pieces to write one
 * after the other: headers, and views of the arrays' memory rather than copies. numpy's `np.load` and
 * `readNpz` read it. Archives past 4 GiB would need ZIP64 and are refused.
 */
export function encodeNpzParts(arrays: ReadonlyMap<string, NdArray>): Uint8Array[] {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('writing npz needs a little-endian host');
  const members = [...arrays].map(([key, array]) => ({
    name: `${key}.npy`,
    data: [encodeNpyHeader(array), new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)],
  }));
  return encodeZipParts(members, 'npz');
}
