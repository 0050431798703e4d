import { createRng, outputCount, validateTargets, validateTask } from '@medssl/core';
import { computeMetrics } from '@medssl/metrics';
import {
  checkTrainableBackbone,
  classificationLoss,
  decisionsFromLogits,
  probabilitiesFromLogits,
  targetTensor,
  tensorsUnder,
  trainEpochs,
  trainableParameters,
  type CheckpointStore,
  type EpochLoop,
  type EpochPlan,
  type EpochRecord,
  type ImageLayout,
  type RunSummary,
  type TrainableBackbone,
  type TrainableBackboneFactory,
  type TrainingModel,
} from '@medssl/training';
import type { Preprocessing, Protocol, ProtocolResult, RawImage, TargetArray, Task, Tensor } from '@medssl/spec';
import { SPECIFICATION_VERSION } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import {
  AUGMENTATION_POLICIES,
  DEFAULT_CROP_RANGES,
  checkCropRanges,
  checkModality,
  drawAugmentation,
  inputSize,
  writeAugmentedImage,
  writeEvaluationImage,
  type CropRanges,
  type Modality,
} from './augment.js';
import { BACKBONE_PREFIX, CHECKPOINT_FORMAT, HEAD_PREFIX } from './checkpoint.js';
import { LinearHead, checkEmbeddings, checkHeadFits } from './model.js';

/** The labelled images of one split, decoded on request (the caller decides what to cache). */
export interface ImageSplit {
  readonly ids: readonly string[];
  readonly targets: TargetArray;
  image(row: number): Promise<RawImage>;
}

export interface FinetuneInput {
  readonly task: Task;
  readonly train: ImageSplit;
  readonly val: ImageSplit;
  readonly test: ImageSplit;
  /** Rows of `train` to finetune on (a label-fraction subset); every row when absent. */
  readonly trainRows?: Int32Array;
  readonly seed: number;
  readonly signal?: AbortSignal;
  /** Names the run's checkpoints; default `seed<seed>-rows<count>`. */
  readonly run?: string;
}

export interface FinetuneOptions {
  /** Builds the backbone: from its pretrained weights, or from a checkpoint's tensors. */
  readonly backbone: TrainableBackboneFactory;
  /**
   * The backbone's evaluation preprocessing (resize, centre crop, normalisation). Validation and test
   * images get exactly this; training images a random resized crop to the same size, normalised alike.
   */
  readonly preprocessing: Preprocessing;
  /** Which flips and rotations training draws; default `natural` (crops and horizontal flips only). */
  readonly modality?: Modality;
  readonly cropRanges?: CropRanges;
  /** Epochs at most; default 20. */
  readonly epochs?: number;
  /** Training images per step; default 16. */
  readonly batchSize?: number;
  /** Images per forward pass when scoring; default twice `batchSize`. */
  readonly evaluationBatchSize?: number;
  /** Peak learning rates; defaults 1e-4 (backbone) and 1e-3 (head). */
  readonly backboneLearningRate?: number;
  readonly headLearningRate?: number;
  /** AdamW's decoupled weight decay of weight tensors (not biases and norms); default 0.01. */
  readonly weightDecay?: number;
  /** Epochs of linear warm-up before the cosine decay; default 1. */
  readonly warmupEpochs?: number;
  /** Epochs without a better validation primary metric before stopping; default 5. */
  readonly patience?: number;
  /** Saves every epoch here; with `resume`, a run continues from its last saved epoch. */
  readonly checkpoints?: CheckpointStore;
  /**
   * Continue runs found in `checkpoints` (finished runs return their stored result). Without it an existing
   * checkpoint of the same run is an error, so that nothing is overwritten by mistake.
   */
  readonly resume?: boolean;
  /** Called after each epoch, once its checkpoint is saved. */
  readonly onEpoch?: (record: EpochRecord, run: string) => void | Promise<void>;
  /**
   * Called when a run is about to train (after its checkpoint, if any, was found and checked; not for runs
   * that finished before), e.g. to time a few steps first.
   */
  readonly beforeTraining?: (run: string, firstEpoch: number) => void | Promise<void>;
  /**
   * What the backbone and its starting weights are (e.g. `supervised:resnet50, weights resnet50.pth`): part of
   * the settings a checkpoint must share with the run that resumes it.
   */
  readonly backboneIdentity?: string;
}

