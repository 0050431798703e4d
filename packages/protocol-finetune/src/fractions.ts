import { evaluateLabelFractions, type EvaluationRow, type LabelFractionEvaluation, type LabelFractionRun } from '@medssl/core';
import type { Protocol } from '@medssl/spec';
import type { FinetuneInput, FinetuneResult } from './finetune.js';

export interface FinetuneFractionsOptions {
  readonly protocol: Protocol<FinetuneInput, FinetuneResult>;
  /** The protocol's input without the per-run `trainRows`, `seed` and `run`. */
  readonly input: Omit<FinetuneInput, 'trainRows' | 'seed' | 'run' | 'signal'>;
  /** Dataset id: names the subsets and the runs' checkpoints. */
  readonly dataset: string;
  readonly fractions?: readonly number[];
  readonly seeds?: readonly number[];
  readonly signal?: AbortSignal;
  /** Called before each run, e.g. to show progress. */
  readonly onRunStart?: (run: LabelFractionRun, index: number, total: number) => void | Promise<void>;
  /** Called after each run with its row and the run's training history. */
  readonly onRow?: (row: EvaluationRow, result: FinetuneResult, done: number, total: number) => void | Promise<void>;
}

export interface FinetuneFractionsEvaluation extends LabelFractionEvaluation {
  /** Per run, in row order: the epochs' losses and validation metrics, the kept epoch, why it stopped. */
  readonly runs: readonly {
    readonly fraction: number;
    readonly seed: number;
    readonly name: string;
    readonly bestEpoch: number;
    readonly stop: string;
    readonly fromCheckpoint: boolean;
    readonly history: FinetuneResult['history'];
  }[];
}

/**
 * Finetunes at every label fraction and seed through core's `evaluateLabelFractions`: the same nested,
 * stratified, seeded subsets as the linear protocol for the same pool and seed, the same rows and summary,
 * plus each run's training history. Each run is named `<dataset>-train-f<fraction>-s<seed>` for its checkpoints.
 */
export async function finetuneLabelFractions(options: FinetuneFractionsOptions): Promise<FinetuneFractionsEvaluation> {
  const { input } = options;
  const runs: FinetuneFractionsEvaluation['runs'][number][] = [];
  let current: LabelFractionRun | undefined;
  const evaluation = await evaluateLabelFractions<FinetuneInput, FinetuneResult>({
    protocol: options.protocol,
    input,
    runInput: (run) => ({ run: run.name }),
    pool: { ids: input.train.ids, targets: input.train.targets, task: input.task, split: 'train' },
    dataset: options.dataset,
    ...(options.fractions ? { fractions: options.fractions } : {}),
    ...(options.seeds ? { seeds: options.seeds } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onRunStart: async (run, index, total) => {
      current = run;
      await options.onRunStart?.(run, index, total);
    },
    onRow: async (row, done, total, result) => {
      runs.push({
        fraction: row.fraction,
        seed: row.seed,
        name: current!.name,
        bestEpoch: result.bestEpoch,
        stop: result.stop,
        fromCheckpoint: result.fromCheckpoint,
        history: result.history,
      });
      await options.onRow?.(row, result, done, total);
    },
  });
  return { ...evaluation, runs };
}
