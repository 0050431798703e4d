// DINO's `interpolate_pos_encoding`, computed once for the chosen input size, so a runtime holds a fixed
// table (or fixed interpolation weights) instead of a resize. Shared by @medssl/runtime-onnx and
// @medssl/runtime-tfjs.

/** PyTorch's bicubic kernel constant (`A` in `upsample_bicubic2d`). */
const CUBIC_A = -0.75;
/**
 * DINO adds 0.1 to the target grid before deriving the scale factor, to keep the output size from
 * rounding down (facebookresearch/dino#8); the offset also shifts where samples fall, so it is kept here.
 */
const DINO_GRID_OFFSET = 0.1;

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

interface CubicTaps {
  readonly indices: readonly [number, number, number, number];
  readonly weights: readonly [number, number, number, number];
}

/**
 * Source taps and weights of one output index, as PyTorch's `upsample_bicubic2d` computes them with an
 * explicit scale factor and `align_corners=False`, in float32 arithmetic like its CPU kernel.
 */
function cubicTaps(outputIndex: number, inputSize: number, scaleFactor: number): CubicTaps {
  const scale = float32(1 / scaleFactor);
  const source = float32(scale * (outputIndex + 0.5) - 0.5);
  const floor = Math.min(Math.floor(source), inputSize - 1);
  const fraction = float32(source - floor);
  const clamp = (index: number) => Math.max(0, Math.min(inputSize - 1, index));
  return {
    indices: [clamp(floor - 1), clamp(floor), clamp(floor + 1), clamp(floor + 2)],
    weights: [cubicOuter(float32(fraction + 1)), cubicInner(fraction), cubicInner(float32(1 - fraction)), cubicOuter(float32(float32(1 - fraction) + 1))],
  };
}

export interface PositionTableRequest {
  /** `pos_embed` as stored: `[1, 1 + grid², width]`, class position first. */
  readonly positionEmbedding: Float32Array;
  readonly width: number;
  readonly patchSize: number;
  readonly imageHeight: number;
  readonly imageWidth: number;
}

/**
 * DINO's position interpolation for one input size as two dense matrices, for runtimes that resample a
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
}

interface GridRequest {
  readonly storedPatches: number;
  readonly patchSize: number;
  readonly imageHeight: number;
  readonly imageWidth: number;
}

interface ResolvedGrid {
  readonly grid: number;
  readonly rows: number;
  readonly columns: number;
  /** The taps of every new row and column, or `undefined` when DINO keeps the stored table. */
  readonly taps?: { readonly rows: CubicTaps[]; readonly columns: CubicTaps[] };
}

function resolveGrid(request: GridRequest): ResolvedGrid {
  const { storedPatches, patchSize, imageHeight, imageWidth } = request;
  const grid = Math.round(Math.sqrt(storedPatches));
  if (!Number.isInteger(storedPatches) || grid * grid !== storedPatches) {
    throw new Error(`pos_embed holds ${storedPatches} patch positions, not a square grid`);
  }
  const rows = Math.floor(imageHeight / patchSize);
  const columns = Math.floor(imageWidth / patchSize);
  if (rows < 1 || columns < 1) throw new Error(`an input of ${imageHeight}x${imageWidth} is smaller than one ${patchSize}x${patchSize} patch`);
  if (rows * columns === storedPatches && imageHeight === imageWidth) return { grid, rows, columns };

  const rowScale = (rows + DINO_GRID_OFFSET) / grid;
  const columnScale = (columns + DINO_GRID_OFFSET) / grid;
  // PyTorch derives the output size as floor(input · scale factor); DINO asserts it lands on the grid.
  if (Math.floor(grid * rowScale) !== rows || Math.floor(grid * columnScale) !== columns) {
    throw new Error(`position interpolation from a ${grid}x${grid} grid would not give ${rows}x${columns}`);
  }
  return {
    grid,
    rows,
    columns,
    taps: {
      rows: Array.from({ length: rows }, (_, row) => cubicTaps(row, grid, rowScale)),
      columns: Array.from({ length: columns }, (_, column) => cubicTaps(column, grid, columnScale)),
    },
  };
}

/** The dense `[outputs, grid]` matrix of a list of taps; clamped taps at the border add up. */
function tapMatrix(taps: readonly CubicTaps[], grid: number): Float32Array {
  const matrix = new Float64Array(taps.length * grid);
  taps.forEach((tap, output) => tap.indices.forEach((index, i) => (matrix[output * grid + index]! += tap.weights[i]!)));
  return Float32Array.from(matrix);
}

/**
 * The separable weights of DINO's bicubic position interpolation (scale factor `(rows + 0.1) / grid`) for
 * an input of the given size, or none when DINO keeps the stored table (same patch count, square input).
 */
export function positionInterpolation(request: { storedPatches: number; patchSize: number; imageHeight: number; imageWidth: number }): PositionInterpolation {
  const { grid, rows, columns, taps } = resolveGrid(request);
  if (!taps) return { grid, rows, columns };
  return { grid, rows, columns, rowWeights: tapMatrix(taps.rows, grid), columnWeights: tapMatrix(taps.columns, grid) };
}

/**
 * The position table `[1 + rows·columns, width]` for an input of the given size: the stored table when
 * the patch grid is unchanged and square, otherwise the patch positions resampled bicubically exactly as
 * DINO does (scale factor `(rows + 0.1) / grid`), with the class position kept.
 */
export function positionTableForInput(request: PositionTableRequest): Float32Array {
  const { positionEmbedding, width, patchSize, imageHeight, imageWidth } = request;
  const { grid, rows, columns, taps } = resolveGrid({ storedPatches: positionEmbedding.length / width - 1, patchSize, imageHeight, imageWidth });
  if (!taps) return positionEmbedding;

  const table = new Float32Array((1 + rows * columns) * width);
  table.set(positionEmbedding.subarray(0, width));
  const stored = (row: number, column: number, channel: number) => positionEmbedding[(1 + row * grid + column) * width + channel]!;
  for (let row = 0; row < rows; row++) {
    const vertical = taps.rows[row]!;
    for (let column = 0; column < columns; column++) {
      const horizontal = taps.columns[column]!;
      const offset = (1 + row * columns + column) * width;
      for (let channel = 0; channel < width; channel++) {
        let value = 0;
        for (let i = 0; i < 4; i++) {
          let across = 0;
          for (let j = 0; j < 4; j++) across += horizontal.weights[j]! * stored(vertical.indices[i]!, horizontal.indices[j]!, channel);
          value += vertical.weights[i]! * across;
        }
        table[offset + channel] = value;
      }
    }
  }
  return table;
}
