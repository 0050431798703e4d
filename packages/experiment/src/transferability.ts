// Transferability estimates on stored feature sets: scores of several backbones' features of one split, on
// the split or on the label-fraction subset the protocols train on, and the results document a run writes.
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '@medssl/arrays/node';
import { labelFractionSubsets } from '@medssl/core';
import type { FeatureSet, Matrix, TargetArray, Task } from '@medssl/spec';
import { estimateTransferability, type EstimatorId } from '@medssl/transferability';
import { version } from './version.js';

export const TRANSFERABILITY_FORMAT = 'medssl.transferability/v1';

/** One feature set's scores. */
export interface FeatureSetScores {
  readonly backbone: string;
  readonly scores: Readonly<Record<EstimatorId, number>>;
}

export interface ScoreFeatureSetsOptions {
  /** The label fraction of the split to score on (the nested, stratified subset the protocols use); default 1. */
  readonly fraction?: number;
  /** The subset's seed, and the estimators'; default 0. */
  readonly seed?: number;
  readonly estimators?: readonly EstimatorId[];
  /**
   * Score at most this many rows: above it, a smaller stratified subset of the same seed, nested in the
   * fraction's (the estimators' cost grows with rows² for kNN and rows·d² for the rest). Default
   * `DEFAULT_TRANSFERABILITY_ROWS`.
   */
  readonly maxRows?: number;
  readonly signal?: AbortSignal;
}

/** Rows the estimators score at most by default: enough for a stable ranking, seconds to minutes on a CPU. */
export const DEFAULT_TRANSFERABILITY_ROWS = 5000;

/** Rows of a feature set: its features and targets at those rows, in order. */
function rowsOf(set: FeatureSet, rows: Int32Array): { features: Matrix; targets: TargetArray } {
  const [, width] = set.features.shape;
  const features = new Float32Array(rows.length * width);
  rows.forEach((row, index) => features.set(set.features.data.subarray(row * width, (row + 1) * width), index * width));
  const { targets } = set;
  if (targets.type === 'class')
    return {
      features: { data: features, shape: [rows.length, width] },
      targets: { type: 'class', data: Int32Array.from(rows, (row) => targets.data[row]!), shape: [rows.length] },
    };
  const labels = targets.shape[1];
  const flags = new Uint8Array(rows.length * labels);
  rows.forEach((row, index) => flags.set(targets.data.subarray(row * labels, (row + 1) * labels), index * labels));
  return { features: { data: features, shape: [rows.length, width] }, targets: { type: 'labels', data: flags, shape: [rows.length, labels] } };
}

/**
 * Every estimator's score of each feature set, on the same rows: sets of one split of one dataset (the same
 * ids in the same order, else an error naming the first that differs), scored on the label-fraction subset
 * of `fraction` and `seed`. Returns the rows scored and the scores in the sets' order.
 */
