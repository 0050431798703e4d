import { rocAuc } from '@medssl/metrics';
import type { LabelProblem } from './problems.js';

/** Neighbours that vote (fewer when there are fewer other rows): medssl's choice, as its kNN protocol. */
export const KNN_NEIGHBOURS = 20;
const TILE = 64;

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
  const tile = new Float64Array(TILE * TILE);
  for (let rowStart = 0; rowStart < n; rowStart += TILE) {
    const rowEnd = Math.min(n, rowStart + TILE);
    for (let columnStart = 0; columnStart <= rowStart; columnStart += TILE) {
      const columnEnd = Math.min(n, columnStart + TILE);
      for (let i = rowStart; i < rowEnd; i++) {
        const a = i * d;
        let j = columnStart;
        for (; j + 3 < columnEnd; j += 4) {
          const b0 = j * d;
          const b1 = b0 + d;
          const b2 = b1 + d;
          const b3 = b2 + d;
          let s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0;
          for (let c = 0; c < d; c++) {
            const x = normalized[a + c]!;
            s0 += x * normalized[b0 + c]!;
            s1 += x * normalized[b1 + c]!;
            s2 += x * normalized[b2 + c]!;
            s3 += x * normalized[b3 + c]!;
          }
          const t = (i - rowStart) * TILE + (j - columnStart);
          tile[t] = s0;
          tile[t + 1] = s1;
          tile[t + 2] = s2;
          tile[t + 3] = s3;
        }
        for (; j < columnEnd; j++) {
          let sum = 0;
          for (let c = 0; c < d; c++) sum += normalized[a + c]! * normalized[j * d + c]!;
          tile[(i - rowStart) * TILE + (j - columnStart)] = sum;
        }
      }
      for (let i = rowStart; i < rowEnd; i++) {
        const last = columnStart === rowStart ? i : columnEnd;
        for (let j = columnStart; j < last; j++) {
          const similarity = tile[(i - rowStart) * TILE + (j - columnStart)]!;
          offer(i, j, similarity);
          offer(j, i, similarity);
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
