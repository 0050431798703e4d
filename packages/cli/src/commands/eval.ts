import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FRACTIONS, assertFraction, assertSeed, evaluateLabelFractions, outputCount } from '@medssl/core';
import { readFeatureSet } from '@medssl/core/node';
import {
  DEFAULT_BACKBONE_LEARNING_RATE,
  DEFAULT_BATCH_SIZE,
  DEFAULT_EPOCHS,
  DEFAULT_HEAD_LEARNING_RATE,
  DEFAULT_PATIENCE,
  MODALITIES,
  defaultModality,
  estimateSeconds,
  finetune,
  finetuneLabelFractions,
  formatSeconds,
  fullDatasetSizes,
  measureThroughput,
  resolveSettings,
  scaleThroughput,
  type FinetuneBackboneFactory,
  type ImageSplit,
  type Modality,
} from '@medssl/protocol-finetune';
import { fileCheckpointStore } from '@medssl/protocol-finetune/node';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import { TfjsBackendError, createTfjsModel, useTfjsBackend, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { CanonicalWeights, Dataset, FeatureSet, Protocol, RawImage, Sample } from '@medssl/spec';
import { numberList, required } from '../arguments.js';
import { BACKBONE_IDS, loadWeights, resolveBackbone } from '../backbones.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { openDataset } from '../datasets.js';
import { markdownSummary } from '../report-table.js';
import { featureSetSource, writeEvaluationDocument } from '../results.js';
import { overridePreprocessing } from './embed.js';

const usage = `Usage
  medssl eval linear|knn --train DIR --val DIR --test DIR --out FILE.json [options]
  medssl eval finetune --dataset ID --root DIR --backbone ID [--weights FILE] --out FILE.json [options]

Evaluates frozen features (feature-set folders written by "medssl embed") at label fractions and seeds.
The task comes from the feature sets' manifests. Subset index files are written beside FILE.json.

Options
  --fractions LIST   label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST       seeds, default 0
  --k LIST           (knn) neighbour counts to choose from, default 10,20,100,200
  --temperature T    (knn) vote temperature, default 0.07
  --out FILE.json    results: config, versions, one row per fraction and seed, mean ± std per fraction

Finetuning (images, TensorFlow.js): the backbone plus a linear head trained with AdamW (one learning rate
for each), warm-up and cosine schedule, early stopping on the validation primary metric, random resized
crops and the modality's flips and rotations. Before training it times a few steps and prints how long the
requested run and the full-size run (full dataset, 224x224) would take on this runtime.
  --dataset ID           pcam, aptos, chestxray14, chestxray14:pneumonia, pneumonia, medmnist:<flag>, folder
  --root DIR             the dataset's folder (a CSV file for folder)
  --backbone ID          ${BACKBONE_IDS.join(', ')}
  --weights FILE         the backbone's checkpoint (random:* take none: --weights-seed draws them)
  --weights-seed N       seed of random:* weights, default 0
  --fractions LIST       label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST           seeds, default 0
  --epochs N             epochs at most, default ${DEFAULT_EPOCHS}
  --patience N           epochs without a better validation metric before stopping, default ${DEFAULT_PATIENCE}
  --batch N              training images per step, default ${DEFAULT_BATCH_SIZE}
  --backbone-lr X        peak learning rate of the backbone, default ${DEFAULT_BACKBONE_LEARNING_RATE}
  --head-lr X            peak learning rate of the head, default ${DEFAULT_HEAD_LEARNING_RATE}
  --frozen-stages N      keep the stem (0) and the first N stages (ResNet) or blocks (ViT) fixed; default none
  --resize N --crop N    shorter side and centre crop instead of the backbone's (256, 224); the crop is the
                         training input size too, e.g. --resize 64 --crop 64 for a quick run on a CPU
  --modality M           ${MODALITIES.join(', ')}: which flips and rotations; default by dataset
                         (pcam: pathology; aptos, medmnist:retinamnist: fundus; chest X-ray sets: chest-xray)
  --runtime R            tfjs-wasm (default; CPU), tfjs-webgpu (GPU; in Node it needs navigator.gpu, e.g. the
                         "webgpu" package), tfjs-cpu (plain JavaScript, tests only)
  --limit N              use N images of each split, evenly spaced through it (for quick runs)
  --eval-limit N         use N images of val and of test (every epoch scores val: on a CPU, the full
                         32,768 PCam validation patches take longer than training at 1 %)
  --checkpoint-dir DIR   save every epoch there (one folder per fraction and seed)
  --resume               continue the runs saved in --checkpoint-dir; finished runs are not repeated
  --estimate-only        print the time estimate and stop
  --estimate-steps N     training steps timed for the estimate (after one untimed), default 2
  --full-estimate M      scale (default): extrapolate the full-size time from the requested size (rough
                         below 64x64); measure: time steps at 224x224 too (a few minutes on a CPU)
`;

type ProtocolName = 'linear' | 'knn';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate stored features (linear probe, kNN) or finetune on images, at label fractions and seeds',
  usage,
  async run(argv, io) {
    if (argv[0] === 'finetune') return runFinetuneCommand(argv.slice(1), io);
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        train: { type: 'string' },
        val: { type: 'string' },
        test: { type: 'string' },
        out: { type: 'string' },
        fractions: { type: 'string' },
        seeds: { type: 'string' },
        k: { type: 'string' },
        temperature: { type: 'string' },
      },
    });
    const [protocolName, ...extra] = positionals;
    if (protocolName !== 'linear' && protocolName !== 'knn') {
      throw new UsageError(
        `expected "linear" or "knn" after "eval", got ${protocolName === undefined ? 'nothing' : JSON.stringify(protocolName)} (or "finetune" first, which trains on images)`,
      );
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    if (protocolName === 'linear' && (values.k !== undefined || values.temperature !== undefined)) {
      throw new UsageError('--k and --temperature apply to knn only');
    }
    const folders = { train: required(values.train, 'train'), val: required(values.val, 'val'), test: required(values.test, 'test') };
    const out = resolve(required(values.out, 'out'));
    const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
    const seeds = numberList(values.seeds, 'seeds', [0]);
    const protocolOptions =
      protocolName === 'knn'
        ? { ...(values.k ? { ks: numberList(values.k, 'k', []) } : {}), ...(values.temperature ? { temperature: numberList(values.temperature, 'temperature', [])[0]! } : {}) }
        : {};
    const protocol: Protocol = protocolName === 'knn' ? knnProbe(protocolOptions) : linearProbe();

    const [train, val, test] = await Promise.all([readFeatureSet(folders.train), readFeatureSet(folders.val), readFeatureSet(folders.test)]);
    checkCompatible({ train, val, test }, folders);
    const task = train.manifest.task;
    io.stderr(`${protocolName} on ${train.manifest.dataset.id} × ${train.manifest.backbone}: ${train.ids.length} train, ${val.ids.length} val, ${test.ids.length} test rows; ${fractions.length} fractions × ${seeds.length} seeds\n`);
    const started = Date.now();
    const result = await evaluateLabelFractions({
      protocol,
      input: { task, train, val, test },
      pool: train,
      dataset: train.manifest.dataset.id,
      fractions,
      seeds,
      onRow: (row, done, total) => {
        const primary = row.metrics[task.primaryMetric];
        io.stderr(`  [${done}/${total}] fraction ${row.fraction}, seed ${row.seed}: ${task.primaryMetric} ${primary?.toFixed(4)} (${row.trainCount} training rows, ${JSON.stringify(row.selected)})\n`);
      },
    });
    await writeEvaluationDocument(out, {
      protocol: protocolName,
      protocolOptions,
      source: featureSetSource({ train, val, test }, folders),
      fractions,
      seeds,
      result,
      elapsedMilliseconds: Date.now() - started,
    });
    io.stdout(markdownSummary(task.primaryMetric, result.summary, `${protocolName} · ${train.manifest.dataset.id} · ${train.manifest.backbone}`));
    io.stderr(`wrote ${out}\n`);
    return 0;
  },
};

