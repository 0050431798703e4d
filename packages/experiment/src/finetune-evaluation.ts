import { resolve } from 'node:path';
import { outputCount } from '@medssl/core';
import {
  DEFAULT_EPOCHS,
  estimateSeconds,
  finetune,
  finetuneLabelFractions,
  formatSeconds,
  measureThroughput,
  resolveSettings,
  scaleThroughput,
  type ImageSplit,
} from '@medssl/protocol-finetune';
import type { TrainableBackboneFactory } from '@medssl/training';
import { fileCheckpointStore } from '@medssl/protocol-finetune/node';
import { TfjsBackendError, createTfjsModel, useTfjsBackend, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { Backbone, CanonicalWeights, Dataset, DatasetSizes, Modality, RawImage, Sample } from '@medssl/spec';
import { overridePreprocessing } from './extraction.js';
import type { Io } from './io.js';
import { checkWeightsRequest, loadBackboneWeights } from './weights.js';
import { markdownSummary } from './report-table.js';
import { writeEvaluationDocument } from './results.js';

/** The runtimes that can train, by their CLI names. */
export const FINETUNE_RUNTIMES: Readonly<Record<string, TfjsBackendName>> = { 'tfjs-wasm': 'wasm', 'tfjs-webgpu': 'webgpu', 'tfjs-cpu': 'cpu' };
export type FinetuneRuntimeName = 'tfjs-wasm' | 'tfjs-webgpu' | 'tfjs-cpu';

/** Decoded images kept in memory at most, so that later epochs do not decode again. */
const DECODED_CACHE_BYTES = 1024 ** 3;
/** The input side of the full-size estimate: the papers' 224x224. */
const FULL_SIZE_INPUT = 224;

/** What one finetuning evaluation trains (all but dataset, backbone, fractions and seeds are optional). */
export interface FinetuneEvaluationOptions {
  readonly dataset: Dataset;
  /** Where the dataset was opened from, recorded in the results document. */
  readonly datasetRoot?: string;
  readonly backbone: Backbone;
  /** The backbone's checkpoint; random:* backbones take none and draw their weights from `weightsSeed`. */
  readonly weightsPath?: string;
  readonly weightsSeed?: number;
  readonly runtime?: FinetuneRuntimeName;
  /** Which flips and rotations; by default the dataset's `modality` (pcam: pathology, aptos: fundus, chest X-rays). */
  readonly modality?: Modality;
  /** The split sizes of the full release, for the full-size estimate when the folder holds a sample (a provider's `officialSizes`). */
  readonly officialSizes?: DatasetSizes;
  readonly epochs?: number;
  readonly patience?: number;
  readonly batchSize?: number;
  readonly backboneLearningRate?: number;
  readonly headLearningRate?: number;
  readonly frozenStages?: number;
  readonly resize?: number;
  readonly crop?: number;
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  /** N images of each split, evenly spaced through it. */
  readonly limit?: number;
  /** N images of val and of test (default `limit`). */
  readonly evalLimit?: number;
  /** Splits by role; default train, val and test. */
  readonly splits?: { readonly train: string; readonly val: string; readonly test: string };
  /** Every epoch is saved here (one folder per fraction and seed); with `resume`, saved runs continue. */
  readonly checkpointDir?: string;
  readonly resume?: boolean;
  /** Training steps timed for the estimate (after one untimed), default 2. */
  readonly estimateSteps?: number;
  /** How the full-size (224x224) estimate is made: by pixel count from this run's size, or timed. */
  readonly fullEstimate?: 'scale' | 'measure';
  /** The results document's path; without it only the estimate is printed. */
  readonly out?: string;
  /** Extra top-level fields of the results document, e.g. an experiment unit's key. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly io: Io;
  readonly signal?: AbortSignal;
}

/**
 * Finetunes a backbone + linear head on a dataset's images at label fractions and seeds on TensorFlow.js,
 * printing a time estimate (this run and the full-size run) before the first run that trains, and writes
 * the `medssl.eval/v1` results document to `out`. Returns the document, or undefined when there is no `out`
 * (the estimate only).
 */
export async function runFinetuneEvaluation(options: FinetuneEvaluationOptions): Promise<object | undefined> {
  const { dataset, backbone, io, fractions, seeds, limit, frozenStages, out } = options;
  const runtimeName = options.runtime ?? 'tfjs-wasm';
  const tfjsBackend = FINETUNE_RUNTIMES[runtimeName];
  if (tfjsBackend === undefined) throw new Error(`runtime ${runtimeName} cannot finetune; use one of ${Object.keys(FINETUNE_RUNTIMES).join(', ')}`);
  const weightsSeed = options.weightsSeed ?? 0;
  const evalLimit = options.evalLimit ?? limit;
  const splitNames = options.splits ?? { train: 'train', val: 'val', test: 'test' };
  const fullEstimate = options.fullEstimate ?? 'scale';
  const estimateSteps = options.estimateSteps ?? 2;
  const preprocessing = overridePreprocessing(backbone.preprocessing, options.resize, options.crop);
  const fullSizePreprocessing = overridePreprocessing(backbone.preprocessing, undefined, FULL_SIZE_INPUT);
  const settings = resolveSettings({
    preprocessing,
    modality: options.modality ?? dataset.modality ?? 'natural',
    ...definedOnly({
      epochs: options.epochs,
      patience: options.patience,
      batchSize: options.batchSize,
      backboneLearningRate: options.backboneLearningRate,
      headLearningRate: options.headLearningRate,
    }),
  });
  try {
    await useTfjsBackend(tfjsBackend);
  } catch (error) {
    if (error instanceof TfjsBackendError) throw new Error(`--runtime ${runtimeName}: ${error.message}`);
    throw error;
  }
  // A missing or superfluous --weights is a usage error, found now rather than when the first run starts.
  checkWeightsRequest(backbone, options.weightsPath);
  // Weights load on first use: a run resumed from a finished checkpoint, or refused, needs none.
  let weightsLoading: Promise<CanonicalWeights> | undefined;
  const weights = () => (weightsLoading ??= loadBackboneWeights(backbone, options.weightsPath, weightsSeed));
  const createBackbone: TrainableBackboneFactory = async (tensors) => {
    const initial = await weights();
    return createTfjsModel(backbone, tensors ? { ...initial, tensors } : initial, frozenStages === undefined ? {} : { frozenStages });
  };
  const backboneIdentity = `${backbone.id}, ${options.weightsPath === undefined ? `random weights, seed ${weightsSeed}` : `weights ${resolve(options.weightsPath)}`}${frozenStages === undefined ? '' : `, frozen stages ${frozenStages}`}`;

  const where = options.datasetRoot === undefined ? dataset.id : `${dataset.id} at ${options.datasetRoot}`;
  for (const [role, split] of Object.entries(splitNames)) {
    if (!dataset.splits.includes(split))
      throw new Error(`${where} has no "${split}" split for ${role} (it has ${dataset.splits.join(', ')}); finetuning needs train, val and test`);
  }
  const cache = new DecodedImages(DECODED_CACHE_BYTES);
  const [train, val, test] = (await Promise.all(
    (['train', 'val', 'test'] as const).map((role) => imageSplit(dataset, splitNames[role], role === 'train' ? limit : evalLimit, cache)),
  )) as [ImageSplit, ImageSplit, ImageSplit];
  if (options.modality === undefined && dataset.modality === undefined) {
    io.stderr(
      `note: no modality is known for dataset ${dataset.id}: crops and horizontal flips only; pass --modality pathology|fundus|chest-xray to add the flips and rotations those images allow\n`,
    );
  }
  io.stderr(
    `finetune ${backbone.id} on ${dataset.id} (${runtimeName}, ${settings.modality} augmentations, input ${describeSize(preprocessing)}): ` +
      `${train.ids.length} train, ${val.ids.length} val, ${test.ids.length} test images; ${fractions.length} fractions × ${seeds.length} seeds\n`,
  );

  // The estimate: a few timed steps with a throw-away copy of the model, multiplied out; printed before the
  // first run that trains.
  let estimate: object | undefined;
  const printEstimate = async () => {
    const sampleImages = await Promise.all(Array.from({ length: Math.min(settings.batchSize, train.ids.length) }, (_, row) => train.image(row)));
    const throughput = await measureThroughput({
      backbone: createBackbone,
      preprocessing,
      task: dataset.task,
      images: sampleImages,
      modality: settings.modality,
      batchSize: settings.batchSize,
      steps: estimateSteps,
    });
    const trainRows = fractions.flatMap((fraction) => seeds.map(() => Math.max(outputCount(dataset.task), Math.round(fraction * train.ids.length))));
    const requested = estimateSeconds(throughput, { trainRows, val: val.ids.length, test: test.ids.length, epochs: settings.epochs });
    const fullSizes = options.officialSizes ?? {
      train: await dataset.size(splitNames.train),
      val: await dataset.size(splitNames.val),
      test: await dataset.size(splitNames.test),
      note: options.datasetRoot === undefined ? `the splits of ${dataset.id}` : `the splits at ${options.datasetRoot}`,
    };
    const sameSize = throughput.height === FULL_SIZE_INPUT && throughput.width === FULL_SIZE_INPUT;
    const fullThroughput =
      sameSize || fullEstimate === 'scale'
        ? scaleThroughput(throughput, FULL_SIZE_INPUT, FULL_SIZE_INPUT)
        : await measureThroughput({
            backbone: createBackbone,
            preprocessing: fullSizePreprocessing,
            task: dataset.task,
            images: sampleImages,
            modality: settings.modality,
            batchSize: settings.batchSize,
            // ResNet-50 at 224x224 runs out of WebAssembly memory at batch 8 (measured); 2 fits.
            measuredBatchSize: tfjsBackend === 'webgpu' ? settings.batchSize : Math.min(settings.batchSize, 2),
            steps: estimateSteps,
          });
    const fullRun = estimateSeconds(fullThroughput, { trainRows: [fullSizes.train], val: fullSizes.val, test: fullSizes.test, epochs: DEFAULT_EPOCHS });
    const how = sameSize
      ? 'measured'
      : fullEstimate === 'scale'
        ? `extrapolated from ${throughput.width}x${throughput.height} by pixel count, the optimiser step as measured; --full-estimate measure times it`
        : `measured at ${FULL_SIZE_INPUT}x${FULL_SIZE_INPUT}, batch ${fullThroughput.measuredBatchSize}`;
    const runs = fractions.length * seeds.length;
    estimate = {
      runtime: runtimeName,
      measured: {
        input: `${throughput.width}x${throughput.height}`,
        batch: throughput.batchSize,
        steps: throughput.steps,
        trainSecondsPerImage: throughput.trainSecondsPerImage,
        evaluationSecondsPerImage: throughput.evaluationSecondsPerImage,
      },
      requestedSeconds: requested,
      fullSize: {
        input: `${FULL_SIZE_INPUT}x${FULL_SIZE_INPUT}`,
        ...fullSizes,
        epochs: DEFAULT_EPOCHS,
        how,
        trainSecondsPerImage: fullThroughput.trainSecondsPerImage,
        evaluationSecondsPerImage: fullThroughput.evaluationSecondsPerImage,
        secondsPerRun: fullRun,
        seconds: fullRun * runs,
      },
    };
    io.stderr(
      `estimate on ${runtimeName}: measured ${formatRate(throughput.trainSecondsPerImage)} per training image and ${formatRate(throughput.evaluationSecondsPerImage)} per scored image at ${throughput.width}x${throughput.height}, batch ${throughput.batchSize}\n` +
        `  this run: about ${formatSeconds(requested)} (${runs} runs of up to ${settings.epochs} epochs; less where early stopping ends a run)\n` +
        `  full size: ${fullSizes.train.toLocaleString('en')} train / ${fullSizes.val.toLocaleString('en')} val / ${fullSizes.test.toLocaleString('en')} test images (${fullSizes.note}) at ${FULL_SIZE_INPUT}x${FULL_SIZE_INPUT}, ${DEFAULT_EPOCHS} epochs: ` +
        `about ${formatSeconds(fullRun)} per run at 100 % on ${runtimeName}, ${formatSeconds(fullRun * runs)} for ${runs} runs ` +
        `(${formatRate(fullThroughput.trainSecondsPerImage)} per training image, ${how})\n`,
    );
  };
  if (out === undefined) {
    await explainMemory(printEstimate(), runtimeName);
    return undefined;
  }

  const checkpointDir = options.checkpointDir === undefined ? undefined : resolve(options.checkpointDir);
  const protocol = finetune({
    backbone: createBackbone,
    backboneIdentity,
    preprocessing,
    modality: settings.modality,
    epochs: settings.epochs,
    patience: settings.patience,
    batchSize: settings.batchSize,
    backboneLearningRate: settings.backboneLearningRate,
    headLearningRate: settings.headLearningRate,
    ...(checkpointDir ? { checkpoints: fileCheckpointStore(checkpointDir), resume: options.resume ?? false } : {}),
    beforeTraining: async (_run, firstEpoch) => {
      if (estimate === undefined) await printEstimate();
      if (firstEpoch > 0) io.stderr(`    resuming after epoch ${firstEpoch} from ${checkpointDir}\n`);
    },
    onEpoch: (record) => {
      const primary = record.validation[dataset.task.primaryMetric];
      io.stderr(
        `    epoch ${record.epoch + 1}/${settings.epochs}: loss ${record.loss.toFixed(4)}, val ${dataset.task.primaryMetric} ${primary?.toFixed(4)}${record.best ? ' (best)' : ''}, ${record.seconds.toFixed(1)} s\n`,
      );
    },
  });
  const started = Date.now();
  const result = await explainMemory(
    finetuneLabelFractions({
      protocol,
      input: { task: dataset.task, train, val, test },
      dataset: dataset.id,
      fractions,
      seeds,
      ...(options.signal ? { signal: options.signal } : {}),
      onRunStart: (run, index, total) => io.stderr(`  [${index + 1}/${total}] fraction ${run.fraction}, seed ${run.seed}: ${run.trainCount} training images\n`),
      onRow: (row, run, done, total) => {
        const primary = row.metrics[dataset.task.primaryMetric];
        const origin = run.fromCheckpoint ? ', from its finished checkpoint' : '';
        io.stderr(
          `  [${done}/${total}] test ${dataset.task.primaryMetric} ${primary?.toFixed(4)} with epoch ${run.bestEpoch + 1}'s weights (${run.stop === 'patience' ? 'stopped early' : 'all epochs'}${origin})\n`,
        );
      },
    }),
    runtimeName,
  );
  const folder = options.datasetRoot === undefined ? null : resolve(options.datasetRoot);
  const document = await writeEvaluationDocument(out, {
    protocol: 'finetune',
    protocolOptions: {
      ...settings,
      runtime: runtimeName,
      frozenStages: frozenStages ?? null,
      weightsSeed,
      limit: limit ?? null,
      evalLimit: evalLimit ?? null,
      checkpointDir: checkpointDir ?? null,
    },
    source: {
      task: dataset.task,
      dataset: { id: dataset.id, version: dataset.version },
      backbone: backbone.id,
      weightsSha256: (await weights()).sha256,
      inputs: {
        train: { folder, split: splitNames.train, count: train.ids.length },
        val: { folder, split: splitNames.val, count: val.ids.length },
        test: { folder, split: splitNames.test, count: test.ids.length },
      },
    },
    fractions,
    seeds,
    result,
    elapsedMilliseconds: Date.now() - started,
    extra: { ...options.extra, estimate: estimate ?? null, training: result.runs },
  });
  for (const issue of dataset.issues?.() ?? []) io.stderr(`note: ${issue.message}\n`);
  io.stdout(markdownSummary(dataset.task.primaryMetric, result.summary, `finetune · ${dataset.id} · ${backbone.id}`));
  return document;
}

/** WebAssembly's out-of-memory failures say nothing of memory: name the cause and the way out. */
async function explainMemory<T>(work: Promise<T>, runtimeName: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/memory access out of bounds|Aborted\(\)|out of memory/i.test(message)) {
      throw new Error(
        `${message}: ${runtimeName} ran out of memory (WebAssembly holds 4 GiB at most; ResNet-50 at 224x224 trains at batch 2 there); lower --batch or --crop`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The fields whose value is defined. */
function definedOnly<T extends Record<string, number | undefined>>(values: T): { [Key in keyof T]?: Exclude<T[Key], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [Key in keyof T]?: Exclude<T[Key], undefined> };
}

function describeSize(preprocessing: { readonly centerCrop?: number | readonly [number, number] }): string {
  const crop = preprocessing.centerCrop;
  if (crop === undefined) return 'by resize';
  return typeof crop === 'number' ? `${crop}x${crop}` : `${crop[1]}x${crop[0]}`;
}

function formatRate(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(1)} ms`;
}

/** Decoded images by sample source, kept while they fit in a byte budget; later ones are decoded each time. */
class DecodedImages {
  private readonly images = new Map<string, RawImage>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  async get(key: string, sample: Sample): Promise<RawImage> {
    const known = this.images.get(key);
    if (known !== undefined) return known;
    const image = await sample.decode();
    if (this.bytes + image.data.byteLength <= this.budget) {
      this.images.set(key, image);
      this.bytes += image.data.byteLength;
    }
    return image;
  }
}

/**
 * A split's samples (all of them, or `limit` evenly spaced through the split: datasets often list one
 * class after another), targets in the same order, and pixels decoded on request.
 */
async function imageSplit(dataset: Dataset, split: string, limit: number | undefined, cache: DecodedImages): Promise<ImageSplit> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  const chosen =
    limit === undefined || limit >= samples.length
      ? samples
      : Array.from({ length: limit }, (_, index) => samples[Math.floor((index * samples.length) / limit)]!);
  const task = dataset.task;
  const targets =
    task.type === 'multilabel'
      ? (() => {
          const labels = task.labels.length;
          const data = new Uint8Array(chosen.length * labels);
          chosen.forEach((sample, row) => {
            if (!(sample.target instanceof Uint8Array) || sample.target.length !== labels) {
              throw new Error(`${dataset.id}/${split} ${sample.id}: expected ${labels} label flags, got ${String(sample.target)}`);
            }
            data.set(sample.target, row * labels);
          });
          return { type: 'labels' as const, data, shape: [chosen.length, labels] as const };
        })()
      : { type: 'class' as const, data: Int32Array.from(chosen, (sample) => sample.target as number), shape: [chosen.length] as const };
  return {
    ids: chosen.map((sample) => sample.id),
    targets,
    image: (row) => {
      const sample = chosen[row];
      if (sample === undefined) return Promise.reject(new RangeError(`${dataset.id}/${split}: no row ${row} among ${chosen.length}`));
      return cache.get(`${split}\u0000${sample.id}`, sample);
    },
  };
}
