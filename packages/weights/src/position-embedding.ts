// A ViT's stored position table resampled for another patch grid, as DINO's and DINOv2's
// `interpolate_pos_encoding` and MAE's `interpolate_pos_embed` do it with PyTorch's bicubic `interpolate`,
// computed once for the chosen input size, so a runtime holds a fixed table (or fixed interpolation
// weights) instead of a resize. Shared by @medssl/runtime-onnx and @medssl/runtime-tfjs.
import type { BicubicPositionResampling, PositionResampling, SineCosinePositions } from '@medssl/spec';
import { DINO_POSITION_RESAMPLING } from './canonical.js';

/** PyTorch's bicubic kernel constant (`A` in `upsample_bicubic2d`). */
const CUBIC_A = -0.75;

const float32 = Math.fround;

/** `((A + 2)·x − (A + 3))·x² + 1`, for |x| ≤ 1, rounded to float32 after every step as PyTorch's kernel is. */
function cubicInner(x: number): number {
  let value = float32(float32(CUBIC_A + 2) * x);
  value = float32(value - float32(CUBIC_A + 3));
  value = float32(float32(value * x) * x);
  return float32(value + 1);
}

/** `((A·x − 5A)·x + 8A)·x − 4A`, for 1 < x < 2. */
function cubicOuter(x: number): number {
  let value = float32(float32(CUBIC_A * x) - float32(5 * CUBIC_A));
  value = float32(float32(value * x) + float32(8 * CUBIC_A));
  return float32(float32(value * x) - float32(4 * CUBIC_A));
}

/** Source indices of one output index along one axis and their float32 weights. */
interface Taps {
  readonly indices: readonly number[];
  readonly weights: readonly number[];
}

/**
 * Taps of one output index as PyTorch's `upsample_bicubic2d` (`align_corners=False`) computes them from
 * the kernel's `scale` (input/output, float32), in float32 arithmetic like its CPU kernel: four
 * neighbours, clamped at the border.
 */
function cubicTaps(outputIndex: number, inputSize: number, scale: number): Taps {
  const source = float32(scale * (outputIndex + 0.5) - 0.5);
  const floor = Math.min(Math.floor(source), inputSize - 1);
  const fraction = float32(source - floor);
  const clamp = (index: number) => Math.max(0, Math.min(inputSize - 1, index));
  return {
    indices: [clamp(floor - 1), clamp(floor), clamp(floor + 1), clamp(floor + 2)],
    weights: [cubicOuter(float32(fraction + 1)), cubicInner(fraction), cubicInner(float32(1 - fraction)), cubicOuter(float32(float32(1 - fraction) + 1))],
  };
}

/** `a·b + c` rounded once to float32, as a fused multiply-add (`a·b` of two float32 values is exact in a double). */
function fusedMultiplyAdd32(a: number, b: number, c: number): number {
  return float32(a * b + c);
}

/**
 * The cubic of antialiased resampling, Keys' a = −0.5 (Pillow's filter). PyTorch's CPU kernel evaluates
 * the inner piece in double precision and the outer one as `(((x − 5)·x + 8)·x − 4)·a` in float32, which
 * x86-64 builds with FMA contract into fused multiply-adds: reproduced here, so the weights are PyTorch's
 * bit for bit (checked against its float32 weights for downsampling and upsampling).
 */
function keysCubic(x: number): number {
  const distance = Math.abs(x);
  if (distance < 1) return float32((1.5 * distance - 2.5) * distance * distance + 1);
  if (distance < 2) {
    let value = float32(distance - 5);
    value = fusedMultiplyAdd32(value, distance, 8);
    value = fusedMultiplyAdd32(value, distance, -4);
    return float32(value * -0.5);
  }
  return 0;
}

/**
 * Taps of one output index as PyTorch's `_upsample_bicubic2d_aa`: the cubic is stretched by the scale
 * when downsampling (support 2·scale, so every input inside it counts), the weights normalised to sum
 * to one; every index outside the input is dropped rather than clamped.
 */
function antialiasedTaps(outputIndex: number, inputSize: number, scale: number): Taps {
  const support = scale >= 1 ? float32(2 * scale) : 2;
  const center = float32(scale * (outputIndex + 0.5));
  const inverseScale = scale >= 1 ? float32(1 / scale) : 1;
  const first = Math.max(Math.trunc(float32(center - support) + 0.5), 0);
  const count = Math.min(Math.trunc(float32(center + support) + 0.5), inputSize) - first;
  const indices: number[] = [];
  const raw: number[] = [];
  let total = 0;
  for (let tap = 0; tap < count; tap++) {
    const weight = keysCubic(float32((float32(first + tap - center) + 0.5) * inverseScale));
    indices.push(first + tap);
    raw.push(weight);
    total = float32(total + weight);
  }
  return { indices, weights: total === 0 ? raw : raw.map((weight) => float32(weight / total)) };
}

