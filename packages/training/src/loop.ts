import { metricsForTask } from '@medssl/metrics';
import type { Task, Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import {
  configDifference,
  modelTensors,
  optimizerTensors,
  restoreOptimizer,
  type CheckpointState,
  type CheckpointStore,
  type EpochRecord,
  type SavedCheckpoint,
  type StoredResult,
} from './checkpoint.js';
import { AdamW, EarlyStopping, scheduleFactor, type AdamWSettings, type ParameterGroup } from './optimizer.js';

// The epoch loop that finetuning and DVME share: prepare (or resume from a checkpoint), train an epoch,
// evaluate it and checkpoint it, stop early, come back to the best epoch, score the test split. What is
// trained, on which batches, and how it is scored, the caller says (`EpochLoop`).

/** What the loop trains. `build` makes it; the loop disposes it at the end. */
export interface TrainingModel<Batch> {
  /** Every trainable variable, in groups with their peak learning rate and weight decay. */
  readonly groups: readonly ParameterGroup[];
  /** The batch's mean loss; called inside the gradient tape. */
  loss(batch: Batch): tf.Scalar;
  /**
   * Host copies of every value `build` needs to rebuild this model exactly (weights and running statistics),
   * by name: for checkpoints, and to come back to the best epoch unless `keep` does that.
   */
  tensors(): Promise<Map<string, Tensor>>;
  /**
   * Keeps the current values on the device, to put back after training: for models cheaper to copy than
   * to read back, or that `build` cannot rebuild (backbones the caller passed in).
   */
  keep?(): KeptValues;
  dispose(): void;
}

/** Values a model kept on the device (`TrainingModel.keep`). */
export interface KeptValues {
  /** Puts the kept values back into the model's variables. */
  restore(): void;
  dispose(): void;
}

/** One epoch's batches: the rows of each step, in order, and how to load one. */
export interface EpochPlan<Batch> {
  readonly batches: readonly Int32Array[];
  /** Loads a batch. The loop asks for the next batch while a step runs, once the previous one arrived. */
  load(rows: Int32Array): Promise<Batch>;
  /** Frees a batch once its step is done (or once a batch loaded ahead arrives after training stopped). */
  dispose(batch: Batch): void;
}

/** Checkpointing of a loop: where, under which name and format, and for which settings. */
export interface LoopCheckpoints<Outcome> {
  readonly store: CheckpointStore;
  readonly run: string;
  readonly format: string;
  /** The settings a checkpoint must share with the run that resumes it. */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Continue a run found in the store (a finished one comes back without training). Without it an existing
   * checkpoint of the same run is an error, so that nothing is overwritten by mistake.
   */
  readonly resume: boolean;
  /** Each epoch draws from `createRng(seed).fork(stream(epoch))` (as `planEpoch` does); checkpoints record it. */
  readonly random: { readonly seed: number; stream(epoch: number): string };
  /** What of the outcome a finished run stores (a result without its per-row scores). */
  result(outcome: Outcome): StoredResult;
}

export interface EpochLoop<Batch, Model extends TrainingModel<Batch>, Outcome> {
  /** Names the loop in errors, e.g. `finetune`. */
  readonly name: string;
  /** Its primary metric (`@medssl/metrics`) on the validation split stops early and picks the best epoch. */
  readonly task: Task;
  /** Epochs at most. */
  readonly epochs: number;
  /** Epochs without a better validation primary metric before stopping. */
  readonly patience: number;
  /** The warm-up + cosine schedule (`scheduleFactor`): steps in all, and of the warm-up. */
  readonly schedule: { readonly totalSteps: number; readonly warmupSteps: number };
  readonly optimizer?: AdamWSettings;
  /**
   * When the training loss comes back from the device: after every `step` (summed in float64, and a step
   * whose loss is not finite stops training at once), or once per `epoch` (summed on the device in float32:
   * steps never wait for the device, as GPUs prefer).
   */
  readonly lossReadback: 'step' | 'epoch';
  /** Builds the model: fresh without tensors; from a checkpoint's or the best epoch's model tensors. */
  build(tensors?: ReadonlyMap<string, Tensor>): Promise<Model>;
  /** The batches of an epoch (0-based) for the model; called as the epoch starts. */
  planEpoch(epoch: number, model: Model): EpochPlan<Batch>;
  /** Every metric of the task on the validation split. */
  validate(model: Model): Promise<Record<string, number>>;
  /** Scores the test split with the best epoch's model; `run` says which epoch that is and how training ended. */
  test(model: Model, run: RunSummary): Promise<Outcome>;
  /** The error for a training loss that is not finite, at an epoch (0-based) and, when read per step, a step (0-based). */
  diverged(loss: number, epoch: number, step?: number): Error;
  readonly checkpoints?: LoopCheckpoints<Outcome>;
  readonly signal?: AbortSignal;
  /** Called once a run is about to train (after its checkpoint, if any, was found and checked), with its first epoch. */
  beforeTraining?(firstEpoch: number): void | Promise<void>;
  /** Called after each epoch, once it is checkpointed. */
  onEpoch?(record: EpochRecord): void | Promise<void>;
}

/** How a run went: its epochs, the one kept, and why it stopped. */
export interface RunSummary {
  readonly history: readonly EpochRecord[];
  /** The epoch whose model scored the test split (0-based). */
  readonly bestEpoch: number;
  readonly stop: 'patience' | 'epochs';
}

/** A run the loop trained (or finished training) now. */
export interface TrainedRun<Outcome> extends RunSummary {
  readonly fromCheckpoint: false;
  readonly outcome: Outcome;
}

/** A run that had finished before: its stored result, from the checkpoint. */
export interface FinishedRun extends RunSummary {
  readonly fromCheckpoint: true;
  readonly result: StoredResult;
}

/** Where a run stands while the loop trains it. */
interface Session<Batch, Model extends TrainingModel<Batch>> {
  model: Model | undefined;
  optimizer: AdamW | undefined;
  readonly stopping: EarlyStopping;
  readonly history: EpochRecord[];
  /** The best epoch's values: on the device (`keep`), or as host tensors. */
  kept: KeptValues | undefined;
  bestTensors: ReadonlyMap<string, Tensor> | undefined;
}

/**
 * Trains to the end: AdamW over each epoch's batches on the warm-up + cosine schedule, the validation split
 * scored after every epoch, a checkpoint saved, early stopping after `patience` epochs without a better
 * primary metric; then the best epoch's model scores the test split. Every tensor it makes is freed.
 */
export async function trainEpochs<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
): Promise<TrainedRun<Outcome> | FinishedRun> {
  const higherIsBetter = primaryMetric(loop).higherIsBetter;
  const saved = await findCheckpoint(loop);
  if (saved?.state.result !== undefined) {
    const { history, bestEpoch, stop, result } = saved.state;
    return { fromCheckpoint: true, history, bestEpoch, stop: stop ?? 'epochs', result };
  }
  await loop.beforeTraining?.(saved?.state.epochsCompleted ?? 0);
  const session = await startSession(loop, saved, higherIsBetter);
  try {
    while (session.history.length < loop.epochs && !session.stopping.shouldStop) await runEpoch(loop, session);
    const stepsTaken = session.optimizer!.stepCount;
    const bestEpoch = await comeBackToBest(loop, session);
    const summary: RunSummary = { history: session.history, bestEpoch, stop: session.stopping.shouldStop ? 'patience' : 'epochs' };
    const outcome = await loop.test(session.model!, summary);
    if (loop.checkpoints) {
      const { store } = loop.checkpoints;
      await store.finish({ ...checkpointState(loop.checkpoints, session, stepsTaken), stop: summary.stop, result: loop.checkpoints.result(outcome) });
    }
    return { fromCheckpoint: false, ...summary, outcome };
  } finally {
    session.kept?.dispose();
    session.optimizer?.dispose();
    session.model?.dispose();
  }
}