/** Checks that the three splits' feature sets come from the same dataset, task and backbone. */
export function checkCompatible(sets: Record<'train' | 'val' | 'test', FeatureSet>, folders: Record<string, string>): void {
  const reference = sets.train.manifest;
  for (const split of ['val', 'test'] as const) {
    const manifest = sets[split].manifest;
    const where = `${folders[split]} (--${split})`;
    if (manifest.dimension !== reference.dimension) throw new Error(`${where} has ${manifest.dimension}-d features, ${folders.train} (--train) ${reference.dimension}-d`);
    if (JSON.stringify(manifest.task) !== JSON.stringify(reference.task)) throw new Error(`${where} has a different task than ${folders.train} (--train)`);
    if (manifest.backbone !== reference.backbone || manifest.weightsSha256 !== reference.weightsSha256) {
      throw new Error(`${where} was embedded by ${manifest.backbone} (weights ${manifest.weightsSha256.slice(0, 12)}), --train by ${reference.backbone} (weights ${reference.weightsSha256.slice(0, 12)})`);
    }
    if (manifest.dataset.id !== reference.dataset.id) throw new Error(`${where} is from dataset ${manifest.dataset.id}, --train from ${reference.dataset.id}`);
  }
}

const TFJS_RUNTIMES: Readonly<Record<string, TfjsBackendName>> = { 'tfjs-wasm': 'wasm', 'tfjs-webgpu': 'webgpu', 'tfjs-cpu': 'cpu' };
/** Decoded images kept in memory at most, so that later epochs do not decode again. */
const DECODED_CACHE_BYTES = 1024 ** 3;
/** The input side of the full-size estimate: the papers' 224x224. */
const FULL_SIZE_INPUT = 224;

