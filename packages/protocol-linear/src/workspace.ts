import { type MatrixKernels, PANEL_WIDTH, ROW_BLOCK } from '@medssl/kernels';

/** Rounds up to a multiple of `step`. */
export function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

/** Index of (row, column) in a matrix stored in 8-column panels of `rows` rows each. */
export function panelIndex(row: number, column: number, rows: number): number {
  return ((column >> 3) * rows + row) * PANEL_WIDTH + (column & 7);
}

/** The product `features · weights` keeps the weight panels in cache for slices of this many features. */
const FORWARD_DEPTH_SLICE_BYTES = 256 * 1024;
/** Copying the training features transposed speeds up `features^T · residuals` by about a third; above this size the copy is skipped. */
const TRANSPOSED_COPY_LIMIT_BYTES = 512 * 1024 * 1024;
/** Rows per slice of the product with the training features read transposed in place (keeps the slice in cache). */
const TRANSPOSED_IN_PLACE_ROWS = 64;

export interface WorkspaceSizes {
  readonly trainRows: number;
  readonly dimension: number;
  /** Most output columns multiplied at once (all grid values times outputs). */
  readonly columns: number;
  /** Most rows of a validation or test split scored at once. */
  readonly evaluationRows: number;
}

/**
 * Float32 buffers shared by the solver and the kernels: the standardised training features (row-major,
 * padded with zero rows and columns to multiples of 4), optionally a transposed copy, weights, logits and
 * gradients in 8-column panels, and room for a validation or test split.
 */
export class Workspace {
  readonly rows: number;
  readonly dimension: number;
  readonly paddedRows: number;
  readonly paddedDimension: number;
  readonly paddedEvaluationRows: number;
  readonly maximumPanels: number;
  /** `[paddedRows, paddedDimension]` standardised training features. */
  readonly features: Float32Array;
  /** `[paddedDimension, paddedRows]`, or empty when it would be too large. */
  readonly transposedFeatures: Float32Array;
  /** `[paddedDimension, 8·panels]` in panels of paddedDimension rows. */
  readonly weights: Float32Array;
  /** `[paddedRows, 8·panels]` logits, overwritten in place by residuals. */
  readonly logits: Float32Array;
  /** `[paddedDimension, 8·panels]` features^T · residuals. */
  readonly gradients: Float32Array;
  /** `[paddedEvaluationRows, paddedDimension]` standardised features of the split being scored. */
  readonly evaluationFeatures: Float32Array;
  /** `[paddedEvaluationRows, 8·panels]` logits of the split being scored. */
  readonly evaluationLogits: Float32Array;

  constructor(
    readonly kernels: MatrixKernels,
    sizes: WorkspaceSizes,
  ) {
    this.rows = sizes.trainRows;
    this.dimension = sizes.dimension;
    this.paddedRows = roundUp(Math.max(sizes.trainRows, 1), ROW_BLOCK);
    this.paddedDimension = roundUp(sizes.dimension, ROW_BLOCK);
    this.paddedEvaluationRows = roundUp(Math.max(sizes.evaluationRows, 1), ROW_BLOCK);
    this.maximumPanels = Math.max(1, Math.ceil(sizes.columns / PANEL_WIDTH));
    const featureCount = this.paddedRows * this.paddedDimension;
    const transposedCount = featureCount * 4 <= TRANSPOSED_COPY_LIMIT_BYTES ? featureCount : 0;
    const panelFloats = this.maximumPanels * PANEL_WIDTH;
    [this.features, this.transposedFeatures, this.weights, this.logits, this.gradients, this.evaluationFeatures, this.evaluationLogits] = kernels.allocate([
      featureCount,
      transposedCount,
      this.paddedDimension * panelFloats,
      this.paddedRows * panelFloats,
      this.paddedDimension * panelFloats,
      this.paddedEvaluationRows * this.paddedDimension,
      this.paddedEvaluationRows * panelFloats,
    ]) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  }

