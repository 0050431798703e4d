import { PANEL_WIDTH, PANEL_WIDTH_64, ROW_BLOCK } from './wasm-kernels.js';

/**
 * The float32 products of `wasm-kernels.ts` in plain JavaScript, with the same arguments (element offsets
 * and strides instead of byte addresses): the fallback where WebAssembly SIMD is missing, and a second
 * implementation to test the first against. About ten times slower.
 *
 * C (=|+=) A·B with A `rowCount × depth` (element (r, k) at `a[aOffset + r·aStride + k]`, or with
 * `transposedA` at `a[aOffset + k·aStride + r]`), B and C in 8-column panels (see `panelProduct`).
 */
export function javascriptPanelProduct(
  transposedA: boolean,
  rowCount: number,
  depth: number,
  panelCount: number,
  a: Float32Array,
  aOffset: number,
  aStride: number,
  b: Float32Array,
  bOffset: number,
  bPanelStride: number,
  c: Float32Array,
  cOffset: number,
  cPanelStride: number,
  accumulate: boolean,
): void {
  const rowStep = transposedA ? 1 : aStride;
  const depthStep = transposedA ? aStride : 1;
  const sums = new Float64Array(ROW_BLOCK * PANEL_WIDTH);
  for (let row = 0; row < rowCount; row += ROW_BLOCK) {
    for (let panel = 0; panel < panelCount; panel++) {
      const bStart = bOffset + panel * bPanelStride;
      const cStart = cOffset + panel * cPanelStride + row * PANEL_WIDTH;
      for (let index = 0; index < sums.length; index++) sums[index] = accumulate ? c[cStart + index]! : 0;
      for (let blockRow = 0; blockRow < ROW_BLOCK; blockRow++) {
        let aIndex = aOffset + (row + blockRow) * rowStep;
        let bIndex = bStart;
        // Eight running sums in locals: V8 keeps them in registers.
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0,
          s4 = 0,
          s5 = 0,
          s6 = 0,
          s7 = 0;
        for (let step = 0; step < depth; step++) {
          const value = a[aIndex]!;
          s0 += value * b[bIndex]!;
          s1 += value * b[bIndex + 1]!;
          s2 += value * b[bIndex + 2]!;
          s3 += value * b[bIndex + 3]!;
          s4 += value * b[bIndex + 4]!;
          s5 += value * b[bIndex + 5]!;
          s6 += value * b[bIndex + 6]!;
          s7 += value * b[bIndex + 7]!;
          aIndex += depthStep;
          bIndex += PANEL_WIDTH;
        }
        const base = blockRow * PANEL_WIDTH;
        sums[base] = sums[base]! + s0;
        sums[base + 1] = sums[base + 1]! + s1;
        sums[base + 2] = sums[base + 2]! + s2;
        sums[base + 3] = sums[base + 3]! + s3;
        sums[base + 4] = sums[base + 4]! + s4;
        sums[base + 5] = sums[base + 5]! + s5;
        sums[base + 6] = sums[base + 6]! + s6;
        sums[base + 7] = sums[base + 7]! + s7;
      }
      for (let index = 0; index < sums.length; index++) c[cStart + index] = sums[index]!;
    }
  }
}

/** The float64 products of `wasm-kernels.ts` (4-column panels) in plain JavaScript, with the same arguments. */
export function javascriptPanelProduct64(
  transposedA: boolean,
  rowCount: number,
  depth: number,
  panelCount: number,
  a: Float64Array,
  aOffset: number,
  aStride: number,
  b: Float64Array,
  bOffset: number,
  bPanelStride: number,
  c: Float64Array,
  cOffset: number,
  cPanelStride: number,
  accumulate: boolean,
): void {
  const rowStep = transposedA ? 1 : aStride;
  const depthStep = transposedA ? aStride : 1;
  for (let row = 0; row < rowCount; row++) {
    for (let panel = 0; panel < panelCount; panel++) {
      const bStart = bOffset + panel * bPanelStride;
      const cStart = cOffset + panel * cPanelStride + row * PANEL_WIDTH_64;
      let s0 = accumulate ? c[cStart]! : 0;
      let s1 = accumulate ? c[cStart + 1]! : 0;
      let s2 = accumulate ? c[cStart + 2]! : 0;
      let s3 = accumulate ? c[cStart + 3]! : 0;
      let aIndex = aOffset + row * rowStep;
      let bIndex = bStart;
      for (let step = 0; step < depth; step++) {
        const value = a[aIndex]!;
        s0 += value * b[bIndex]!;
        s1 += value * b[bIndex + 1]!;
        s2 += value * b[bIndex + 2]!;
        s3 += value * b[bIndex + 3]!;
        aIndex += depthStep;
        bIndex += PANEL_WIDTH_64;
      }
      c[cStart] = s0;
      c[cStart + 1] = s1;
      c[cStart + 2] = s2;
      c[cStart + 3] = s3;
    }
  }
}
