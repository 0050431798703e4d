/**
 * Random access to bytes that may not all be in memory: an archive in a Uint8Array, a browser
 * `File`/`Blob`, or (in `./node.js`) a file read with positioned reads. ZIP readers need this
 * because the directory of an archive sits at its end.
 */
export interface ByteSource {
  /** Total number of bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes starting at `offset`; both are within `size`. The result may be a view
   * of memory the source keeps (for an in-memory source), so callers must not write to it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes already in memory; reads are views, not copies. */
export function byteSourceFromBytes(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/**
 * A source over a `Blob` (a browser `File` is one): only the bytes asked for are loaded, so one
 * member of a multi-gigabyte archive can be read without loading the rest.
 */
export function byteSourceFromBlob(blob: Blob): ByteSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}