export interface PositionTableRequest {
  /** `pos_embed` as stored: `[1, 1 + grid², width]`, class position first. */
  readonly positionEmbedding: Float32Array;
  readonly width: number;
  readonly patchSize: number;
  readonly imageHeight: number;
  readonly imageWidth: number;
  /** How the stored grid is resampled (the architecture's `positions.resampling`); DINO's rule when not given. */
  readonly resampling?: PositionResampling;
}

/**
 * The position resampling for one input size as two dense matrices, for runtimes that resample a
 * trainable table with matrix products: patch position (row r, column c) of the new table is
 * `Σ_i Σ_j rowWeights[r, i] · columnWeights[c, j] · stored(i, j)`.
 */
export interface PositionInterpolation {
  /** Side of the stored square grid of patch positions. */
  readonly grid: number;
  readonly rows: number;
  readonly columns: number;
  /** `[rows, grid]`, row-major; `undefined` together with `columnWeights` when the stored table is used as is. */
  readonly rowWeights?: Float32Array;
  /** `[columns, grid]`, row-major. */
  readonly columnWeights?: Float32Array;
  /**
   * `[1 + rows·columns, width]`: a fixed table that replaces the stored one for this grid (sine-cosine
   * positions, made anew rather than resampled); then there are no weights.
   */
  readonly fixedTable?: Float32Array;
}

export interface PositionInterpolationRequest {
  readonly storedPatches: number;
  readonly patchSize: number;
  readonly imageHeight: number;
  readonly imageWidth: number;
  readonly resampling?: PositionResampling;
}

interface ResolvedGrid {
  readonly grid: number;
  readonly rows: number;
  readonly columns: number;
  readonly antialias: boolean;
  /** The taps of every new row and column, or `undefined` when the stored table is kept. */
  readonly taps?: { readonly rows: Taps[]; readonly columns: Taps[] };
  /** Sine-cosine positions made anew for this grid. */
  readonly sincos?: SineCosinePositions;
}

/**
 * Taps of every output index of one axis. With an offset, PyTorch is given the scale factor
 * `(outputs + offset) / stored`, derives the output size as its floor (DINO asserts it lands on the
 * grid) and interpolates with the scale 1 / factor; given the size, it interpolates with stored / outputs.
 */
function axisTaps(outputs: number, stored: number, resampling: BicubicPositionResampling): Taps[] {
  const { offset, antialias } = resampling;
  let scale: number;
  // DINOv2 tests `if self.interpolate_offset`: an offset of 0 gives the size, as no offset does.
  if (offset !== undefined && offset !== 0) {
    const scaleFactor = (outputs + offset) / stored;
    if (Math.floor(stored * scaleFactor) !== outputs) {
      throw new Error(`position interpolation from a ${stored}x${stored} grid with offset ${offset} would not give ${outputs} patches along an axis`);
    }
    scale = float32(1 / scaleFactor);
  } else {
    scale = float32(stored / outputs);
  }
  const taps = antialias ? antialiasedTaps : cubicTaps;
  return Array.from({ length: outputs }, (_, index) => taps(index, stored, scale));
}

function resolveGrid(request: PositionInterpolationRequest): ResolvedGrid {
  const { storedPatches, patchSize, imageHeight, imageWidth } = request;
  const resampling = request.resampling ?? DINO_POSITION_RESAMPLING;
  const grid = Math.round(Math.sqrt(storedPatches));
  if (!Number.isInteger(storedPatches) || grid * grid !== storedPatches) {
    throw new Error(`pos_embed holds ${storedPatches} patch positions, not a square grid`);
  }
  const rows = Math.floor(imageHeight / patchSize);
  const columns = Math.floor(imageWidth / patchSize);
  if (rows < 1 || columns < 1) throw new Error(`an input of ${imageHeight}x${imageWidth} is smaller than one ${patchSize}x${patchSize} patch`);
  // DINO and DINOv2 keep the table for the same patch count and a square input; MAE only resamples
  // another grid, and resampling the same size is the identity in every rule.
  const kept = rows * columns === storedPatches && imageHeight === imageWidth;
  if (resampling.mode === 'sincos') return { grid, rows, columns, antialias: false, ...(kept ? {} : { sincos: resampling }) };
  if (resampling.mode !== 'bicubic')
    throw new Error(`position resampling '${String((resampling as { mode: unknown }).mode)}' is not known; positions resample 'bicubic' or are made 'sincos'`);
  const antialias = resampling.antialias;
  if (kept) return { grid, rows, columns, antialias };
  return { grid, rows, columns, antialias, taps: { rows: axisTaps(rows, grid, resampling), columns: axisTaps(columns, grid, resampling) } };
}