export async function scoreFeatureSets(
  sets: readonly { readonly set: FeatureSet; readonly source: string }[],
  options: ScoreFeatureSetsOptions = {},
): Promise<{
  readonly task: Task;
  /** Rows of the fraction's subset (what the protocols train on). */
  readonly trainCount: number;
  /** Rows scored: `trainCount`, or `maxRows` of them. */
  readonly scoredCount: number;
  readonly scores: FeatureSetScores[];
}> {
  if (sets.length === 0) throw new RangeError('transferability: no feature sets to score');
  const [first] = sets;
  const { manifest } = first!.set;
  for (const { set, source } of sets.slice(1)) {
    const other = set.manifest;
    if (other.dataset.id !== manifest.dataset.id || other.split !== manifest.split) {
      throw new RangeError(
        `transferability: ${source} holds ${other.dataset.id}/${other.split}, but ${first!.source} holds ${manifest.dataset.id}/${manifest.split}; score feature sets of one split`,
      );
    }
    const reference = first!.set.ids;
    const differs = set.ids.length !== reference.length ? `${set.ids.length} rows against ${reference.length}` : undefined;
    const row = set.ids.findIndex((id, index) => id !== reference[index]);
    const reason = differs ?? (row === -1 ? undefined : `row ${row} is ${set.ids[row]}, not ${reference[row]}`);
    if (reason !== undefined)
      throw new RangeError(`transferability: ${source} and ${first!.source} hold other samples (${reason}); score feature sets of the same rows`);
  }
  const fraction = options.fraction ?? 1;
  const seed = options.seed ?? 0;
  const maxRows = options.maxRows ?? DEFAULT_TRANSFERABILITY_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 3) throw new RangeError(`transferability: maxRows must be an integer of at least 3, got ${maxRows}`);
  const draw = async (at: number) =>
    (
      await labelFractionSubsets({
        task: manifest.task,
        targets: first!.set.targets,
        ids: first!.set.ids,
        fractions: [at],
        seed,
        dataset: manifest.dataset.id,
        split: manifest.split,
      })
    )[0]!;
  let subset = await draw(fraction);
  const trainCount = subset.rows.length;
  if (trainCount > maxRows) subset = await draw((fraction * maxRows) / trainCount);
  const rows = subset.rows;
  const scores: FeatureSetScores[] = [];
  for (const { set } of sets) {
    options.signal?.throwIfAborted();
    const { features, targets } = rowsOf(set, rows);
    const estimated = await estimateTransferability(
      { features, targets, task: manifest.task, seed },
      { ...(options.estimators ? { estimators: options.estimators } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
    scores.push({ backbone: set.manifest.backbone, scores: estimated });
  }
  return { task: manifest.task, trainCount, scoredCount: rows.length, scores };
}

/** Ranks of values, 1 for the highest; ties share the better rank. */
export function ranksOf(values: readonly number[]): number[] {
  return values.map((value) => 1 + values.filter((other) => other > value).length);
}

/** A run's transferability document for one dataset: every estimator on every backbone's train features, per fraction and seed. */
export interface TransferabilityDocumentInput {
  readonly dataset: { readonly id: string; readonly version: string };
  readonly task: Task;
  readonly estimators: readonly EstimatorId[];
  readonly backbones: readonly string[];
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  /** Per fraction and seed: each backbone's scores, or why that subset could not be scored. */
  readonly rows: readonly (
    | {
        readonly fraction: number;
        readonly seed: number;
        readonly trainCount: number;
        readonly scoredCount: number;
        readonly scores: Readonly<Record<string, Readonly<Record<string, number>>>>;
      }
    | { readonly fraction: number; readonly seed: number; readonly skipped: string }
  )[];
  readonly elapsedMilliseconds: number;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Writes a `medssl.transferability/v1` document atomically: per row, each backbone's scores; per fraction, their means over seeds. */
export async function writeTransferabilityDocument(out: string, input: TransferabilityDocumentInput): Promise<object> {
  // Means over the seeds scored; a fraction no seed could score is left out of the summary (its rows say why).
  const summary = input.fractions.flatMap((fraction) => {
    const atFraction = input.rows.flatMap((row) => (row.fraction === fraction && 'scores' in row ? [row] : []));
    if (atFraction.length === 0) return [];
    const scores = Object.fromEntries(
      input.backbones.map((backbone) => [
        backbone,
        Object.fromEntries(
          input.estimators.map((estimator) => [estimator, atFraction.reduce((sum, row) => sum + row.scores[backbone]![estimator]!, 0) / atFraction.length]),
        ),
      ]),
    );
    return [{ fraction, scores }];
  });
  const document = {
    format: TRANSFERABILITY_FORMAT,
    created: new Date().toISOString(),
    versions: { medssl: version },
    dataset: input.dataset,
    task: input.task,
    split: 'train',
    estimators: input.estimators,
    backbones: input.backbones,
    fractions: input.fractions,
    seeds: input.seeds,
    rows: input.rows,
    summary,
    elapsedSeconds: input.elapsedMilliseconds / 1000,
    ...input.extra,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`);
  return document;
}
