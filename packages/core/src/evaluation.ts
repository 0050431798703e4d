import type { FeatureSet, Protocol, ProtocolResult, Task, TargetArray } from '@medssl/spec';
import { assertSeed } from './rng.js';
import { DEFAULT_FRACTIONS, assertFraction, labelFractionSubsets, subsetFileName, type LabelFractionSubset } from './subsets.js';

export interface EvaluationRow {
  readonly fraction: number;
  readonly seed: number;
  readonly split: 'test';
  /** Training rows used (the subset's size). */
  readonly trainCount: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly validation: Readonly<Record<string, number>>;
  readonly selected: Readonly<Record<string, number | string>>;
  readonly perLabel?: ProtocolResult['perLabel'];
}

export interface MetricSummary {
  readonly mean: number;
  /** Sample standard deviation over seeds (n − 1 in the denominator); 0 for a single seed. */
  readonly std: number;
  readonly count: number;
}

export interface FractionSummary {
  readonly fraction: number;
  readonly metrics: Readonly<Record<string, MetricSummary>>;
}

export interface LabelFractionEvaluation {
  readonly rows: readonly EvaluationRow[];
  readonly summary: readonly FractionSummary[];
  readonly subsets: readonly LabelFractionSubset[];
}

/** What a protocol run needs from the evaluation loop: the subset's rows and the seed. */
export interface LabelFractionRunInput {
  readonly trainRows?: Int32Array;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/** The labelled training rows subsets are drawn from: a feature set, or the ids and targets of an image split. */
export type LabelPool = FeatureSet | { readonly ids: readonly string[]; readonly targets: TargetArray; readonly task: Task; readonly split: string };

/** One run of the grid: its subset, and the name that identifies it (`<dataset>-<split>-f<fraction>-s<seed>`). */
export interface LabelFractionRun {
  readonly fraction: number;
  readonly seed: number;
  readonly trainCount: number;
  readonly name: string;
}

export interface LabelFractionEvaluationOptions<Input extends LabelFractionRunInput, Result extends ProtocolResult = ProtocolResult> {
  readonly protocol: Protocol<Input, Result>;
  /** The protocol's input without `trainRows` and `seed`, which this function sets per run. */
  readonly input: Omit<Input, 'trainRows' | 'seed'>;
  /** Per-run additions to the input, e.g. the run's name for its checkpoints. */
  readonly runInput?: (run: LabelFractionRun) => Partial<Input>;
  /** The training rows the subsets are drawn from (for fusions: any one of the aligned feature sets). */
  readonly pool: LabelPool;
  readonly dataset: string;
  readonly fractions?: readonly number[];
  readonly seeds?: readonly number[];
  readonly signal?: AbortSignal;
  /** Called before each run, e.g. to show progress. */
  readonly onRunStart?: (run: LabelFractionRun, index: number, total: number) => void | Promise<void>;
  /** Called after each run with its row and the protocol's whole result, e.g. to show progress or save partial results. */
  readonly onRow?: (row: EvaluationRow, done: number, total: number, result: Result) => void | Promise<void>;
}

/**
 * Runs a protocol at every label fraction and seed on nested, stratified, seeded subsets of the training
 * split, and summarises each fraction by the mean and standard deviation over seeds.
 */
export async function evaluateLabelFractions<Input extends LabelFractionRunInput, Result extends ProtocolResult = ProtocolResult>(
  options: LabelFractionEvaluationOptions<Input, Result>,
): Promise<LabelFractionEvaluation> {
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const seeds = options.seeds ?? [0];
  fractions.forEach((fraction) => assertFraction(fraction));
  seeds.forEach((seed) => assertSeed(seed));
  if (seeds.length === 0) throw new RangeError('evaluation needs at least one seed');
  if (fractions.length === 0) throw new RangeError('evaluation needs at least one label fraction');
  const { pool } = options;
  const { task, split } = 'manifest' in pool ? pool.manifest : pool;
  const rows: EvaluationRow[] = [];
  const subsets: LabelFractionSubset[] = [];
  const total = fractions.length * seeds.length;
  for (const seed of seeds) {
    const drawn = await labelFractionSubsets({ task, targets: pool.targets, ids: pool.ids, fractions, seed, dataset: options.dataset, split });
    subsets.push(...drawn);
    for (const subset of drawn) {
      options.signal?.throwIfAborted();
      const run: LabelFractionRun = { fraction: subset.fraction, seed, trainCount: subset.rows.length, name: subsetFileName(subset).replace(/\.json$/, '') };
      await options.onRunStart?.(run, rows.length, total);
      const missing = subset.missing.length > 0 ? `; classes missing from this subset: ${subset.missing.join(', ')}` : '';
      let result: Result;
      try {
        const input = { ...options.input, ...options.runInput?.(run), trainRows: subset.rows, seed, ...(options.signal ? { signal: options.signal } : {}) };
        result = await options.protocol.evaluate(input as unknown as Input);
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw error;
        throw new Error(
          `${options.protocol.id} at fraction ${subset.fraction}, seed ${seed} (${subset.rows.length} training rows${missing}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      const row: EvaluationRow = {
        fraction: subset.fraction,
        seed,
        split: 'test',
        trainCount: subset.rows.length,
        metrics: result.metrics,
        validation: result.validation,
        selected: result.selected,
        ...(result.perLabel ? { perLabel: result.perLabel } : {}),
      };
      rows.push(row);
      await options.onRow?.(row, rows.length, total, result);
    }
  }
  return { rows, summary: summarize(rows, fractions), subsets };
}

export function summarize(rows: readonly EvaluationRow[], fractions: readonly number[]): FractionSummary[] {
  return fractions.map((fraction) => {
    const atFraction = rows.filter((row) => row.fraction === fraction);
    const names = [...new Set(atFraction.flatMap((row) => Object.keys(row.metrics)))];
    const metrics = Object.fromEntries(
      names.map((name) => {
        const values = atFraction.map((row) => row.metrics[name]).filter((value): value is number => typeof value === 'number');
        const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
        const variance = values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
        return [name, { mean, std: Math.sqrt(variance), count: values.length }];
      }),
    );
    return { fraction, metrics };
  });
}