function primaryMetric(loop: Pick<EpochLoop<unknown, never, unknown>, 'name' | 'task'>) {
  const { task } = loop;
  const primary = metricsForTask(task).find((metric) => metric.id === task.primaryMetric);
  if (primary === undefined) {
    throw new RangeError(
      `${loop.name}: the task's primary metric '${task.primaryMetric}' is not one @medssl/metrics computes for a ${task.type} task; early stopping needs it`,
    );
  }
  return primary;
}

/** The run's checkpoint, when there is one to resume; errors name why one cannot be. */
async function findCheckpoint<Outcome>(loop: Pick<EpochLoop<unknown, never, Outcome>, 'name' | 'checkpoints'>): Promise<SavedCheckpoint | undefined> {
  if (loop.checkpoints === undefined) return undefined;
  const { store, run, format, config, resume } = loop.checkpoints;
  const saved = await store.load(run);
  if (saved === undefined) return undefined;
  if (!resume) {
    throw new Error(
      `${loop.name}: run ${run} already has a checkpoint in ${store.location} (epoch ${saved.state.epochsCompleted}); resume it, or remove it to start again`,
    );
  }
  if (saved.state.format !== format)
    throw new Error(`${loop.name}: checkpoint of run ${run} in ${store.location} has format ${JSON.stringify(saved.state.format)}, expected ${format}`);
  const difference = configDifference(config, saved.state.config);
  if (difference !== undefined) throw new Error(`${loop.name}: cannot resume run ${run} from ${store.location}: the settings differ (${difference})`);
  return saved;
}

