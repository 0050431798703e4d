import { rocAuc } from '@medssl/metrics';
import { dotProductTile, TILE_ROWS } from './linear-algebra.js';
import type { LabelProblem } from './problems.js';

/** Neighbours that vote (fewer when there are fewer other rows): medssl's choice, as its kNN protocol. */
export const KNN_NEIGHBOURS = 20;

/**
 * The `k` most cosine-similar other rows of every row, `n × k` row indices, most similar first (ties to
 * the lower index): the leave-one-out neighbourhoods. Each pair's similarity is computed once, in tiles.
 */
export function nearestNeighbours(features: Float64Array, n: number, d: number, k: number): Int32Array {
  const normalized = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let c = 0; c < d; c++) norm += features[r * d + c]! ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let c = 0; c < d; c++) normalized[r * d + c] = features[r * d + c]! * scale;
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
  const tile = new Float64Array(TILE_ROWS * TILE_ROWS);
  for (let rowStart = 0; rowStart < n; rowStart += TILE_ROWS) {
    const rowCount = Math.min(TILE_ROWS, n - rowStart);
    for (let columnStart = 0; columnStart <= rowStart; columnStart += TILE_ROWS) {
      const columnCount = Math.min(TILE_ROWS, n - columnStart);
      dotProductTile(normalized, d, rowStart, rowCount, columnStart, columnCount, tile, TILE_ROWS);
      for (let i = 0; i < rowCount; i++) {
        const last = columnStart === rowStart ? i : columnCount;
        for (let j = 0; j < last; j++) {
          const similarity = tile[i * TILE_ROWS + j]!;
          offer(rowStart + i, columnStart + j, similarity);
          offer(columnStart + j, rowStart + i, similarity);
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