/** `medssl eval finetune`: trains backbone + head on images at label fractions and seeds. */
async function runFinetuneCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dataset: { type: 'string' },
      root: { type: 'string' },
      backbone: { type: 'string' },
      weights: { type: 'string' },
      'weights-seed': { type: 'string' },
      fractions: { type: 'string' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      batch: { type: 'string' },
      'backbone-lr': { type: 'string' },
      'head-lr': { type: 'string' },
      'frozen-stages': { type: 'string' },
      resize: { type: 'string' },
      crop: { type: 'string' },
      modality: { type: 'string' },
      runtime: { type: 'string', default: 'tfjs-wasm' },
      limit: { type: 'string' },
      'eval-limit': { type: 'string' },
      'checkpoint-dir': { type: 'string' },
      resume: { type: 'boolean', default: false },
      'estimate-only': { type: 'boolean', default: false },
      'estimate-steps': { type: 'string' },
      'full-estimate': { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const integer = (option: string, minimum: number): number | undefined => {
    const text = values[option as keyof typeof values] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < minimum) throw new UsageError(`--${option} must be an integer of at least ${minimum}, got "${text}"`);
    return value;
  };
  const positive = (option: string): number | undefined => {
    const text = values[option as keyof typeof values] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(value >= 0) || !Number.isFinite(value) || text.trim() === '') throw new UsageError(`--${option} must be a non-negative number, got "${text}"`);
    return value;
  };
  const runtimeName = values.runtime!;
  const tfjsBackend = TFJS_RUNTIMES[runtimeName];
  if (tfjsBackend === undefined) throw new UsageError(`--runtime ${runtimeName} cannot finetune; use one of ${Object.keys(TFJS_RUNTIMES).join(', ')}`);
  const datasetId = required(values.dataset, 'dataset');
  const root = required(values.root, 'root');
  const backboneId = required(values.backbone, 'backbone');
  if (backboneId.startsWith('onnx:')) throw new UsageError(`${backboneId}: an ONNX model cannot train here; finetune one of ${BACKBONE_IDS.join(', ')}`);
  const out = values['estimate-only'] ? undefined : resolve(required(values.out, 'out'));
  const modality = values.modality ?? defaultModality(datasetId);
  if (!MODALITIES.includes(modality as Modality)) throw new UsageError(`--modality must be one of ${MODALITIES.join(', ')}, got "${modality}"`);
  if (values.resume && values['checkpoint-dir'] === undefined) throw new UsageError('--resume needs --checkpoint-dir: the folder the runs were saved in');
  const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
  const seeds = numberList(values.seeds, 'seeds', [0]);
  fractions.forEach((fraction) => assertFraction(fraction));
  seeds.forEach((seed) => assertSeed(seed));
  const limit = integer('limit', 1);
  const evalLimit = integer('eval-limit', 1);
  const frozenStages = integer('frozen-stages', 0);
  const weightsSeed = integer('weights-seed', 0) ?? 0;
  const estimateSteps = integer('estimate-steps', 1) ?? 2;
  const fullEstimate = values['full-estimate'] ?? 'scale';
  if (fullEstimate !== 'measure' && fullEstimate !== 'scale') throw new UsageError(`--full-estimate must be measure or scale, got "${fullEstimate}"`);

  const backbone = resolveBackbone(backboneId);
  if (values['weights-seed'] !== undefined && backbone.method !== 'random') throw new UsageError(`--weights-seed draws random:* weights; ${backbone.id} takes --weights FILE`);
  const preprocessing = overridePreprocessing(backbone.preprocessing, values.resize, values.crop);
  const fullSizePreprocessing = overridePreprocessing(backbone.preprocessing, undefined, FULL_SIZE_INPUT);
  const settings = resolveSettings({
    preprocessing,
    modality: modality as Modality,
    ...optional('epochs', integer('epochs', 1)),
    ...optional('patience', integer('patience', 1)),
    ...optional('batchSize', integer('batch', 1)),
    ...optional('backboneLearningRate', positive('backbone-lr')),
    ...optional('headLearningRate', positive('head-lr')),
  });
  try {
    await useTfjsBackend(tfjsBackend);
  } catch (error) {
    if (error instanceof TfjsBackendError) throw new Error(`--runtime ${runtimeName}: ${error.message}`);
    throw error;
  }
  // A missing or superfluous --weights is a usage error, found now rather than when the first run starts.
  if (backbone.method === 'random' ? values.weights !== undefined : values.weights === undefined) await loadWeights(backbone, values.weights, weightsSeed);
  // Weights load on first use: a run resumed from a finished checkpoint, or refused, needs none.
  let weightsLoading: Promise<CanonicalWeights> | undefined;
  const weights = () => (weightsLoading ??= loadWeights(backbone, values.weights, weightsSeed));
  const createBackbone: FinetuneBackboneFactory = async (tensors) => {
    const initial = await weights();
    return createTfjsModel(backbone, tensors ? { ...initial, tensors } : initial, frozenStages === undefined ? {} : { frozenStages });
  };
  const backboneIdentity = `${backbone.id}, ${values.weights === undefined ? `random weights, seed ${weightsSeed}` : `weights ${resolve(values.weights)}`}${frozenStages === undefined ? '' : `, frozen stages ${frozenStages}`}`;

  const dataset = await openDataset(datasetId, root);
  for (const split of ['train', 'val', 'test']) {
    if (!dataset.splits.includes(split)) throw new Error(`${dataset.id} at ${root} has no "${split}" split (it has ${dataset.splits.join(', ')}); finetuning needs train, val and test`);
  }
  const cache = new DecodedImages(DECODED_CACHE_BYTES);
  const [train, val, test] = await Promise.all((['train', 'val', 'test'] as const).map((split) => imageSplit(dataset, split, split === 'train' ? limit : (evalLimit ?? limit), cache)));
  if (values.modality === undefined && modality === 'natural') {
    io.stderr(`note: no modality is known for dataset ${dataset.id}: crops and horizontal flips only; pass --modality pathology|fundus|chest-xray to add the flips and rotations those images allow\n`);
  }
  io.stderr(
    `finetune ${backbone.id} on ${dataset.id} (${runtimeName}, ${settings.modality} augmentations, input ${describeSize(preprocessing)}): ` +
      `${train!.ids.length} train, ${val!.ids.length} val, ${test!.ids.length} test images; ${fractions.length} fractions × ${seeds.length} seeds\n`,
  );

  // The estimate: a few timed steps with a throw-away copy of the model, multiplied out; printed before the
  // first run that trains.
  let estimate: object | undefined;
  const printEstimate = async () => {
    const sampleImages = await Promise.all(Array.from({ length: Math.min(settings.batchSize, train!.ids.length) }, (_, row) => train!.image(row)));
    const throughput = await measureThroughput({ backbone: createBackbone, preprocessing, task: dataset.task, images: sampleImages, modality: settings.modality, batchSize: settings.batchSize, steps: estimateSteps });
    const trainRows = fractions.flatMap((fraction) => seeds.map(() => Math.max(outputCount(dataset.task), Math.round(fraction * train!.ids.length))));
    const requested = estimateSeconds(throughput, { trainRows, val: val!.ids.length, test: test!.ids.length, epochs: settings.epochs });
    const fullSizes = fullDatasetSizes(dataset.id) ?? { train: await dataset.size('train'), val: await dataset.size('val'), test: await dataset.size('test'), note: `the splits at ${root}` };
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
      measured: { input: `${throughput.width}x${throughput.height}`, batch: throughput.batchSize, steps: throughput.steps, trainSecondsPerImage: throughput.trainSecondsPerImage, evaluationSecondsPerImage: throughput.evaluationSecondsPerImage },
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
  if (values['estimate-only']) {
    await explainMemory(printEstimate(), runtimeName);
    return 0;
  }

  const checkpointDir = values['checkpoint-dir'] === undefined ? undefined : resolve(values['checkpoint-dir']);
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
    ...(checkpointDir ? { checkpoints: fileCheckpointStore(checkpointDir), resume: values.resume } : {}),
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
  const result = await explainMemory(finetuneLabelFractions({
    protocol,
    input: { task: dataset.task, train: train!, val: val!, test: test! },
    dataset: dataset.id,
    fractions,
    seeds,
    onRunStart: (run, index, total) => io.stderr(`  [${index + 1}/${total}] fraction ${run.fraction}, seed ${run.seed}: ${run.trainCount} training images\n`),
    onRow: (row, run, done, total) => {
      const primary = row.metrics[dataset.task.primaryMetric];
      const origin = run.fromCheckpoint ? ', from its finished checkpoint' : '';
      io.stderr(`  [${done}/${total}] test ${dataset.task.primaryMetric} ${primary?.toFixed(4)} with epoch ${run.bestEpoch + 1}'s weights (${run.stop === 'patience' ? 'stopped early' : 'all epochs'}${origin})\n`);
    },
  }), runtimeName);
  await writeEvaluationDocument(out!, {
    protocol: 'finetune',
    protocolOptions: { ...settings, runtime: runtimeName, frozenStages: frozenStages ?? null, weightsSeed, limit: limit ?? null, evalLimit: evalLimit ?? null, checkpointDir: checkpointDir ?? null },
    source: {
      task: dataset.task,
      dataset: { id: dataset.id, version: dataset.version },
      backbone: backbone.id,
      weightsSha256: (await weights()).sha256,
      inputs: {
        train: { folder: resolve(root), split: 'train', count: train!.ids.length },
        val: { folder: resolve(root), split: 'val', count: val!.ids.length },
        test: { folder: resolve(root), split: 'test', count: test!.ids.length },
      },
    },
    fractions,
    seeds,
    result,
    elapsedMilliseconds: Date.now() - started,
    extra: { estimate: estimate ?? null, training: result.runs },
  });
  for (const issue of dataset.issues?.() ?? []) io.stderr(`note: ${issue.message}\n`);
  io.stdout(markdownSummary(dataset.task.primaryMetric, result.summary, `finetune · ${dataset.id} · ${backbone.id}`));
  io.stderr(`wrote ${out}\n`);
  return 0;
}

/** WebAssembly's out-of-memory failures say nothing of memory: name the cause and the way out. */
async function explainMemory<T>(work: Promise<T>, runtimeName: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/memory access out of bounds|Aborted\(\)|out of memory/i.test(message)) {
      throw new Error(`${message}: ${runtimeName} ran out of memory (WebAssembly holds 4 GiB at most; ResNet-50 at 224x224 trains at batch 2 there); lower --batch or --crop`, { cause: error });
    }
    throw error;
  }
}

function optional<Key extends string>(key: Key, value: number | undefined): Partial<Record<Key, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<Key, number>);
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
  const chosen = limit === undefined || limit >= samples.length ? samples : Array.from({ length: limit }, (_, index) => samples[Math.floor((index * samples.length) / limit)]!);
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
