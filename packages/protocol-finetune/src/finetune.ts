import { createRng, outputCount, validateTargets, validateTask } from '@medssl/core';
import { computeMetrics, metricsForTask } from '@medssl/metrics';
import { AdamW, EarlyStopping, scheduleFactor } from '@medssl/training';
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
import {
  BACKBONE_PREFIX,
  CHECKPOINT_FORMAT,
  FIRST_MOMENT_PREFIX,
  HEAD_PREFIX,
  SECOND_MOMENT_PREFIX,
  configDifference,
  modelTensors,
  tensorsUnder,
  type CheckpointState,
  type CheckpointStore,
  type EpochRecord,
} from './checkpoint.js';
import {
  LinearHead,
  checkHeadFits,
  decisionsFromLogits,
  probabilitiesFromLogits,
  headLoss,
  trainableParameters,
  type FinetuneBackbone,
  type FinetuneBackboneFactory,
} from './model.js';

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
  readonly backbone: FinetuneBackboneFactory;
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

export function resolveSettings(options: Omit<FinetuneOptions, 'backbone' | 'checkpoints' | 'resume' | 'onEpoch' | 'beforeTraining' | 'backboneIdentity'>): FinetuneSettings {
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
  if (!Number.isSafeInteger(warmupEpochs) || warmupEpochs < 0) throw new RangeError(`finetune: warmupEpochs must be a non-negative integer, got ${String(warmupEpochs)}`);
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
  const { task, signal } = input;
  validateTask(task, 'finetune: task');
  for (const split of ['train', 'val', 'test'] as const) {
    validateTargets(task, input[split].targets, `finetune: ${split} targets`);
    if (input[split].ids.length !== input[split].targets.shape[0]) {
      throw new RangeError(`finetune: the ${split} split has ${input[split].ids.length} ids and ${input[split].targets.shape[0]} targets`);
    }
  }
  const trainRows = checkTrainRows(task, input.train, input.trainRows);
  const primary = metricsForTask(task).find((metric) => metric.id === task.primaryMetric);
  if (primary === undefined) {
    throw new RangeError(`finetune: the task's primary metric '${task.primaryMetric}' is not one @medssl/metrics computes for a ${task.type} task; early stopping needs it`);
  }
  if (!tf.getBackend()) throw new Error("finetune: no tfjs backend is active; start one first (useTfjsBackend('wasm') from @medssl/runtime-tfjs)");
  const run = input.run ?? `seed${input.seed}-rows${trainRows.length}`;
  const config = runConfig(settings, task, input.seed, trainRows, options.backboneIdentity);
  const store = options.checkpoints;

  const saved = store ? await store.load(run) : undefined;
  if (saved !== undefined) {
    if (!options.resume) {
      throw new Error(`finetune: run ${run} already has a checkpoint in ${store!.location} (epoch ${saved.state.epochsCompleted}); resume it, or remove it to start again`);
    }
    if (saved.state.format !== CHECKPOINT_FORMAT) throw new Error(`finetune: checkpoint of run ${run} in ${store!.location} has format ${JSON.stringify(saved.state.format)}, expected ${CHECKPOINT_FORMAT}`);
    const difference = configDifference(config, saved.state.config);
    if (difference !== undefined) throw new Error(`finetune: cannot resume run ${run} from ${store!.location}: the settings differ (${difference})`);
    if (saved.state.result !== undefined) {
      return {
        ...saved.state.result,
        history: saved.state.history,
        bestEpoch: saved.state.bestEpoch,
        stop: saved.state.stop ?? 'epochs',
        fromCheckpoint: true,
        seconds: (performance.now() - started) / 1000,
      };
    }
  }

  const outputs = outputCount(task);
  await options.beforeTraining?.(run, saved?.state.epochsCompleted ?? 0);
  const savedTensors = saved ? await saved.tensors() : undefined;
  let backbone: FinetuneBackbone = await options.backbone(savedTensors ? tensorsUnder(savedTensors, BACKBONE_PREFIX) : undefined);
  let head: LinearHead | undefined;
  let optimizer: AdamW | undefined;
  try {
    checkBackbone(backbone);
    head = savedTensors ? headFrom(savedTensors, run) : LinearHead.initial(backbone.dimension, outputs, input.seed);
    checkHeadFits(task, head, backbone.dimension);
    optimizer = new AdamW([
      { parameters: trainableParameters(backbone.trainableVariables), learningRate: settings.backboneLearningRate, weightDecay: settings.weightDecay },
      { parameters: trainableParameters(head.variables), learningRate: settings.headLearningRate, weightDecay: settings.weightDecay },
    ]);
    if (saved && savedTensors) optimizer.restore({ steps: saved.state.optimizerSteps, moments: momentsFrom(savedTensors, optimizer.variables.length, run) });

    const stepsPerEpoch = Math.ceil(trainRows.length / settings.batchSize);
    const totalSteps = settings.epochs * stepsPerEpoch;
    const warmupSteps = Math.min(settings.warmupEpochs * stepsPerEpoch, totalSteps - 1);
    const stopping = new EarlyStopping(settings.patience, primary.higherIsBetter);
    const history: EpochRecord[] = [...(saved?.state.history ?? [])];
    for (const record of history) stopping.observe(record.epoch, record.validation[task.primaryMetric]!);
    let bestTensors: ReadonlyMap<string, Tensor> | undefined;
    let stop: 'patience' | 'epochs' = 'epochs';
    const policy = AUGMENTATION_POLICIES[settings.modality];
    const size = inputSize(settings.preprocessing);
    const layout = backbone.inputLayout ?? 'NCHW';
    const imageValues = 3 * size.height * size.width;
    const scratch = new Float32Array(imageValues);

    for (let epoch = history.length; epoch < settings.epochs && !stopping.shouldStop; epoch++) {
      const epochStarted = performance.now();
      const rng = createRng(input.seed).fork(`finetune/epoch-${epoch}`);
      const order = rng.shuffle(trainRows.slice());
      let lossSum = 0;
      let factor = 0;
      const batchRows = (index: number) => order.subarray(index * settings.batchSize, Math.min(order.length, (index + 1) * settings.batchSize));
      let pending = loadImages(input.train, batchRows(0));
      for (let batchIndex = 0; batchIndex < stepsPerEpoch; batchIndex++) {
        signal?.throwIfAborted();
        const rows = batchRows(batchIndex);
        const images = await pending;
        // The next batch decodes while this one trains.
        if (batchIndex + 1 < stepsPerEpoch) pending = loadImages(input.train, batchRows(batchIndex + 1));
        const values = new Float32Array(rows.length * imageValues);
        images.forEach((image, index) => {
          const augmentation = drawAugmentation(rng, image, size, policy, settings.cropRanges);
          writeAugmentedImage(image, augmentation, settings.preprocessing, values, index, layout, scratch);
        });
        factor = scheduleFactor(optimizer.stepCount, totalSteps, warmupSteps);
        const batch = tf.tensor4d(values, batchShape(layout, rows.length, size));
        const targets = targetTensor(input.train.targets, rows);
        try {
          const { value, grads } = tf.variableGrads(() => headLoss(task, backbone.embed(batch, true), head!, targets), optimizer.variables);
          try {
            optimizer.step(grads, factor);
            const loss = (await value.data())[0]!;
            if (!Number.isFinite(loss)) throw new Error(`finetune: the training loss became ${loss} at epoch ${epoch + 1}, step ${batchIndex + 1}; lower the learning rates`);
            lossSum += loss * rows.length;
          } finally {
            tf.dispose([value, ...Object.values(grads)]);
          }
        } finally {
          tf.dispose([batch, targets]);
        }
      }

      const validationLogits = await scoreSplit(backbone, head, input.val, settings, signal);
      const validation = metricsOf(task, input.val.targets, validationLogits, 'validation');
      const isBest = stopping.observe(epoch, validation[task.primaryMetric]!);
      const record: EpochRecord = {
        epoch,
        loss: lossSum / trainRows.length,
        validation,
        learningRateFactor: factor,
        seconds: (performance.now() - epochStarted) / 1000,
        best: isBest,
      };
      history.push(record);
      const needTensors = isBest || store !== undefined;
      const tensors = needTensors ? await snapshot(backbone, head, store ? optimizer : undefined) : undefined;
      if (isBest) bestTensors = modelTensors(tensors!);
      if (stopping.shouldStop) stop = 'patience';
      if (store) {
        const state: CheckpointState = {
          format: CHECKPOINT_FORMAT,
          run,
          config,
          epochsCompleted: epoch + 1,
          optimizerSteps: optimizer.stepCount,
          history,
          bestEpoch: stopping.best.epoch,
          random: { seed: input.seed, nextStream: `finetune/epoch-${epoch + 1}` },
        };
        await store.save(state, tensors!, isBest);
      }
      await options.onEpoch?.(record, run);
    }
    if (stopping.shouldStop) stop = 'patience';

    const bestEpoch = stopping.best.epoch;
    const stepsTaken = optimizer.stepCount;
    if (bestEpoch < 0) throw new Error(`finetune: no epoch gave a finite validation ${task.primaryMetric}; nothing to keep`);
    const lastEpoch = history.length - 1;
    if (bestEpoch !== lastEpoch) {
      // The best epoch's weights score the test split: rebuild the model from them.
      bestTensors ??= await bestFromStore(store, run);
      optimizer.dispose();
      optimizer = undefined;
      backbone.dispose();
      head.dispose();
      head = undefined;
      backbone = await options.backbone(tensorsUnder(bestTensors, BACKBONE_PREFIX));
      checkBackbone(backbone);
      head = headFrom(bestTensors, run);
    }
    const testLogits = await scoreSplit(backbone, head, input.test, settings, signal);
    const test = computeOrExplain(task, input.test.targets, testLogits, 'test');
    const rows = input.test.targets.shape[0];
    const bestRecord = history[bestEpoch]!;
    const result: ProtocolResult = {
      metrics: test.metrics,
      validation: bestRecord.validation,
      selected: {
        epochs: bestEpoch + 1,
        epochsRun: history.length,
        stop,
        backboneLearningRate: settings.backboneLearningRate,
        headLearningRate: settings.headLearningRate,
        batchSize: settings.batchSize,
        modality: settings.modality,
      },
      scores: { data: probabilitiesFromLogits(task, testLogits, rows), shape: [rows, outputs] },
      ...(test.perLabel ? { perLabel: test.perLabel } : {}),
    };
    if (store) {
      const { scores: _scores, ...stored } = result;
      await store.finish({
        format: CHECKPOINT_FORMAT,
        run,
        config,
        epochsCompleted: history.length,
        optimizerSteps: stepsTaken,
        history,
        bestEpoch,
        random: { seed: input.seed, nextStream: `finetune/epoch-${history.length}` },
        stop,
        result: stored,
      });
    }
    return { ...result, history, bestEpoch, stop, fromCheckpoint: false, seconds: (performance.now() - started) / 1000 };
  } finally {
    optimizer?.dispose();
    head?.dispose();
    backbone.dispose();
  }
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
    if (!Number.isInteger(row) || row < 0 || row >= count) throw new RangeError(`finetune: trainRows[${position}] = ${row} is not a row of the ${count}-row train split`);
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

function checkBackbone(backbone: FinetuneBackbone): void {
  if (!Number.isSafeInteger(backbone.dimension) || backbone.dimension < 1) throw new RangeError(`finetune: the backbone's dimension is ${String(backbone.dimension)}`);
  if (backbone.inputLayout !== undefined && backbone.inputLayout !== 'NCHW' && backbone.inputLayout !== 'NHWC') throw new RangeError(`finetune: the backbone's inputLayout must be NCHW or NHWC, got ${JSON.stringify(backbone.inputLayout)}`);
  if (typeof backbone.embed !== 'function') throw new TypeError('finetune: the backbone has no embed(images, training) method');
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

function targetTensor(targets: TargetArray, rows: Int32Array): tf.Tensor {
  if (targets.type === 'class') return tf.tensor1d(Int32Array.from(rows, (row) => targets.data[row]!), 'int32');
  const labels = targets.shape[1];
  const values = new Float32Array(rows.length * labels);
  rows.forEach((row, index) => {
    for (let label = 0; label < labels; label++) values[index * labels + label] = targets.data[row * labels + label]!;
  });
  return tf.tensor2d(values, [rows.length, labels]);
}

/** Logits `[n, outputs]` of every row of a split, with the evaluation preprocessing. */
async function scoreSplit(backbone: FinetuneBackbone, head: LinearHead, split: ImageSplit, settings: FinetuneSettings, signal: AbortSignal | undefined): Promise<Float32Array> {
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
    const layout = backbone.inputLayout ?? 'NCHW';
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
  const outputs = logits.length / Math.max(rows, 1);
  try {
    return computeMetrics(task, targets, { data: decisionsFromLogits(task, logits, rows), shape: [rows, outputs] });
  } catch (error) {
    throw new RangeError(`finetune: cannot score the ${split} split (${rows} rows): ${(error as Error).message}`);
  }
}

function metricsOf(task: Task, targets: TargetArray, logits: Float32Array, split: 'validation' | 'test'): Record<string, number> {
  return computeOrExplain(task, targets, logits, split).metrics;
}

/** Backbone, head and (with an optimiser) AdamW's moments, as named host tensors. */
async function snapshot(backbone: FinetuneBackbone, head: LinearHead, optimizer: AdamW | undefined): Promise<Map<string, Tensor>> {
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of (await backbone.canonicalWeights()).tensors) tensors.set(BACKBONE_PREFIX + name, { data: tensor.data.slice(), shape: [...tensor.shape] });
  const { weight, bias } = await head.values();
  tensors.set(`${HEAD_PREFIX}weight`, weight);
  tensors.set(`${HEAD_PREFIX}bias`, bias);
  if (optimizer) {
    const state = await optimizer.state();
    state.moments.forEach((moment, index) => {
      const key = String(index).padStart(4, '0');
      tensors.set(FIRST_MOMENT_PREFIX + key, { data: moment.first, shape: moment.shape });
      tensors.set(SECOND_MOMENT_PREFIX + key, { data: moment.second, shape: moment.shape });
    });
  }
  return tensors;
}

function headFrom(tensors: ReadonlyMap<string, Tensor>, run: string): LinearHead {
  const weight = tensors.get(`${HEAD_PREFIX}weight`);
  const bias = tensors.get(`${HEAD_PREFIX}bias`);
  if (weight === undefined || bias === undefined) throw new Error(`finetune: checkpoint of run ${run} has no ${HEAD_PREFIX}weight and ${HEAD_PREFIX}bias`);
  return LinearHead.fromValues(weight, bias);
}

function momentsFrom(tensors: ReadonlyMap<string, Tensor>, count: number, run: string) {
  return Array.from({ length: count }, (_, index) => {
    const key = String(index).padStart(4, '0');
    const first = tensors.get(FIRST_MOMENT_PREFIX + key);
    const second = tensors.get(SECOND_MOMENT_PREFIX + key);
    if (first === undefined || second === undefined) {
      throw new Error(`finetune: checkpoint of run ${run} lacks the optimiser moments ${FIRST_MOMENT_PREFIX + key}; it holds moments for fewer than the ${count} trainable variables`);
    }
    return { first: first.data, second: second.data, shape: [...first.shape] };
  });
}

async function bestFromStore(store: CheckpointStore | undefined, run: string): Promise<ReadonlyMap<string, Tensor>> {
  const saved = store ? await store.load(run) : undefined;
  if (saved === undefined) throw new Error(`finetune: the best epoch's weights of run ${run} are neither in memory nor in a checkpoint`);
  return saved.bestTensors();
}
