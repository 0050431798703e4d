import type { ProtocolResult, Tensor } from '@medssl/spec';
import type { AdamW } from './optimizer.js';

/** Tensor names of AdamW's moments in a checkpoint; every other tensor is the model's. */
export const FIRST_MOMENT_PREFIX = 'adamw.first.';
export const SECOND_MOMENT_PREFIX = 'adamw.second.';

/** One finished epoch of a run. */
export interface EpochRecord {
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's rows (each step's loss before its update). */
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
  /** Names what wrote the checkpoint and how, e.g. `medssl.finetune-checkpoint/v1`. */
  readonly format: string;
  readonly run: string;
  /** The settings the run was started with; resuming with other settings is refused. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly epochsCompleted: number;
  readonly optimizerSteps: number;
  readonly history: readonly EpochRecord[];
  /** -1 before the first epoch. */
  readonly bestEpoch: number;
  /**
   * Where the random numbers stand: each epoch draws its order (and augmentations) from its own stream,
   * `createRng(seed).fork(<stream of the epoch>)`, so the next epoch's stream is the whole position.
   */
  readonly random: { readonly seed: number; readonly nextStream: string };
  readonly stop?: 'patience' | 'epochs';
  /** Present once the run has finished. */
  readonly result?: StoredResult;
}

/** A checkpoint as a store hands it back; tensors are read only when asked for. */
export interface SavedCheckpoint {
  readonly state: CheckpointState;
  /** The last epoch's tensors: the model's and the optimiser's moments. */
  tensors(): Promise<ReadonlyMap<string, Tensor>>;
  /** The best epoch's model tensors (without the optimiser's). */
  bestTensors(): Promise<ReadonlyMap<string, Tensor>>;
}

/**
 * Where a run's checkpoints go. `save` must be durable when it resolves: a crash afterwards resumes from
 * that epoch. `fileCheckpointStore` of `@medssl/training/node` writes files; `memoryCheckpointStore`
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
  const copy = (tensors: ReadonlyMap<string, Tensor>) =>
    new Map([...tensors].map(([name, tensor]) => [name, { data: tensor.data.slice(), shape: [...tensor.shape] }]));
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

/** Whether a checkpoint tensor belongs to the model (not to the optimiser). */
export function isModelTensor(name: string): boolean {
  return !name.startsWith(FIRST_MOMENT_PREFIX) && !name.startsWith(SECOND_MOMENT_PREFIX);
}

/** The model's tensors of a checkpoint (without the optimiser's moments). */
export function modelTensors(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...tensors].filter(([name]) => isModelTensor(name)));
}

/** Tensors under a prefix, with the prefix taken off their names. */
export function tensorsUnder(tensors: ReadonlyMap<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([name]) => name.startsWith(prefix)).map(([name, tensor]) => [name.slice(prefix.length), tensor]));
}

/** AdamW's moments as checkpoint tensors: `adamw.first.<i>` and `adamw.second.<i>`, `i` in `optimizer.variables` order. */
export async function optimizerTensors(optimizer: AdamW): Promise<Map<string, Tensor>> {
  const tensors = new Map<string, Tensor>();
  const state = await optimizer.state();
  state.moments.forEach((moment, index) => {
    const key = momentKey(index);
    tensors.set(FIRST_MOMENT_PREFIX + key, { data: moment.first, shape: moment.shape });
    tensors.set(SECOND_MOMENT_PREFIX + key, { data: moment.second, shape: moment.shape });
  });
  return tensors;
}

/** Restores AdamW from a checkpoint's tensors and step count; `where` names the checkpoint in errors. */
export function restoreOptimizer(optimizer: AdamW, tensors: ReadonlyMap<string, Tensor>, steps: number, where: string): void {
  const count = optimizer.variables.length;
  const moments = Array.from({ length: count }, (_, index) => {
    const key = momentKey(index);
    const first = tensors.get(FIRST_MOMENT_PREFIX + key);
    const second = tensors.get(SECOND_MOMENT_PREFIX + key);
    if (first === undefined || second === undefined) {
      throw new Error(`${where} lacks the optimiser moments ${FIRST_MOMENT_PREFIX + key}; it holds moments for fewer than the ${count} trainable variables`);
    }
    return { first: first.data, second: second.data, shape: [...first.shape] };
  });
  optimizer.restore({ steps, moments });
}

function momentKey(index: number): string {
  return String(index).padStart(4, '0');
}

/**
 * The first setting in which two configurations differ, as `key: this run has …, the checkpoint …`;
 * undefined when they agree. Keys compare by their JSON.
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