export const DEFAULT_EPOCHS = 20;
export const DEFAULT_BATCH_SIZE = 16;
export const DEFAULT_BACKBONE_LEARNING_RATE = 1e-4;
export const DEFAULT_HEAD_LEARNING_RATE = 1e-3;
export const DEFAULT_WEIGHT_DECAY = 0.01;
export const DEFAULT_WARMUP_EPOCHS = 1;
export const DEFAULT_PATIENCE = 5;

/** The settings of a run with every default filled in. */
export interface FinetuneSettings {
  readonly modality: Modality;
  readonly cropRanges: CropRanges;
  readonly epochs: number;
  readonly batchSize: number;
  readonly evaluationBatchSize: number;
  readonly backboneLearningRate: number;
  readonly headLearningRate: number;
  readonly weightDecay: number;
  readonly warmupEpochs: number;
  readonly patience: number;
  readonly preprocessing: Preprocessing;
}

export interface FinetuneResult extends ProtocolResult {
  readonly history: readonly EpochRecord[];
  /** The epoch whose weights scored the test split (0-based). */
  readonly bestEpoch: number;
  readonly stop: 'patience' | 'epochs';
  /** True when the whole run came from a finished checkpoint. */
  readonly fromCheckpoint: boolean;
  readonly seconds: number;
}

export function resolveSettings(
  options: Omit<FinetuneOptions, 'backbone' | 'checkpoints' | 'resume' | 'onEpoch' | 'beforeTraining' | 'backboneIdentity'>,
): FinetuneSettings {
  const positiveInteger = (value: number, name: string) => {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`finetune: ${name} must be a positive integer, got ${String(value)}`);
    return value;
  };
  const nonNegative = (value: number, name: string) => {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`finetune: ${name} must be a non-negative number, got ${String(value)}`);
    return value;
  };
  const modality = options.modality ?? 'natural';
  checkModality(modality);
  const cropRanges = options.cropRanges ?? DEFAULT_CROP_RANGES;
  checkCropRanges(cropRanges);
  inputSize(options.preprocessing);
  const batchSize = positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
  const warmupEpochs = options.warmupEpochs ?? DEFAULT_WARMUP_EPOCHS;
  if (!Number.isSafeInteger(warmupEpochs) || warmupEpochs < 0)
    throw new RangeError(`finetune: warmupEpochs must be a non-negative integer, got ${String(warmupEpochs)}`);
  return {
    modality,
    cropRanges: { scale: [...cropRanges.scale], ratio: [...cropRanges.ratio] } as CropRanges,
    epochs: positiveInteger(options.epochs ?? DEFAULT_EPOCHS, 'epochs'),
    batchSize,
    evaluationBatchSize: positiveInteger(options.evaluationBatchSize ?? 2 * batchSize, 'evaluationBatchSize'),
    backboneLearningRate: nonNegative(options.backboneLearningRate ?? DEFAULT_BACKBONE_LEARNING_RATE, 'backboneLearningRate'),
    headLearningRate: nonNegative(options.headLearningRate ?? DEFAULT_HEAD_LEARNING_RATE, 'headLearningRate'),
    weightDecay: nonNegative(options.weightDecay ?? DEFAULT_WEIGHT_DECAY, 'weightDecay'),
    warmupEpochs,
    patience: positiveInteger(options.patience ?? DEFAULT_PATIENCE, 'patience'),
    preprocessing: options.preprocessing,
  };
}

/**
 * Finetuning of a backbone with a linear head on images: random resized crops and the modality's flips and
 * rotations (seeded), AdamW with one learning rate for the backbone and one for the head, linear warm-up
 * then cosine decay, early stopping on the validation primary metric. The best epoch's weights score the
 * test split. Losses: softmax cross-entropy (binary, multiclass), one sigmoid per label (multilabel).
 */
export function finetune(options: FinetuneOptions): Protocol<FinetuneInput, FinetuneResult> {
  resolveSettings(options);
  if (typeof options.backbone !== 'function') throw new TypeError('finetune: options.backbone must be a function that builds the backbone');
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: 'finetune',
    supports: ['binary', 'multiclass', 'multilabel'],
    evaluate: (input) => runFinetune(input, options),
  };
}

/** One finetuning run: `finetune(options).evaluate(input)`. */
export async function runFinetune(input: FinetuneInput, options: FinetuneOptions): Promise<FinetuneResult> {
  const started = performance.now();
  const settings = resolveSettings(options);
  const trainRows = checkInput(input);
  if (!tf.getBackend()) throw new Error("finetune: no tfjs backend is active; start one first (useTfjsBackend('wasm') from @medssl/runtime-tfjs)");
  const run = input.run ?? `seed${input.seed}-rows${trainRows.length}`;
  const trained = await trainEpochs(finetuneLoop(input, options, settings, trainRows, run));
  const { history, bestEpoch, stop } = trained;
  const result = trained.fromCheckpoint ? trained.result : trained.outcome;
  return { ...result, history, bestEpoch, stop, fromCheckpoint: trained.fromCheckpoint, seconds: (performance.now() - started) / 1000 };
}