/** The model and optimiser, fresh or as the checkpoint left them, and the early stopping replayed over its history. */
async function startSession<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
  saved: SavedCheckpoint | undefined,
  higherIsBetter: boolean,
): Promise<Session<Batch, Model>> {
  const tensors = saved ? await saved.tensors() : undefined;
  const model = await loop.build(tensors ? modelTensors(tensors) : undefined);
  let optimizer: AdamW | undefined;
  try {
    optimizer = new AdamW(model.groups, loop.optimizer);
    if (saved && tensors) restoreOptimizer(optimizer, tensors, saved.state.optimizerSteps, `${loop.name}: checkpoint of run ${saved.state.run}`);
  } catch (error) {
    optimizer?.dispose();
    model.dispose();
    throw error;
  }
  const stopping = new EarlyStopping(loop.patience, higherIsBetter);
  const history = [...(saved?.state.history ?? [])];
  for (const record of history) stopping.observe(record.epoch, record.validation[loop.task.primaryMetric]!);
  return { model, optimizer, stopping, history, kept: undefined, bestTensors: undefined };
}

/** One epoch: train, score the validation split, keep the model if it is the best so far, checkpoint. */
async function runEpoch<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
  session: Session<Batch, Model>,
): Promise<void> {
  const epoch = session.history.length;
  const started = performance.now();
  const { loss, factor } = await trainEpoch(loop, session, epoch);
  const validation = await loop.validate(session.model!);
  const best = session.stopping.observe(epoch, validation[loop.task.primaryMetric]!);
  const record: EpochRecord = { epoch, loss, validation, learningRateFactor: factor, seconds: (performance.now() - started) / 1000, best };
  session.history.push(record);
  await keepEpoch(loop, session, record);
  await loop.onEpoch?.(record);
}

/** The epoch's steps; returns the mean training loss and the schedule's last factor. */
async function trainEpoch<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
  session: Session<Batch, Model>,
  epoch: number,
): Promise<{ loss: number; factor: number }> {
  const plan = loop.planEpoch(epoch, session.model!);
  const batches = new BatchesAhead(plan);
  const losses = loop.lossReadback === 'step' ? new HostLossSum() : new DeviceLossSum();
  let factor = 0;
  try {
    for (let step = 0; step < plan.batches.length; step++) {
      loop.signal?.throwIfAborted();
      const batch = await batches.take(step);
      try {
        factor = scheduleFactor(session.optimizer!.stepCount, loop.schedule.totalSteps, loop.schedule.warmupSteps);
        const loss = await losses.add(trainStep(session, batch, factor), plan.batches[step]!.length);
        if (loss !== undefined && !Number.isFinite(loss)) throw loop.diverged(loss, epoch, step);
      } finally {
        plan.dispose(batch);
      }
    }
    const rows = plan.batches.reduce((sum, rowsOfStep) => sum + rowsOfStep.length, 0);
    const loss = (await losses.total()) / rows;
    if (!Number.isFinite(loss)) throw loop.diverged(loss, epoch);
    return { loss, factor };
  } finally {
    batches.abandon();
    losses.dispose();
  }
}

/** One AdamW step on the batch's loss; returns the loss (before the update). */
function trainStep<Batch, Model extends TrainingModel<Batch>>(session: Session<Batch, Model>, batch: Batch, factor: number): tf.Scalar {
  const { model, optimizer } = session;
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model!.loss(batch), optimizer!.variables);
    optimizer!.step(grads, factor);
    return value;
  });
}

/** Keeps the best epoch's values (on the device or as host tensors) and saves the epoch's checkpoint. */
async function keepEpoch<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
  session: Session<Batch, Model>,
  record: EpochRecord,
): Promise<void> {
  const model = session.model!;
  const keepsOnDevice = model.keep !== undefined;
  if (record.best && keepsOnDevice) {
    session.kept?.dispose();
    session.kept = undefined;
    session.kept = model.keep!();
  }
  const checkpoints = loop.checkpoints;
  if (checkpoints === undefined && (!record.best || keepsOnDevice)) return;
  const tensors = await model.tensors();
  if (record.best && !keepsOnDevice) session.bestTensors = tensors;
  if (checkpoints === undefined) return;
  const withOptimizer = new Map([...tensors, ...(await optimizerTensors(session.optimizer!))]);
  await checkpoints.store.save(checkpointState(checkpoints, session, session.optimizer!.stepCount), withOptimizer, record.best);
}

