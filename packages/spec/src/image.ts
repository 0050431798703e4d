/**
 * Decoded pixels, interleaved (HWC): row after row, each pixel's channels side by side.
 *
 * 8-bit images hold a `Uint8Array`, 16-bit images (common for X-rays) a `Uint16Array`.
 * `channels` is 1 (grey), 3 (RGB) or 4 (RGBA). Anything else is a decoding error, not an image.
 */
export interface RawImage {
  readonly data: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/** A dense float32 tensor in row-major (C) order. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** A row-major `[rows, columns]` float32 matrix: embeddings, scores, features. */
export interface Matrix {
  readonly data: Float32Array;
  readonly shape: readonly [rows: number, columns: number];
}