/** The backbone and head being finetuned. */
interface FinetuneModel extends TrainingModel<ImageBatch> {
  readonly backbone: TrainableBackbone;
  readonly head: LinearHead;
}

/** Augmented training images in the backbone's layout, and their targets. */
interface ImageBatch {
  readonly images: tf.Tensor4D;
  readonly targets: tf.Tensor;
}

/** Finetuning as @medssl/training's epoch loop: what it trains, on which batches, and how it scores. */
function finetuneLoop(
  input: FinetuneInput,
  options: FinetuneOptions,
  settings: FinetuneSettings,
  trainRows: Int32Array,
  run: string,
): EpochLoop<ImageBatch, FinetuneModel, ProtocolResult> {
  const { task, signal } = input;
  const stepsPerEpoch = Math.ceil(trainRows.length / settings.batchSize);
  const totalSteps = settings.epochs * stepsPerEpoch;
  const store = options.checkpoints;
  return {
    name: 'finetune',
    task,
    epochs: settings.epochs,
    patience: settings.patience,
    schedule: { totalSteps, warmupSteps: Math.min(settings.warmupEpochs * stepsPerEpoch, totalSteps - 1) },
    lossReadback: 'step',
    build: (tensors) => buildModel(task, options, settings, input.seed, run, tensors),
    planEpoch: (epoch, model) => planEpoch(input, settings, trainRows, epoch, model.backbone.inputLayout),
    validate: async (model) => metricsOf(task, input.val.targets, await scoreSplit(model.backbone, model.head, input.val, settings, signal), 'validation'),
    test: (model, summary) => testResult(input, settings, model, summary),
    diverged: (loss, epoch, step) =>
      new Error(`finetune: the training loss became ${loss} at epoch ${epoch + 1}${step === undefined ? '' : `, step ${step + 1}`}; lower the learning rates`),
    ...(store
      ? {
          checkpoints: {
            store,
            run,
            format: CHECKPOINT_FORMAT,
            config: runConfig(settings, task, input.seed, trainRows, options.backboneIdentity),
            resume: options.resume ?? false,
            random: { seed: input.seed, stream: epochStream },
            result: ({ scores: _scores, ...stored }) => stored,
          },
        }
      : {}),
    ...(signal ? { signal } : {}),
    beforeTraining: (firstEpoch) => options.beforeTraining?.(run, firstEpoch),
    onEpoch: (record) => options.onEpoch?.(record, run),
  };
}

/** Each epoch draws its order and augmentations from its own stream: a resumed run continues exactly. */
function epochStream(epoch: number): string {
  return `finetune/epoch-${epoch}`;
}

/** The backbone (pretrained, or from a checkpoint's tensors) and the head (initial, or from the tensors). */
async function buildModel(
  task: Task,
  options: FinetuneOptions,
  settings: FinetuneSettings,
  seed: number,
  run: string,
  tensors?: ReadonlyMap<string, Tensor>,
): Promise<FinetuneModel> {
  const backbone = await options.backbone(tensors ? tensorsUnder(tensors, BACKBONE_PREFIX) : undefined);
  let head: LinearHead | undefined;
  try {
    checkTrainableBackbone(backbone, 'finetune: the backbone');
    head = tensors ? headFrom(tensors, run) : LinearHead.initial(backbone.dimension, outputCount(task), seed);
    checkHeadFits(task, head, backbone.dimension);
  } catch (error) {
    head?.dispose();
    backbone.dispose();
    throw error;
  }
  const trainedHead = head;
  return {
    backbone,
    head: trainedHead,
    groups: [
      { parameters: trainableParameters(backbone.trainableVariables), learningRate: settings.backboneLearningRate, weightDecay: settings.weightDecay },
      { parameters: trainableParameters(trainedHead.variables), learningRate: settings.headLearningRate, weightDecay: settings.weightDecay },
    ],
    loss: (batch) => {
      const embeddings = backbone.embed(batch.images, true);
      checkEmbeddings(embeddings, trainedHead);
      return classificationLoss(task, trainedHead.logits(embeddings), batch.targets);
    },
    tensors: () => modelTensorsOf(backbone, trainedHead),
    dispose: () => {
      trainedHead.dispose();
      backbone.dispose();
    },
  };
}