function checkpointState<Outcome>(
  checkpoints: LoopCheckpoints<Outcome>,
  session: { readonly history: readonly EpochRecord[]; readonly stopping: EarlyStopping },
  optimizerSteps: number,
): CheckpointState {
  const epochsCompleted = session.history.length;
  return {
    format: checkpoints.format,
    run: checkpoints.run,
    config: checkpoints.config,
    epochsCompleted,
    optimizerSteps,
    history: session.history,
    bestEpoch: session.stopping.best.epoch,
    random: { seed: checkpoints.random.seed, nextStream: checkpoints.random.stream(epochsCompleted) },
  };
}

/** Puts the best epoch's values back (or rebuilds the model from them); returns the best epoch. */
async function comeBackToBest<Batch, Model extends TrainingModel<Batch>, Outcome>(
  loop: EpochLoop<Batch, Model, Outcome>,
  session: Session<Batch, Model>,
): Promise<number> {
  const bestEpoch = session.stopping.best.epoch;
  if (bestEpoch < 0) throw new Error(`${loop.name}: no epoch gave a finite validation ${loop.task.primaryMetric}; nothing to keep`);
  if (session.kept) {
    session.kept.restore();
    return bestEpoch;
  }
  if (bestEpoch === session.history.length - 1) return bestEpoch;
  const tensors = session.bestTensors ?? (await bestFromStore(loop));
  session.optimizer!.dispose();
  session.optimizer = undefined;
  session.model!.dispose();
  session.model = undefined;
  session.model = await loop.build(tensors);
  return bestEpoch;
}

async function bestFromStore<Outcome>(loop: Pick<EpochLoop<unknown, never, Outcome>, 'name' | 'checkpoints'>): Promise<ReadonlyMap<string, Tensor>> {
  const checkpoints = loop.checkpoints;
  const saved = checkpoints ? await checkpoints.store.load(checkpoints.run) : undefined;
  if (saved === undefined)
    throw new Error(`${loop.name}: the best epoch's weights of run ${checkpoints?.run ?? '(unnamed)'} are neither in memory nor in a checkpoint`);
  return saved.bestTensors();
}

/** An epoch's batches, each loaded while the step before it runs (and only once the one before it arrived). */
class BatchesAhead<Batch> {
  private pending: { readonly step: number; readonly batch: Promise<Batch> } | undefined;

  constructor(private readonly plan: EpochPlan<Batch>) {
    if (plan.batches.length > 0) this.pending = this.load(0);
  }

  async take(step: number): Promise<Batch> {
    const pending = this.pending?.step === step ? this.pending : this.load(step);
    this.pending = undefined;
    const batch = await pending.batch;
    if (step + 1 < this.plan.batches.length) this.pending = this.load(step + 1);
    return batch;
  }

  /** Frees a batch loaded ahead for a step that will not run. */
  abandon(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.batch.then((batch) => this.plan.dispose(batch)).catch(() => undefined);
  }

  private load(step: number) {
    const batch = this.plan.load(this.plan.batches[step]!);
    // A batch loaded ahead may be abandoned; its failure is reported where it is awaited.
    batch.catch(() => undefined);
    return { step, batch };
  }
}

/** Reads each step's loss back and sums it in float64. */
class HostLossSum {
  private sum = 0;

  async add(loss: tf.Scalar, rows: number): Promise<number> {
    let value: number;
    try {
      value = (await loss.data())[0]!;
    } finally {
      loss.dispose();
    }
    this.sum += value * rows;
    return value;
  }

  async total(): Promise<number> {
    return this.sum;
  }

  dispose(): void {}
}

/** Sums the steps' losses on the device (float32) and reads the sum once. */
class DeviceLossSum {
  private sum: tf.Scalar = tf.scalar(0);

  async add(loss: tf.Scalar, rows: number): Promise<undefined> {
    const weighted = tf.mul(loss, rows);
    const next = tf.add(this.sum, weighted) as tf.Scalar;
    tf.dispose([loss, weighted, this.sum]);
    this.sum = next;
    return undefined;
  }

  async total(): Promise<number> {
    return (await this.sum.data())[0]!;
  }

  dispose(): void {
    this.sum.dispose();
  }
}
