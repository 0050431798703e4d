import type { ProtocolResult, Tensor } from '@medssl/spec';

export const CHECKPOINT_FORMAT = 'medssl.finetune-checkpoint/v1';

/** Tensor name prefixes in a checkpoint: the backbone's canonical names, the head, AdamW's moments. */
export const BACKBONE_PREFIX = 'backbone.';
export const HEAD_PREFIX = 'head.';
export const FIRST_MOMENT_PREFIX = 'adamw.first.';
export const SECOND_MOMENT_PREFIX = 'adamw.second.';

/** One finished epoch of a run. */
export interface EpochRecord {
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's images (before each step's update). */
  readonly loss: number;
  /** Every metric of the task on the validation split, after the epoch. */
  readonly validation: Readonly<Record<string, number>>;
  /** The schedule's learning-rate factor at the epoch's last step. */
  readonly learningRateFactor: number;
  readonly seconds: number;
  /** True when this epoch's validation primary metric is the best so far (its weights are kept). */
  readonly best: boolean;
}

/** What a finished run stored, so that resuming a label-fraction grid skips it. */
export type StoredResult = Omit<ProtocolResult, 'scores'>;

/** The JSON side of a checkpoint: everything but the tensors. */
export interface CheckpointState {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly run: string;
  /** The settings the run was started with; resuming with other settings is refused. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly epochsCompleted: number;
  readonly optimizerSteps: number;
  readonly history: readonly EpochRecord[];
  /** -1 before the first epoch. */
  readonly bestEpoch: number;
  /**
   * Where the random numbers stand: each epoch draws its order and augmentations from its own stream,
   * `createRng(seed).fork('finetune/epoch-<epoch>')`, so the next epoch's stream is the whole position.
   */
  readonly random: { readonly seed: number; readonly nextStream: string };
  readonly stop?: 'patience' | 'epochs';
  /** Present once the run has finished. */
  readonly result?: StoredResult;
}

/** A checkpoint as a store hands it back; tensors are read only when asked for. */
export interface SavedCheckpoint {
  readonly state: CheckpointState;
  /** The last epoch's tensors: backbone, head and optimiser moments. */
  tensors(): Promise<ReadonlyMap<string, Tensor>>;
  /** The best epoch's backbone and head tensors. */
  bestTensors(): Promise<ReadonlyMap<string, Tensor>>;
}

/**
 * Where a run's checkpoints go. `save` must be durable when it resolves: a crash afterwards resumes from
 * that epoch. `fileCheckpointStore` in `@medssl/protocol-finetune/node` writes files; `memoryCheckpointStore`
 * keeps them in memory (browsers, tests).
 */
export interface CheckpointStore {
  /** Where checkpoints live, for messages (a folder, or `memory`). */
  readonly location: string;
  load(run: string): Promise<SavedCheckpoint | undefined>;
  /** Saves an epoch. With `isBest` these tensors become the best epoch's; otherwise the previous best stays. */
  save(state: CheckpointState, tensors: ReadonlyMap<string, Tensor>, isBest: boolean): Promise<void>;
  /** Records a finished run (`state.result` set); the last epoch's tensors may be dropped, the best kept. */
  finish(state: CheckpointState): Promise<void>;
}

/** Checkpoints held in memory: for browsers, and to test resuming without files. */
export function memoryCheckpointStore(): CheckpointStore {
  const runs = new Map<string, { state: CheckpointState; latest: ReadonlyMap<string, Tensor>; best: ReadonlyMap<string, Tensor> | undefined }>();
  const copy = (tensors: ReadonlyMap<string, Tensor>) => new Map([...tensors].map(([name, tensor]) => [name, { data: tensor.data.slice(), shape: [...tensor.shape] }]));
  return {
    location: 'memory',
    async load(run) {
      const saved = runs.get(run);
      if (saved === undefined) return undefined;
      return {
        state: structuredClone(saved.state),
        tensors: async () => copy(saved.latest),
        bestTensors: async () => {
          if (saved.best === undefined) throw new Error(`checkpoint ${run}: no epoch has been the best yet`);
          return copy(modelTensors(saved.best));
        },
      };
    },
    async save(state, tensors, isBest) {
      const latest = copy(tensors);
      runs.set(state.run, { state: structuredClone(state), latest, best: isBest ? latest : runs.get(state.run)?.best });
    },
    async finish(state) {
      const previous = runs.get(state.run);
      if (previous === undefined) throw new Error(`checkpoint ${state.run}: cannot finish a run that saved no epoch`);
      runs.set(state.run, { state: structuredClone(state), latest: previous.best ?? previous.latest, best: previous.best });
    },
  };
}

/** The backbone and head tensors of a checkpoint (without the optimiser's moments). */
export function modelTensors(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...tensors].filter(([name]) => name.startsWith(BACKBONE_PREFIX) || name.startsWith(HEAD_PREFIX)));
}

/** Tensors under a prefix, with the prefix taken off their names. */
export function tensorsUnder(tensors: ReadonlyMap<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([name]) => name.startsWith(prefix)).map(([name, tensor]) => [name.slice(prefix.length), tensor]));
}

/**
 * The first setting in which two configurations differ, as `key: expected …, found …`; undefined when they
 * agree. Keys compare by their JSON.
 */
export function configDifference(expected: Readonly<Record<string, unknown>>, found: Readonly<Record<string, unknown>>): string | undefined {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(found)])];
  for (const key of keys) {
    const wanted = JSON.stringify(expected[key]);
    const saved = JSON.stringify(found[key]);
    if (wanted !== saved) return `${key}: this run has ${wanted ?? 'nothing'}, the checkpoint ${saved ?? 'nothing'}`;
  }
  return undefined;
}