/**
 * MoCo v3's fixed positions for a `rows` x `columns` grid, `[1 + rows·columns, width]`: a zero class
 * position, then per patch `sin(r·ω), cos(r·ω), sin(c·ω), cos(c·ω)` with `ω_k = 1 / temperature^(k / (width / 4))`,
 * `ω` in float32 as PyTorch computes it.
 */
export function sineCosinePositions(rows: number, columns: number, width: number, { temperature }: SineCosinePositions): Float32Array {
  if (width % 4 !== 0) throw new Error(`sine-cosine positions need a width divisible by 4, got ${width}`);
  const quarter = width / 4;
  const omega = Float32Array.from({ length: quarter }, (_, k) => 1 / Math.fround(temperature ** Math.fround(k / quarter)));
  const table = new Float32Array((1 + rows * columns) * width);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const offset = (1 + row * columns + column) * width;
      for (let k = 0; k < quarter; k++) {
        const alongRows = Math.fround(row * omega[k]!);
        const alongColumns = Math.fround(column * omega[k]!);
        table[offset + k] = Math.sin(alongRows);
        table[offset + quarter + k] = Math.cos(alongRows);
        table[offset + 2 * quarter + k] = Math.sin(alongColumns);
        table[offset + 3 * quarter + k] = Math.cos(alongColumns);
      }
    }
  }
  return table;
}

/** The dense `[outputs, grid]` matrix of a list of taps; clamped taps at the border add up. */
function tapMatrix(taps: readonly Taps[], grid: number): Float32Array {
  const matrix = new Float64Array(taps.length * grid);
  taps.forEach((tap, output) => tap.indices.forEach((index, i) => (matrix[output * grid + index]! += tap.weights[i]!)));
  return Float32Array.from(matrix);
}

/**
 * The separable weights of the bicubic position resampling for an input of the given size, or none
 * when the stored table is kept (same patch count, square input).
 */
export function positionInterpolation(request: PositionInterpolationRequest & { readonly width?: number }): PositionInterpolation {
  const { grid, rows, columns, taps, sincos } = resolveGrid(request);
  if (sincos) {
    if (request.width === undefined) throw new Error('sine-cosine positions need the width of the table');
    return { grid, rows, columns, fixedTable: sineCosinePositions(rows, columns, request.width, sincos) };
  }
  if (!taps) return { grid, rows, columns };
  return { grid, rows, columns, rowWeights: tapMatrix(taps.rows, grid), columnWeights: tapMatrix(taps.columns, grid) };
}

/**
 * The position table `[1 + rows·columns, width]` for an input of the given size: the stored table when
 * the patch grid is unchanged and square, otherwise the patch positions resampled bicubically by the
 * request's rule, with the class position kept.
 */
export function positionTableForInput(request: PositionTableRequest): Float32Array {
  const { positionEmbedding, width, patchSize, imageHeight, imageWidth } = request;
  const storedPatches = positionEmbedding.length / width - 1;
  const { grid, rows, columns, antialias, taps, sincos } = resolveGrid({
    storedPatches,
    patchSize,
    imageHeight,
    imageWidth,
    ...(request.resampling ? { resampling: request.resampling } : {}),
  });
  if (sincos) return sineCosinePositions(rows, columns, width, sincos);
  if (!taps) return positionEmbedding;

  const table = new Float32Array((1 + rows * columns) * width);
  table.set(positionEmbedding.subarray(0, width));
  const stored = (row: number, column: number, channel: number) => positionEmbedding[(1 + row * grid + column) * width + channel]!;
  // The antialiased kernel resamples the columns into a float32 table first, then the rows.
  const acrossColumns = antialias ? float32 : (value: number) => value;
  for (let row = 0; row < rows; row++) {
    const vertical = taps.rows[row]!;
    for (let column = 0; column < columns; column++) {
      const horizontal = taps.columns[column]!;
      const offset = (1 + row * columns + column) * width;
      for (let channel = 0; channel < width; channel++) {
        let value = 0;
        for (let i = 0; i < vertical.indices.length; i++) {
          let across = 0;
          for (let j = 0; j < horizontal.indices.length; j++) across += horizontal.weights[j]! * stored(vertical.indices[i]!, horizontal.indices[j]!, channel);
          value += vertical.weights[i]! * acrossColumns(across);
        }
        table[offset + channel] = value;
      }
    }
  }
  return table;
}