/** An epoch's batches: the training rows shuffled by the epoch's stream, each image augmented from it. */
function planEpoch(input: FinetuneInput, settings: FinetuneSettings, trainRows: Int32Array, epoch: number, layout: ImageLayout): EpochPlan<ImageBatch> {
  const rng = createRng(input.seed).fork(epochStream(epoch));
  const order = rng.shuffle(trainRows.slice());
  const { batchSize } = settings;
  const batches = Array.from({ length: Math.ceil(order.length / batchSize) }, (_, index) =>
    order.subarray(index * batchSize, Math.min(order.length, (index + 1) * batchSize)),
  );
  const policy = AUGMENTATION_POLICIES[settings.modality];
  const size = inputSize(settings.preprocessing);
  const imageValues = 3 * size.height * size.width;
  const scratch = new Float32Array(imageValues);
  return {
    batches,
    // Batches load in order, so the augmentations draw from the stream in the same order every run.
    load: async (rows) => {
      const images = await loadImages(input.train, rows);
      const values = new Float32Array(rows.length * imageValues);
      images.forEach((image, index) => {
        const augmentation = drawAugmentation(rng, image, size, policy, settings.cropRanges);
        writeAugmentedImage(image, augmentation, settings.preprocessing, values, index, layout, scratch);
      });
      return { images: tf.tensor4d(values, batchShape(layout, rows.length, size)), targets: targetTensor(input.train.targets, rows) };
    },
    dispose: (batch) => tf.dispose([batch.images, batch.targets]),
  };
}

/** The test split scored by the kept model, as the protocol's result. */
async function testResult(input: FinetuneInput, settings: FinetuneSettings, model: FinetuneModel, summary: RunSummary): Promise<ProtocolResult> {
  const { task } = input;
  const logits = await scoreSplit(model.backbone, model.head, input.test, settings, input.signal);
  const test = computeOrExplain(task, input.test.targets, logits, 'test');
  return {
    metrics: test.metrics,
    validation: summary.history[summary.bestEpoch]!.validation,
    selected: {
      epochs: summary.bestEpoch + 1,
      epochsRun: summary.history.length,
      stop: summary.stop,
      backboneLearningRate: settings.backboneLearningRate,
      headLearningRate: settings.headLearningRate,
      batchSize: settings.batchSize,
      modality: settings.modality,
    },
    scores: probabilitiesFromLogits(task, logits, input.test.targets.shape[0]),
    ...(test.perLabel ? { perLabel: test.perLabel } : {}),
  };
}

/** Checks the splits against the task and each other; returns the training rows. */
function checkInput(input: FinetuneInput): Int32Array {
  const { task } = input;
  validateTask(task, 'finetune: task');
  for (const split of ['train', 'val', 'test'] as const) {
    validateTargets(task, input[split].targets, `finetune: ${split} targets`);
    if (input[split].ids.length !== input[split].targets.shape[0]) {
      throw new RangeError(`finetune: the ${split} split has ${input[split].ids.length} ids and ${input[split].targets.shape[0]} targets`);
    }
  }
  return checkTrainRows(task, input.train, input.trainRows);
}

/** The settings a checkpoint must share with the run that resumes it. */
function runConfig(settings: FinetuneSettings, task: Task, seed: number, trainRows: Int32Array, backbone: string | undefined): Record<string, unknown> {
  return {
    backbone: backbone ?? null,
    task,
    seed,
    trainRows: { count: trainRows.length, fingerprint: rowsFingerprint(trainRows) },
    modality: settings.modality,
    cropRanges: settings.cropRanges,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    backboneLearningRate: settings.backboneLearningRate,
    headLearningRate: settings.headLearningRate,
    weightDecay: settings.weightDecay,
    warmupEpochs: settings.warmupEpochs,
    patience: settings.patience,
    preprocessing: settings.preprocessing,
  };
}

