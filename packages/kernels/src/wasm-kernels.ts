import { encodeModule, FunctionBody, ValueType, type ExportedFunction } from './wasm-assembler.js';

/** Columns of one panel: the SIMD kernels work on 8 output columns (two 4-float vectors) at a time. */
export const PANEL_WIDTH = 8;
/** Columns of one panel of the float64 kernels: two 2-double vectors, the same 32 bytes. */
export const PANEL_WIDTH_64 = 4;
/** Rows of one kernel block: rows and the depth are padded to multiples of this. */
export const ROW_BLOCK = 4;
/** Depth steps per loop iteration: two measured faster than one, four or eight (V8 11, x86-64). */
const DEPTH_UNROLL = 2;

/**
 * `panelProduct(rowCount, depth, panelCount, a, aRowBytes, b, bPanelBytes, c, cPanelBytes, accumulate)`:
 * C = A·B (or C += A·B when `accumulate` is not 0), float32, where
 * - A is `rowCount × depth`, row-major, row r starting at byte `a + r·aRowBytes`;
 * - B is `depth × (8·panelCount)` in panels: panel p holds `depth` rows of 8 floats, contiguous,
 *   starting at byte `b + p·bPanelBytes`;
 * - C is `rowCount × (8·panelCount)` in the same panel layout, panel p at byte `c + p·cPanelBytes`.
 * rowCount and depth must be positive multiples of 4, panelCount positive.
 *
 * Each 4-row × 8-column block of C stays in eight SIMD registers while the loop runs down the depth,
 * two steps per iteration: per step, two vector loads of B, four broadcast loads of A, sixteen
 * multiply-adds. Blocking the depth so that B's rows stay in cache is left to the caller (call it on
 * slices of the depth with `accumulate`).
 */
function buildPanelProduct(transposedA: boolean, precision: 'float32' | 'float64' = 'float32'): ExportedFunction {
  const wide = precision === 'float64';
  // Bytes of one element of A; a panel row of B and C is 32 bytes (two vectors) in both precisions.
  const element = wide ? 8 : 4;
  const parameters = Array<ValueType>(10).fill(ValueType.i32);
  const [rowCount, depth, panelCount, a, aStrideBytes, b, bPanelBytes, c, cPanelBytes, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const body = new FunctionBody(parameters.length);
  const row = body.local(ValueType.i32);
  const panel = body.local(ValueType.i32);
  const pointerCount = transposedA ? DEPTH_UNROLL : ROW_BLOCK;
  const aStarts = Array.from({ length: pointerCount }, () => body.local(ValueType.i32));
  const aPointers = Array.from({ length: pointerCount }, () => body.local(ValueType.i32));
  const aAdvance = body.local(ValueType.i32);
  const bPointer = body.local(ValueType.i32);
  const bEnd = body.local(ValueType.i32);
  const cPointer = body.local(ValueType.i32);
  const accumulators = Array.from({ length: 8 }, () => body.local(ValueType.v128));
  const bLow = body.local(ValueType.v128);
  const bHigh = body.local(ValueType.v128);
  const broadcast = body.local(ValueType.v128);

  // Row-major A: pointer r follows row r, and the depth steps of one iteration sit 4 bytes apart.
  // Transposed A: pointer s follows depth step s of the iteration, and the four rows sit 4 bytes apart.
  body
    .get(aStrideBytes)
    .i32Const(transposedA ? DEPTH_UNROLL : 0)
    .i32Mul()
    .i32Const(transposedA ? 0 : element * DEPTH_UNROLL)
    .i32Add()
    .set(aAdvance);
  body.i32Const(0).set(row);
  body.loop(() => {
    if (transposedA) body.get(a).get(row).i32Const(element).i32Mul().i32Add().set(aStarts[0]!);
    else body.get(a).get(row).get(aStrideBytes).i32Mul().i32Add().set(aStarts[0]!);
    for (let index = 1; index < pointerCount; index++)
      body
        .get(aStarts[index - 1]!)
        .get(aStrideBytes)
        .i32Add()
        .set(aStarts[index]!);
    body.i32Const(0).set(panel);
    body.loop(() => {
      body.get(b).get(panel).get(bPanelBytes).i32Mul().i32Add().tee(bPointer);
      body
        .get(depth)
        .i32Const(PANEL_WIDTH * 4)
        .i32Mul()
        .i32Add()
        .set(bEnd);
      body
        .get(c)
        .get(panel)
        .get(cPanelBytes)
        .i32Mul()
        .i32Add()
        .get(row)
        .i32Const(PANEL_WIDTH * 4)
        .i32Mul()
        .i32Add()
        .set(cPointer);
      body.get(accumulate).ifElse(
        () =>
          accumulators.forEach((accumulator, index) =>
            body
              .get(cPointer)
              .v128Load(index * 16)
              .set(accumulator),
          ),
        () => accumulators.forEach((accumulator) => body.v128Zero().set(accumulator)),
      );
      aStarts.forEach((start, index) => body.get(start).set(aPointers[index]!));
      body.loop(() => {
        for (let step = 0; step < DEPTH_UNROLL; step++) {
          body
            .get(bPointer)
            .v128Load(step * 32)
            .set(bLow);
          body
            .get(bPointer)
            .v128Load(step * 32 + 16)
            .set(bHigh);
          for (let r = 0; r < ROW_BLOCK; r++) {
            const splatOffset = transposedA ? r * element : step * element;
            body.get(transposedA ? aPointers[step]! : aPointers[r]!);
            if (wide) body.v128Load64Splat(splatOffset);
            else body.v128Load32Splat(splatOffset);
            body.set(broadcast);
            for (const [half, vector] of [
              [0, bLow],
              [1, bHigh],
            ] as const) {
              body
                .get(accumulators[2 * r + half]!)
                .get(broadcast)
                .get(vector);
              if (wide) body.f64x2Multiply().f64x2Add();
              else body.f32x4Multiply().f32x4Add();
              body.set(accumulators[2 * r + half]!);
            }
          }
        }
        aPointers.forEach((pointer) => body.get(pointer).get(aAdvance).i32Add().set(pointer));
        body
          .get(bPointer)
          .i32Const(DEPTH_UNROLL * PANEL_WIDTH * 4)
          .i32Add()
          .tee(bPointer)
          .get(bEnd)
          .i32LessThanUnsigned()
          .branchIf(0);
      });
      accumulators.forEach((accumulator, index) =>
        body
          .get(cPointer)
          .get(accumulator)
          .v128Store(index * 16),
      );
      body.get(panel).i32Const(1).i32Add().tee(panel).get(panelCount).i32LessThanUnsigned().branchIf(0);
    });
    body.get(row).i32Const(ROW_BLOCK).i32Add().tee(row).get(rowCount).i32LessThanUnsigned().branchIf(0);
  });
  return { name: `${transposedA ? 'panelProductTransposed' : 'panelProduct'}${wide ? '64' : ''}`, parameters, body };
}

/** The kernel module's bytes (a few hundred), built once. */
export function kernelModuleBytes(): Uint8Array {
  return encodeModule([buildPanelProduct(false), buildPanelProduct(true), buildPanelProduct(false, 'float64'), buildPanelProduct(true, 'float64')]);
}

export type PanelProduct = (
  rowCount: number,
  depth: number,
  panelCount: number,
  a: number,
  aRowBytes: number,
  b: number,
  bPanelBytes: number,
  c: number,
  cPanelBytes: number,
  accumulate: number,
) => void;