  /** Fills the transposed copy from `features` (call after writing the features). */
  transposeFeatures(): void {
    if (this.transposedFeatures.length === 0) return;
    const { features, transposedFeatures, paddedRows, paddedDimension } = this;
    // Blocks of 64 × 64 keep both the rows read and the rows written in cache.
    const block = 64;
    for (let rowStart = 0; rowStart < paddedRows; rowStart += block) {
      const rowEnd = Math.min(rowStart + block, paddedRows);
      for (let columnStart = 0; columnStart < paddedDimension; columnStart += block) {
        const columnEnd = Math.min(columnStart + block, paddedDimension);
        for (let row = rowStart; row < rowEnd; row++) {
          for (let column = columnStart; column < columnEnd; column++) {
            transposedFeatures[column * paddedRows + row] = features[row * paddedDimension + column]!;
          }
        }
      }
    }
  }

  /** logits = features · weights, for the first `panels` panels. */
  forward(panels: number): void {
    this.multiplyByWeights(this.features, this.paddedRows, this.logits, panels);
  }

  /** evaluationLogits = evaluationFeatures · weights for the first `rows` rows (rounded up to 4). */
  forwardEvaluation(rows: number, panels: number): void {
    this.multiplyByWeights(this.evaluationFeatures, roundUp(Math.max(rows, 1), ROW_BLOCK), this.evaluationLogits, panels, this.paddedEvaluationRows);
  }

  private multiplyByWeights(features: Float32Array, rowCount: number, into: Float32Array, panels: number, intoRows = this.paddedRows): void {
    const { paddedDimension, weights } = this;
    const slice = Math.max(ROW_BLOCK, Math.floor(FORWARD_DEPTH_SLICE_BYTES / (panels * PANEL_WIDTH * 4) / ROW_BLOCK) * ROW_BLOCK);
    for (let start = 0; start < paddedDimension; start += slice) {
      const depth = Math.min(slice, paddedDimension - start);
      this.kernels.product(
        false,
        rowCount,
        depth,
        panels,
        features,
        start,
        paddedDimension,
        weights,
        start * PANEL_WIDTH,
        paddedDimension * PANEL_WIDTH,
        into,
        0,
        intoRows * PANEL_WIDTH,
        start > 0,
      );
    }
  }

  /**
   * For every `step`-th training row, the first `rows` of them (a multiple of 4): logits = features ·
   * weights, then gradients = featuresᵀ · logits, on those rows only. The spectrum of the covariance is
   * estimated on such a sample: the preconditioner needs its leading directions, not its exact values.
   */
  sampledCovarianceProduct(step: number, rows: number, panels: number): void {
    const { paddedDimension, features, weights, logits, gradients } = this;
    this.kernels.product(
      false,
      rows,
      paddedDimension,
      panels,
      features,
      0,
      step * paddedDimension,
      weights,
      0,
      paddedDimension * PANEL_WIDTH,
      logits,
      0,
      rows * PANEL_WIDTH,
      false,
    );
    for (let start = 0; start < rows; start += TRANSPOSED_IN_PLACE_ROWS) {
      const depth = Math.min(TRANSPOSED_IN_PLACE_ROWS, rows - start);
      this.kernels.product(
        true,
        paddedDimension,
        depth,
        panels,
        features,
        start * step * paddedDimension,
        step * paddedDimension,
        logits,
        start * PANEL_WIDTH,
        rows * PANEL_WIDTH,
        gradients,
        0,
        paddedDimension * PANEL_WIDTH,
        start > 0,
      );
    }
  }

  /** gradients = features^T · logits (the residuals written over the logits), first `panels` panels. */
  backward(panels: number): void {
    const { paddedRows, paddedDimension, logits, gradients } = this;
    if (this.transposedFeatures.length > 0) {
      this.kernels.product(
        false,
        paddedDimension,
        paddedRows,
        panels,
        this.transposedFeatures,
        0,
        paddedRows,
        logits,
        0,
        paddedRows * PANEL_WIDTH,
        gradients,
        0,
        paddedDimension * PANEL_WIDTH,
        false,
      );
      return;
    }
    for (let start = 0; start < paddedRows; start += TRANSPOSED_IN_PLACE_ROWS) {
      const depth = Math.min(TRANSPOSED_IN_PLACE_ROWS, paddedRows - start);
      this.kernels.product(
        true,
        paddedDimension,
        depth,
        panels,
        this.features,
        start * paddedDimension,
        paddedDimension,
        logits,
        start * PANEL_WIDTH,
        paddedRows * PANEL_WIDTH,
        gradients,
        0,
        paddedDimension * PANEL_WIDTH,
        start > 0,
      );
    }
  }
}
