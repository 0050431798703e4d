import { assertFiniteFeatures, outputCount, validateTargets } from '@medssl/core';
import { computeMetrics } from '@medssl/metrics';
import type { FeatureSet, Matrix, Protocol, ProtocolInput, ProtocolResult, TargetArray, Task } from '@medssl/spec';
import { SPECIFICATION_VERSION } from '@medssl/spec';
import { nearestNeighbors, normalizeRows, type Neighbors } from './neighbors.js';

export interface KnnOptions {
  /** Neighbour counts to choose from on the validation split; DINO's protocol uses 10, 20, 100 and 200. */
  readonly ks?: readonly number[];
  /** Temperature of the similarity weights exp(similarity / T); DINO uses 0.07. */
  readonly temperature?: number;
}

export const DEFAULT_KS: readonly number[] = [10, 20, 100, 200];
export const DEFAULT_TEMPERATURE = 0.07;

/**
 * Weighted k-nearest-neighbour classification of frozen features, as DINO evaluates them: features are
 * L2-normalised, each of the k most similar training rows votes for its class (or labels) with weight
 * exp(cosine / T), and the votes are normalised into scores. k is chosen on the validation split.
 */
export function knnProbe(options: KnnOptions = {}): Protocol {
  const ks = [...(options.ks ?? DEFAULT_KS)];
  const temperature = options.temperature ?? DEFAULT_TEMPERATURE;
  if (ks.length === 0 || ks.some((k) => !Number.isSafeInteger(k) || k <= 0)) {
    throw new RangeError(`knn: ks must be positive integers, got [${ks.join(', ')}]`);
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RangeError(`knn: temperature must be positive, got ${temperature}`);
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: 'knn',
    supports: ['binary', 'multiclass', 'multilabel'],
    async evaluate(input: ProtocolInput): Promise<ProtocolResult> {
      const { task } = input;
      const dimension = checkInput(input);
      const trainRows = input.trainRows ?? Int32Array.from({ length: input.train.features.shape[0] }, (_, row) => row);
      const train = selectRows(input.train, trainRows, dimension);
      const trainTargets = selectTargets(input.train.targets, trainRows);
      const largestK = Math.min(Math.max(...ks), trainRows.length);
      const neighborsOf = (set: FeatureSet): Neighbors => {
        const rows = set.features.shape[0];
        input.signal?.throwIfAborted();
        return nearestNeighbors(normalizeRows(set.features.data, rows, dimension), rows, train, trainRows.length, dimension, largestK);
      };
      const valNeighbors = neighborsOf(input.val);
      const candidates = [...new Set(ks.map((k) => Math.min(k, trainRows.length)))].sort((a, b) => a - b);
      let best: { k: number; score: number; metrics: Record<string, number> } | undefined;
      for (const k of candidates) {
        const { metrics } = computeMetrics(task, input.val.targets, voteScores(valNeighbors, k, trainTargets, task, temperature));
        const score = metrics[task.primaryMetric]!;
        // A smaller k wins ties: the candidates are visited in increasing order.
        if (best === undefined || score > best.score) best = { k, score, metrics };
      }
      const chosen = best!;
      const scores = voteScores(neighborsOf(input.test), chosen.k, trainTargets, task, temperature);
      const { metrics, perLabel } = computeMetrics(task, input.test.targets, scores);
      return {
        metrics,
        validation: chosen.metrics,
        selected: { k: chosen.k, temperature },
        scores,
        ...(perLabel ? { perLabel } : {}),
      };
    },
  };
}

function checkInput(input: ProtocolInput): number {
  const dimension = input.train.features.shape[1];
  for (const split of ['train', 'val', 'test'] as const) {
    const set = input[split];
    const [rows, columns] = set.features.shape;
    if (columns !== dimension) {
      throw new RangeError(
        `knn: train features are [${input.train.features.shape.join(', ')}], ${split} features [${rows}, ${columns}]; dimensions must agree`,
      );
    }
    if (set.targets.shape[0] !== rows || set.ids.length !== rows) {
      throw new RangeError(`knn: ${split} has ${rows} feature rows, ${set.targets.shape[0]} target rows and ${set.ids.length} ids`);
    }
    validateTargets(input.task, set.targets, `knn: ${split} targets`);
    assertFiniteFeatures(set, `knn: ${split}`);
  }
  const trainCount = input.train.features.shape[0];
  input.trainRows?.forEach((row, position) => {
    if (row < 0 || row >= trainCount) throw new RangeError(`knn: trainRows[${position}] = ${row} is not a row of the ${trainCount}-row train split`);
  });
  if ((input.trainRows?.length ?? trainCount) === 0) throw new RangeError('knn: no training rows');
  return dimension;
}

function selectRows(set: FeatureSet, rows: Int32Array, dimension: number): Float32Array {
  const selected = new Float32Array(rows.length * dimension);
  rows.forEach((row, index) => selected.set(set.features.data.subarray(row * dimension, (row + 1) * dimension), index * dimension));
  return normalizeRows(selected, rows.length, dimension);
}

function selectTargets(targets: TargetArray, rows: Int32Array): TargetArray {
  if (targets.type === 'class') return { type: 'class', data: Int32Array.from(rows, (row) => targets.data[row]!), shape: [rows.length] };
  const labels = targets.shape[1];
  const data = new Uint8Array(rows.length * labels);
  rows.forEach((row, index) => data.set(targets.data.subarray(row * labels, (row + 1) * labels), index * labels));
  return { type: 'labels', data, shape: [rows.length, labels] };
}

/** Scores from the first k neighbours: weighted votes exp(similarity / T), normalised to sum to one per row. */
export function voteScores(neighbors: Neighbors, k: number, trainTargets: TargetArray, task: Task, temperature: number): Matrix {
  const outputs = outputCount(task);
  const queries = neighbors.rows.length / neighbors.k;
  const scores = new Float32Array(queries * outputs);
  const votes = new Float64Array(outputs);
  for (let query = 0; query < queries; query++) {
    votes.fill(0);
    let total = 0;
    const base = query * neighbors.k;
    // Subtracting the best similarity keeps exp() finite at T = 0.07; the constant cancels in the ratio.
    const top = neighbors.similarities[base]!;
    for (let rank = 0; rank < k; rank++) {
      const weight = Math.exp((neighbors.similarities[base + rank]! - top) / temperature);
      const trainRow = neighbors.rows[base + rank]!;
      total += weight;
      if (trainTargets.type === 'class') votes[trainTargets.data[trainRow]!]! += weight;
      else for (let label = 0; label < outputs; label++) votes[label]! += weight * trainTargets.data[trainRow * outputs + label]!;
    }
    for (let output = 0; output < outputs; output++) scores[query * outputs + output] = total > 0 ? votes[output]! / total : 0;
  }
  return { data: scores, shape: [queries, outputs] };
}
