import { createRng } from '@medssl/core';
import type { FeatureSet, ProtocolInput, Task } from '@medssl/spec';
import { describeProtocol, syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { knnProbe, voteScores } from './knn.js';
import { nearestNeighbors, normalizeRows } from './neighbors.js';

describeProtocol('knn', () => knnProbe());

const binary: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

/** All-pairs reference: cosine similarities, full sort, DINO's weights. Written plainly, for comparison. */
function referenceScores(train: number[][], trainClasses: number[], queries: number[][], k: number, temperature: number, classes: number) {
  const unit = (vector: number[]) => {
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  };
  const trainUnit = train.map(unit);
  return queries.map((query) => {
    const q = unit(query);
    const ranked = trainUnit
      .map((row, index) => ({ index, similarity: row.reduce((sum, value, column) => sum + value * q[column]!, 0) }))
      .sort((a, b) => b.similarity - a.similarity || a.index - b.index)
      .slice(0, k);
    const votes = new Array<number>(classes).fill(0);
    for (const { index, similarity } of ranked) votes[trainClasses[index]!]! += Math.exp(similarity / temperature);
    const total = votes.reduce((a, b) => a + b, 0);
    return votes.map((vote) => vote / total);
  });
}

describe('nearest neighbours and votes', () => {
  it('match a plain all-pairs reference', () => {
    const rng = createRng(7);
    const dimension = 13;
    const train = Array.from({ length: 300 }, () => Array.from({ length: dimension }, () => rng.normal()));
    const trainClasses = train.map(() => rng.int(3));
    const queries = Array.from({ length: 45 }, () => Array.from({ length: dimension }, () => rng.normal()));
    const trainData = normalizeRows(Float32Array.from(train.flat()), train.length, dimension);
    const queryData = normalizeRows(Float32Array.from(queries.flat()), queries.length, dimension);
    const neighbors = nearestNeighbors(queryData, queries.length, trainData, train.length, dimension, 40);
    const task: Task = { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' };
    for (const k of [1, 10, 40]) {
      const scores = voteScores(neighbors, k, { type: 'class', data: Int32Array.from(trainClasses), shape: [train.length] }, task, 0.07);
      const expected = referenceScores(train, trainClasses, queries, k, 0.07, 3);
      expected.forEach((row, query) => row.forEach((value, output) => expect(scores.data[query * 3 + output]!).toBeCloseTo(value, 5)));
    }
  });

  it('computes the DINO weights on a worked example', () => {
    // Query (1, 0); neighbours at cosine 1 (class 1), 0.6 (class 0) and 0 (class 1), T = 0.5.
    const train = normalizeRows(Float32Array.from([2, 0, 0.6, 0.8, 0, 3]), 3, 2);
    const neighbors = nearestNeighbors(Float32Array.from([1, 0]), 1, train, 3, 2, 3);
    expect(Array.from(neighbors.rows)).toEqual([0, 1, 2]);
    const scores = voteScores(neighbors, 3, { type: 'class', data: Int32Array.from([1, 0, 1]), shape: [3] }, binary, 0.5);
    const [w1, w06, w0] = [Math.exp(1 / 0.5), Math.exp(0.6 / 0.5), Math.exp(0)];
    expect(scores.data[1]!).toBeCloseTo((w1 + w0) / (w1 + w06 + w0), 6);
    expect(scores.data[0]!).toBeCloseTo(w06 / (w1 + w06 + w0), 6);
  });
});

/** 40 tight clusters of 10 points with alternating classes: only a small k sees the right cluster. */
function clusteredSets(): ProtocolInput {
  const rng = createRng(3);
  const dimension = 16;
  const centers = Array.from({ length: 40 }, () => Array.from({ length: dimension }, () => rng.normal()));
  const make = (perCluster: number, split: string): FeatureSet => {
    const rows = centers.length * perCluster;
    const base = syntheticFeatureSet(binary, { rows, dimension, seed: 1, split });
    const features = new Float32Array(rows * dimension);
    const classes = new Int32Array(rows);
    for (let row = 0; row < rows; row++) {
      const cluster = row % centers.length;
      classes[row] = cluster % 2;
      for (let column = 0; column < dimension; column++) features[row * dimension + column] = centers[cluster]![column]! + 0.05 * rng.normal();
    }
    return { ...base, features: { data: features, shape: [rows, dimension] }, targets: { type: 'class', data: classes, shape: [rows] } };
  };
  return { task: binary, train: make(10, 'train'), val: make(2, 'val'), test: make(2, 'test'), seed: 0 };
}

describe('knnProbe', () => {
  it('chooses k on the validation split', async () => {
    // A mild temperature lets far neighbours vote, so k matters (at T = 0.07 the nearest dominate).
    const result = await knnProbe({ temperature: 1 }).evaluate(clusteredSets());
    expect(result.selected.k).toBe(10);
    expect(result.metrics.auc).toBeGreaterThan(0.99);
    const forced = await knnProbe({ ks: [200], temperature: 1 }).evaluate(clusteredSets());
    expect(forced.metrics.auc!).toBeLessThan(result.metrics.auc!);
  });

  it('caps k at the number of training rows', async () => {
    const input = clusteredSets();
    const result = await knnProbe({ ks: [500, 1000] }).evaluate({ ...input, trainRows: Int32Array.from({ length: 50 }, (_, row) => row) });
    expect(result.selected.k).toBe(50);
  });

  it('scores multilabel tasks per label', async () => {
    const task: Task = { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' };
    const make = (split: string, seed: number) => syntheticFeatureSet(task, { rows: 200, dimension: 12, seed, split });
    const result = await knnProbe().evaluate({ task, train: make('train', 1), val: make('val', 2), test: make('test', 3), seed: 0 });
    expect(result.metrics.mean_auc).toBeGreaterThan(0.9);
    expect(Object.keys(result.perLabel!.mean_auc!)).toEqual(['a', 'b', 'c']);
    expect(result.scores!.shape).toEqual([200, 3]);
  });

  it('names bad input', async () => {
    const input = clusteredSets();
    const broken = Float32Array.from(input.val.features.data);
    broken[16 * 3 + 2] = Number.POSITIVE_INFINITY;
    await expect(knnProbe().evaluate({ ...input, val: { ...input.val, features: { ...input.val.features, data: broken } } })).rejects.toThrow(
      /knn: val: feature row 3 \(val-3\), column 2 is Infinity/,
    );
    await expect(knnProbe().evaluate({ ...input, trainRows: Int32Array.from([0, 400]) })).rejects.toThrow(
      /trainRows\[1\] = 400 is not a row of the 400-row train split/,
    );
    expect(() => knnProbe({ ks: [0] })).toThrow(/ks must be positive integers/);
  });
});