/** FNV-1a over the row indices: tells two training subsets apart in a checkpoint's settings. */
function rowsFingerprint(rows: Int32Array): string {
  let hash = 0x811c9dc5;
  for (const row of rows) {
    for (let shift = 0; shift < 32; shift += 8) hash = Math.imul(hash ^ ((row >>> shift) & 0xff), 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function checkTrainRows(task: Task, train: ImageSplit, trainRows: Int32Array | undefined): Int32Array {
  const count = train.targets.shape[0];
  const rows = trainRows ?? Int32Array.from({ length: count }, (_, row) => row);
  if (rows.length === 0) throw new RangeError('finetune: trainRows is empty; there is nothing to train on');
  rows.forEach((row, position) => {
    if (!Number.isInteger(row) || row < 0 || row >= count)
      throw new RangeError(`finetune: trainRows[${position}] = ${row} is not a row of the ${count}-row train split`);
  });
  if (task.type !== 'multilabel' && train.targets.type === 'class') {
    const present = new Set(Array.from(rows, (row) => train.targets.data[row]!));
    if (present.size < 2) {
      const only = task.classes[[...present][0]!];
      throw new RangeError(`finetune: the ${rows.length} training rows hold one class only (${JSON.stringify(only)}); a classifier needs two or more`);
    }
  }
  return rows;
}

function batchShape(layout: 'NCHW' | 'NHWC', count: number, size: { height: number; width: number }): [number, number, number, number] {
  return layout === 'NCHW' ? [count, 3, size.height, size.width] : [count, size.height, size.width, 3];
}

function loadImages(split: ImageSplit, rows: Int32Array): Promise<RawImage[]> {
  const loading = Promise.all(Array.from(rows, (row) => split.image(row)));
  // A batch loaded ahead may be abandoned when training stops; its failure is reported where it is awaited.
  loading.catch(() => undefined);
  return loading;
}

/** Logits `[n, outputs]` of every row of a split, with the evaluation preprocessing. */
async function scoreSplit(
  backbone: TrainableBackbone,
  head: LinearHead,
  split: ImageSplit,
  settings: FinetuneSettings,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  const rows = split.targets.shape[0];
  const size = inputSize(settings.preprocessing);
  const imageValues = 3 * size.height * size.width;
  const scratch = new Float32Array(imageValues);
  const logits = new Float32Array(rows * head.outputs);
  const chunk = settings.evaluationBatchSize;
  const rowsOf = (start: number) => Int32Array.from({ length: Math.min(chunk, rows - start) }, (_, index) => start + index);
  let pending = rows > 0 ? loadImages(split, rowsOf(0)) : undefined;
  for (let start = 0; start < rows; start += chunk) {
    signal?.throwIfAborted();
    const batchRows = rowsOf(start);
    const images = await pending!;
    if (start + chunk < rows) pending = loadImages(split, rowsOf(start + chunk));
    const values = new Float32Array(batchRows.length * imageValues);
    const layout = backbone.inputLayout;
    images.forEach((image, index) => writeEvaluationImage(image, settings.preprocessing, values, index, layout, scratch, split.ids[batchRows[index]!]));
    const output = tf.tidy(() => head.logits(backbone.embed(tf.tensor4d(values, batchShape(layout, batchRows.length, size)), false)));
    try {
      logits.set((await output.data()) as Float32Array, start * head.outputs);
    } finally {
      output.dispose();
    }
  }
  return logits;
}

function computeOrExplain(task: Task, targets: TargetArray, logits: Float32Array, split: 'validation' | 'test') {
  const rows = targets.shape[0];
  try {
    return computeMetrics(task, targets, decisionsFromLogits(task, logits, rows));
  } catch (error) {
    throw new RangeError(`finetune: cannot score the ${split} split (${rows} rows): ${(error as Error).message}`);
  }
}

function metricsOf(task: Task, targets: TargetArray, logits: Float32Array, split: 'validation' | 'test'): Record<string, number> {
  return computeOrExplain(task, targets, logits, split).metrics;
}

/** The backbone's canonical weights and the head, as named host tensors (what `buildModel` rebuilds from). */
async function modelTensorsOf(backbone: TrainableBackbone, head: LinearHead): Promise<Map<string, Tensor>> {
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of (await backbone.canonicalWeights()).tensors)
    tensors.set(BACKBONE_PREFIX + name, { data: tensor.data.slice(), shape: [...tensor.shape] });
  const { weight, bias } = await head.values();
  tensors.set(`${HEAD_PREFIX}weight`, weight);
  tensors.set(`${HEAD_PREFIX}bias`, bias);
  return tensors;
}

function headFrom(tensors: ReadonlyMap<string, Tensor>, run: string): LinearHead {
  const weight = tensors.get(`${HEAD_PREFIX}weight`);
  const bias = tensors.get(`${HEAD_PREFIX}bias`);
  if (weight === undefined || bias === undefined) throw new Error(`finetune: checkpoint of run ${run} has no ${HEAD_PREFIX}weight and ${HEAD_PREFIX}bias`);
  return LinearHead.fromValues(weight, bias);
}
