import { rocAuc } from '@medssl/metrics';
import { createKernels, type KernelChoice, PANEL_WIDTH, ROW_BLOCK } from '@medssl/kernels';
import type { LabelProblem } from './problems.js';

/** Neighbours that vote (fewer when there are fewer other rows): medssl's choice, as its kNN protocol. */
export const KNN_NEIGHBOURS = 20;

/** Rows per tile of the similarity matrix, columns per chunk of it, and depth per kernel call: 256 KB operands. */
const TILE = 256;

/**
 * The `k` most cosine-similar other rows of every row, `n × k` row indices, most similar first (ties to
 * the lower index): the leave-one-out neighbourhoods. Similarities are float32 products of the normalised
 * rows on `@medssl/kernels` (WebAssembly SIMD where the runtime has it), each pair computed once, tile by
 * tile below the diagonal; only the ranking of neighbours is kept, which float32 leaves as float64 would
 * but for near-ties within about 1e-7.
 */
export async function nearestNeighbours(features: Float64Array, n: number, d: number, k: number, choice: KernelChoice = 'auto'): Promise<Int32Array> {
  const depth = Math.ceil(d / ROW_BLOCK) * ROW_BLOCK;
  const rows = Math.ceil(n / PANEL_WIDTH) * PANEL_WIDTH;
  const kernels = await createKernels(choice);
  // A: the normalised rows, row-major; B: the same rows as panels of 8 (depth-major within a panel); C: one tile.
  const [a, b, c] = kernels.allocate([rows * depth, rows * depth, TILE * TILE]) as [Float32Array, Float32Array, Float32Array];
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let column = 0; column < d; column++) norm += features[r * d + column]! ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const panel = Math.floor(r / PANEL_WIDTH) * depth * PANEL_WIDTH + (r % PANEL_WIDTH);
    for (let column = 0; column < d; column++) {
      const value = features[r * d + column]! * scale;
      a[r * depth + column] = value;
      b[panel + column * PANEL_WIDTH] = value;
    }
  }
  const indices = new Int32Array(n * k).fill(-1);
  const similarities = new Float64Array(n * k).fill(-Infinity);
  const offer = (row: number, other: number, similarity: number): void => {
    const base = row * k;
    let position = k - 1;
    const worst = similarities[base + position]!;
    if (similarity < worst || (similarity === worst && other > indices[base + position]! && indices[base + position]! >= 0)) return;
    while (position > 0) {
      const above = similarities[base + position - 1]!;
      const aboveIndex = indices[base + position - 1]!;
      if (above > similarity || (above === similarity && aboveIndex >= 0 && aboveIndex < other)) break;
      similarities[base + position] = above;
      indices[base + position] = aboveIndex;
      position--;
    }
    similarities[base + position] = similarity;
    indices[base + position] = other;
  };
  for (let rowStart = 0; rowStart < rows; rowStart += TILE) {
    const rowCount = Math.min(TILE, rows - rowStart);
    for (let columnStart = 0; columnStart < rowStart + rowCount; columnStart += TILE) {
      const columnCount = Math.min(TILE, rows - columnStart);
      const panels = columnCount / PANEL_WIDTH;
      for (let depthStart = 0; depthStart < depth; depthStart += TILE) {
        kernels.product(
          false,
          rowCount,
          Math.min(TILE, depth - depthStart),
          panels,
          a,
          rowStart * depth + depthStart,
          depth,
          b,
          (columnStart / PANEL_WIDTH) * depth * PANEL_WIDTH + depthStart * PANEL_WIDTH,
          depth * PANEL_WIDTH,
          c,
          0,
          rowCount * PANEL_WIDTH,
          depthStart > 0,
        );
      }
      for (let i = 0; i < rowCount; i++) {
        const row = rowStart + i;
        if (row >= n) break;
        const last = Math.min(columnStart + columnCount, row, n);
        for (let column = columnStart; column < last; column++) {
          const local = column - columnStart;
          const similarity = c[((local >> 3) * rowCount + i) * PANEL_WIDTH + (local & 7)]!;
          offer(row, column, similarity);
          offer(column, row, similarity);
        }
      }
    }
  }
  return indices;
}

/**
 * Leave-one-out kNN accuracy: each row's class predicted by the majority of its `k` nearest other rows
 * (cosine similarity on the raw features; a tie goes to the tied class whose nearest member is nearer),
 * the share of rows predicted right. For a label of a multilabel task the score is the ROC AUC of the
 * share of positive neighbours instead, since the accuracy of a rare label says little.
 */
export function knnScore(neighbours: Int32Array, n: number, k: number, problem: LabelProblem, binaryLabel: boolean): number {
  if (binaryLabel) {
    const shares = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let positives = 0;
      for (let j = 0; j < k; j++) positives += problem.labels[neighbours[r * k + j]!]!;
      shares[r] = positives / k;
    }
    return rocAuc(problem.labels, shares);
  }
  const votes = new Int32Array(problem.classCount);
  const firstRank = new Int32Array(problem.classCount);
  let correct = 0;
  for (let r = 0; r < n; r++) {
    votes.fill(0);
    firstRank.fill(k);
    for (let j = 0; j < k; j++) {
      const label = problem.labels[neighbours[r * k + j]!]!;
      votes[label] = votes[label]! + 1;
      if (firstRank[label] === k) firstRank[label] = j;
    }
    let best = 0;
    for (let label = 1; label < problem.classCount; label++) {
      if (votes[label]! > votes[best]! || (votes[label] === votes[best] && firstRank[label]! < firstRank[best]!)) best = label;
    }
    if (best === problem.labels[r]) correct++;
  }
  return correct / n;
}
