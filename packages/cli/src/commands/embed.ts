import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { batches, outputCount } from '@medssl/core';
import { parseShard, type ShardSpec } from '@medssl/store';
import { copyFeatureSet, defaultFeatureStore, defaultWorkerCount, embedBatches, extractFeatureSets, InterruptedExtractionError, backboneModel, type ExtractionEvent, type FeatureModel, type LazyWeights, type PipelineStats } from '@medssl/store';
import { onnxModelEmbedder, onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone, CanonicalWeights, Dataset, Embedder, Preprocessing, TargetArray } from '@medssl/spec';
import { integerOption, numberList, required } from '../arguments.js';
import { loadWeights, resolveBackbone, BACKBONE_IDS } from '../backbones.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { openDataset } from '../datasets.js';
import { slug } from '../file-names.js';
import { createProgress, type Progress } from '../progress.js';

const usage = `Usage
  medssl embed --dataset ID --root DIR --split NAME --backbone ID [--weights FILE] [--out DIR] [options]
  medssl embed ... --backbone ID --backbone ID2 [--weights ID=FILE ...] [--out DIR]

Embeds one split of a dataset with a pretrained backbone into the feature store, or reuses what the store
holds when nothing the features depend on has changed, and prints the feature-set folder: features.npy
(float32 [N, D]), targets.npy, ids.json, manifest.json (numpy reads them as they are).

Several --backbone: backbones that preprocess alike (supervised, SwAV and random ResNet-50 do) are embedded
in one pass over the split, each image decoded once for all of them; each gets its own feature set, and
its folder is printed on its own line, in the order given. --weights then names its backbone (ID=FILE), and
--out DIR gets one folder per backbone.

Stored features are keyed by dataset id and version, split, rows, backbone, weights SHA-256, every
preprocessing field, runtime and precision. Work is saved in durable chunks: a run killed at any moment
continues with --resume, and gives the same features.npy byte for byte.

Options
  --store DIR           the feature store; default $MEDSSL_STORE, else ~/.cache/medssl/features
  --out DIR             also copy the finished feature set into DIR
  --resume              continue an interrupted extraction of the same features from its last durable chunk
  --restart             discard an interrupted extraction of the same features and start over
  --shard I/N           embed only part I of N (0-based) of the rows, e.g. --shard $JOB_COMPLETION_INDEX/8;
                        join the parts with "medssl features merge"
  --chunk-rows N        rows per durable chunk, default 1024 (shards and resumed runs use the same)
  --device cpu|cuda     where inference runs, default cpu; cuda needs onnxruntime-node's CUDA provider
  --threads N           inference threads, default onnxruntime's (one per physical core)
  --workers N           preprocessing worker threads, default ${defaultWorkerCount()} here (a quarter of the cores, at least 1)
  --runtime onnx        the runtime (onnxruntime-node); default onnx
  --batch N             images per inference call, default 16
  --limit N             embed only the first N samples of the split
  --resize N            resize the shorter side to N instead of the backbone's default
  --crop N              centre crop N x N instead of the backbone's default
  --seed N              seed of random:* weights, default 0
  --output-name NAME    (onnx:<path> backbones) the model output holding the embedding
  --mean R,G,B --std R,G,B  (onnx:<path>) normalisation of the model's input

Backbones: ${BACKBONE_IDS.join(', ')}, onnx:<path>
`;

export const embedCommand: Command = {
  name: 'embed',
  summary: 'embed a dataset split with a pretrained backbone into the feature store (cached, resumable, shardable)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dataset: { type: 'string' },
        root: { type: 'string' },
        split: { type: 'string' },
        backbone: { type: 'string', multiple: true },
        weights: { type: 'string', multiple: true },
        out: { type: 'string' },
        store: { type: 'string' },
        resume: { type: 'boolean', default: false },
        restart: { type: 'boolean', default: false },
        shard: { type: 'string' },
        'chunk-rows': { type: 'string' },
        device: { type: 'string', default: 'cpu' },
        runtime: { type: 'string', default: 'onnx' },
        batch: { type: 'string' },
        threads: { type: 'string' },
        workers: { type: 'string' },
        limit: { type: 'string' },
        resize: { type: 'string' },
        crop: { type: 'string' },
        seed: { type: 'string' },
        'output-name': { type: 'string' },
        mean: { type: 'string' },
        std: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (values.runtime !== 'onnx') throw new UsageError(`--runtime ${values.runtime} is not available here; use onnx`);
    if (values.device !== 'cpu' && values.device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got "${values.device}"`);
    if (values.resume && values.restart) throw new UsageError('--resume and --restart exclude each other');
    const batchSize = integerOption(values.batch, 'batch') ?? 16;
    const threads = integerOption(values.threads, 'threads');
    const workers = integerOption(values.workers, 'workers') ?? defaultWorkerCount();
    const limit = integerOption(values.limit, 'limit');
    const chunkRows = integerOption(values['chunk-rows'], 'chunk-rows') ?? 1024;
    let shard: ShardSpec | undefined;
    if (values.shard !== undefined) {
      try {
        shard = parseShard(values.shard);
      } catch (error) {
        throw new UsageError(`--shard: ${(error as Error).message}`);
      }
    }
    const seed = integerOption(values.seed, 'seed', 0) ?? 0;
    const datasetId = required(values.dataset, 'dataset');
    const root = required(values.root, 'root');
    const backboneIds = values.backbone ?? [];
    if (backboneIds.length === 0) throw new UsageError('--backbone is required');
    const repeated = backboneIds.find((id, index) => backboneIds.indexOf(id) !== index);
    if (repeated) throw new UsageError(`--backbone ${repeated} is given twice`);
    const weightsFiles = weightsByBackbone(backboneIds, values.weights ?? []);
    const split = required(values.split, 'split');
    const store = resolve(values.store ?? defaultFeatureStore());
    const out = values.out === undefined ? undefined : resolve(values.out);
    const runtimeOptions = { ...(threads ? { threads } : {}), device: values.device };

    const models: FeatureModel[] = [];
    for (const backboneId of backboneIds) {
      if (backboneId.startsWith('onnx:')) {
        const path = backboneId.slice('onnx:'.length);
        const outputName = required(values['output-name'], 'output-name');
        const preprocessing = overridePreprocessing(
          {
            resize: { size: 256, interpolation: 'bilinear' },
            centerCrop: 224,
            ...(values.mean || values.std ? { normalize: { mean: triple(values.mean, 'mean'), std: triple(values.std, 'std') } } : {}),
            channels: 3,
          },
          values.resize,
          values.crop,
        );
        if (weightsFiles.get(backboneId) !== undefined) throw new UsageError(`${backboneId} takes no --weights: the model file holds them`);
        models.push({
          backboneId,
          embedding: `output:${outputName}`,
          weightsSha256: await fileSha256(path),
          preprocessing,
          runtimeId: 'onnx',
          precision: 'float32',
          open: () => onnxModelEmbedder(path, { outputName, preprocessing, spinning: false, ...runtimeOptions }),
        });
      } else {
        const backbone = resolveBackbone(backboneId);
        const weights = await loadWeights(backbone, weightsFiles.get(backboneId), seed);
        const preprocessing = overridePreprocessing(backbone.preprocessing, values.resize, values.crop);
        // Decoding and preprocessing share the cores between inference calls: idle inference threads must not spin.
        models.push(backboneModel({ backbone, weights, runtime: onnxRuntime({ spinning: false }), runtimeOptions, preprocessing }));
      }
    }

    const dataset = await openDataset(datasetId, root);
    if (!dataset.splits.includes(split)) throw new UsageError(`${dataset.id} has no split "${split}"; its splits are ${dataset.splits.join(', ')}`);
    const label = `${dataset.id}/${split}${shard ? ` [${shard.index}/${shard.count}]` : ''}`;
    const folders: string[] = [];
    try {
      // Backbones that preprocess alike share a pass; the groups run one after another.
      for (const group of groupByPreprocessing(models)) {
        const results = await extractFeatureSets({
          dataset,
          split,
          models: group,
          store,
          ...(limit !== undefined ? { limit } : {}),
          ...(shard ? { shard } : {}),
          chunkRows,
          batchSize,
          workers,
          interrupted: values.resume ? 'resume' : values.restart ? 'restart' : 'refuse',
          onEvent: passReporters(label, group.map((model) => model.backboneId), io),
        });
        for (const [position, result] of results.entries()) folders[models.indexOf(group[position]!)] = result.folder;
      }
    } catch (error) {
      if (error instanceof InterruptedExtractionError) {
        throw new Error(`${error.message}; run again with --resume to continue from it, or with --restart to discard it`);
      }
      throw explainDevice(error, values.device);
    }
    if (out !== undefined) {
      for (const [position, folder] of folders.entries()) {
        const target = models.length === 1 ? out : join(out, slug(models[position]!.backboneId));
        await copyFeatureSet(folder, target);
        folders[position] = target;
      }
    }
    for (const issue of dataset.issues?.() ?? []) io.stderr(`note: ${issue.message}\n`);
    for (const folder of folders) io.stdout(`${folder}\n`);
    return 0;
  },
};

/**
 * Turns extraction events into lines on standard error and a progress bar (or periodic lines). `bar` says, when computing starts, whether this
 * extraction draws the bar (with what label): of models embedded in one pass, one does.
 */
function reporter(label: string, io: CommandIo, bar: () => string | undefined = () => label): (event: ExtractionEvent) => void {
  let progress: Progress | undefined;
  let provider = '';
  let resumedRows = 0;
  return (event) => {
    switch (event.type) {
      case 'reused':
        io.stderr(`reusing stored features: ${event.count} x ${event.dimension} in ${event.folder} (key ${event.key.slice(0, 16)}, made ${event.created}); nothing to compute\n`);
        break;
      case 'stored-damaged':
        io.stderr(`stored features in ${event.folder} fail their checks (${event.problems.join('; ')}); computing them again\n`);
        break;
      case 'resuming':
        resumedRows = event.rowsDone;
        io.stderr(`resuming ${event.folder}: ${event.chunksDone} of ${event.chunksTotal} chunks durable (${event.rowsDone} of ${event.rowsTotal} rows)\n`);
        break;
      case 'chunk-invalid':
        io.stderr(`chunk ${event.chunk} (rows ${event.rows.start}..${event.rows.end - 1}) is not usable: ${event.reason}; recomputing it\n`);
        break;
      case 'started':
        provider = event.provider;
        io.stderr(`embedding ${event.rowsToCompute} of ${event.rowsTotal} rows into ${event.folder} on ${event.provider} (${event.workers} preprocessing worker${event.workers === 1 ? '' : 's'})\n`);
        {
          const barLabel = bar();
          if (barLabel !== undefined) progress = createProgress(barLabel, event.rowsTotal, io.stderr, { initial: resumedRows });
        }
        break;
      case 'progress':
        progress?.update(event.rowsDone);
        break;
      case 'chunk-written':
        break;
      case 'completed':
        progress?.finish();
        io.stderr(`wrote ${event.count} x ${event.dimension} features to ${event.folder}${provider ? ` (inference on ${provider})` : ''}\n`);
        break;
    }
  };
}

/**
 * Each backbone's weights file: with one backbone, `--weights FILE`; with several, `--weights ID=FILE` for each
 * backbone that takes a file.
 */
function weightsByBackbone(backboneIds: readonly string[], given: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  if (backboneIds.length === 1) {
    if (given.length > 1) throw new UsageError(`--weights is given ${given.length} times for one backbone`);
    if (given[0] !== undefined) files.set(backboneIds[0]!, given[0]);
    return files;
  }
  for (const entry of given) {
    const split = entry.indexOf('=');
    const id = entry.slice(0, split);
    if (split < 1 || !backboneIds.includes(id)) {
      throw new UsageError(`--weights ${JSON.stringify(entry)}: with several backbones, name the one it is for: --weights ID=FILE, ID one of ${backboneIds.join(', ')}`);
    }
    if (files.has(id)) throw new UsageError(`--weights for ${id} is given twice`);
    files.set(id, entry.slice(split + 1));
  }
  return files;
}

/** Models in groups that preprocess alike, in the order of their first model. */
function groupByPreprocessing(models: readonly FeatureModel[]): FeatureModel[][] {
  const groups = new Map<string, FeatureModel[]>();
  for (const model of models) {
    const key = JSON.stringify(model.preprocessing);
    groups.set(key, [...(groups.get(key) ?? []), model]);
  }
  return [...groups.values()];
}

/**
 * Reporters for models embedded in one pass: each model's lines, and one progress bar, drawn by the first
 * model that computes (the others advance with it).
 */
function passReporters(label: string, backboneIds: readonly string[], io: CommandIo): (event: ExtractionEvent, model: number) => void {
  let barOwner: number | undefined;
  const reporters = backboneIds.map((id, position) =>
    reporter(`${label} × ${id}`, io, () => {
      barOwner ??= position;
      if (barOwner !== position) return undefined;
      return backboneIds.length > 1 ? `${label} × ${id} (+${backboneIds.length - 1} in the same pass)` : `${label} × ${id}`;
    }),
  );
  return (event, model) => reporters[model]!(event);
}

/** A CUDA request that fails gets the way to install the provider, whatever the runtime said. */
function explainDevice(error: unknown, device: string): unknown {
  if (device !== 'cuda' || !(error instanceof Error) || error.message.includes('ONNXRUNTIME_NODE_INSTALL_CUDA')) return error;
  return new Error(
    `${error.message}. --device cuda needs onnxruntime-node's CUDA execution provider: allow its install script ` +
      '(pnpm-workspace.yaml: allowBuilds: { onnxruntime-node: true }) and reinstall with ONNXRUNTIME_NODE_INSTALL_CUDA=1, on a machine with an NVIDIA driver, CUDA 12 and cuDNN 9',
    { cause: error },
  );
}

function triple(text: string | undefined, option: string): [number, number, number] {
  const values = numberList(required(text, option), option, []);
  if (values.length !== 3) throw new UsageError(`--${option} needs 3 comma-separated values (R,G,B), got ${values.length}`);
  return values as [number, number, number];
}

export function overridePreprocessing(base: Preprocessing, resize: string | number | undefined, crop: string | number | undefined): Preprocessing {
  const size = integerOption(resize, 'resize');
  const cropSize = integerOption(crop, 'crop');
  return {
    ...base,
    ...(size !== undefined ? { resize: { size, interpolation: base.resize?.interpolation ?? 'bilinear' } } : {}),
    ...(cropSize !== undefined ? { centerCrop: cropSize } : {}),
  };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) hash.update(piece);
  } catch (error) {
    throw new Error(`onnx:${path}: cannot read the model file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return hash.digest('hex');
}

/** A backbone with its weights file (or random seed), and the weights themselves when the caller has them already. */
export interface ExtractSplitBackbone {
  readonly backbone: Backbone;
  readonly weightsPath: string | undefined;
  readonly seed: number;
  /** The backbone's weights when the caller has them already (a grid uses each backbone for every split). */
  readonly weights?: CanonicalWeights;
}

/** What the experiment runner asks for one split (the fields of its `ExtractRequest`). */
export interface ExtractSplitRequest extends ExtractSplitBackbone {
  readonly dataset: Dataset;
  readonly split: string;
  /** More backbones that preprocess like `backbone` (after `resize`/`crop`): embedded in the same pass, each image decoded once. */
  readonly companions?: readonly ExtractSplitBackbone[];
  readonly settings: { readonly limit?: number; readonly batch?: number; readonly threads?: number; readonly workers?: number; readonly resize?: number; readonly crop?: number };
  readonly io: CommandIo;
  readonly signal?: AbortSignal;
  /** Default `defaultFeatureStore()`. */
  readonly store?: string;
  readonly device?: 'cpu' | 'cuda';
}

export interface ExtractedSplitFolder {
  readonly folder: string;
  readonly reused: boolean;
  readonly key: string;
}

/**
 * One split into the feature store, for the experiment runner: reuses stored features when the key matches,
 * resumes an interrupted extraction of the same key, and shows progress on `io.stderr`. Companions that
 * preprocess like the backbone are embedded in the same pass; the others are left out of `companions`.
 */
export async function extractSplit(request: ExtractSplitRequest): Promise<ExtractedSplitFolder & { companions?: (ExtractedSplitFolder | undefined)[] }> {
  const { settings } = request;
  const modelOf = async (entry: ExtractSplitBackbone) => {
    const weights = entry.weights ?? (await loadWeights(entry.backbone, entry.weightsPath, entry.seed));
    return backboneModel({
      backbone: entry.backbone,
      weights,
      runtime: onnxRuntime({ spinning: false }),
      runtimeOptions: { ...(settings.threads ? { threads: settings.threads } : {}), device: request.device ?? 'cpu' },
      preprocessing: overridePreprocessing(entry.backbone.preprocessing, settings.resize, settings.crop),
    });
  };
  const lead = await modelOf(request);
  const companions: { entry: ExtractSplitBackbone; model: FeatureModel }[] = [];
  for (const entry of request.companions ?? []) {
    const model = await modelOf(entry);
    if (JSON.stringify(model.preprocessing) === JSON.stringify(lead.preprocessing)) companions.push({ entry, model });
  }
  const entries = [request, ...companions.map(({ entry }) => entry)];
  const results = await extractFeatureSets({
    dataset: request.dataset,
    split: request.split,
    models: [lead, ...companions.map(({ model }) => model)],
    store: request.store ?? defaultFeatureStore(),
    ...(settings.limit !== undefined ? { limit: settings.limit } : {}),
    ...(settings.batch !== undefined ? { batchSize: settings.batch } : {}),
    ...(settings.workers !== undefined ? { workers: settings.workers } : {}),
    interrupted: 'resume',
    onEvent: passReporters(`${request.dataset.id}/${request.split}`, entries.map((entry) => entry.backbone.id), request.io),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const folders = results.map((result) => ({ folder: result.folder, reused: result.reused, key: result.key }));
  if (!request.companions?.length) return folders[0]!;
  // In the request's order, undefined for those that preprocess differently (the runner extracts them alone).
  const answered = new Map(companions.map(({ entry }, position) => [entry, folders[position + 1]!]));
  return { ...folders[0]!, companions: request.companions.map((entry) => answered.get(entry)) };
}

/**
 * Embeds a split in memory through the streaming pipeline (worker-thread preprocessing, bounded read-ahead),
 * without the store: for benchmarks and callers that want arrays rather than a folder. Features, targets and
 * ids come in the split's order.
 */
export async function embedSplit(
  dataset: Dataset,
  split: string,
  embedder: Embedder,
  preprocessing: Preprocessing,
  options: { batchSize: number; limit?: number; io: CommandIo; signal?: AbortSignal; workers?: number; depth?: number; stats?: PipelineStats },
): Promise<{ features: { data: Float32Array; shape: [number, number] }; targets: TargetArray; ids: string[] }> {
  const size = await dataset.size(split);
  const count = Math.min(size, options.limit ?? size);
  const features = new Float32Array(count * embedder.dimension);
  const labels = dataset.task.type === 'multilabel' ? outputCount(dataset.task) : 0;
  const classTargets = new Int32Array(labels ? 0 : count);
  const labelTargets = new Uint8Array(count * labels);
  const ids: string[] = [];
  const progress = createProgress(`${dataset.id}/${split} × ${embedder.backboneId}`, count, options.io.stderr);
  let row = 0;
  for await (const { samples, features: batch } of embedBatches({
    embedder,
    preprocessing,
    batches: batches(dataset.samples(split, { end: count, ...(options.signal ? { signal: options.signal } : {}) }), options.batchSize),
    batchSize: options.batchSize,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.depth !== undefined ? { depth: options.depth } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stats ? { stats: options.stats } : {}),
  })) {
    features.set(batch, row * embedder.dimension);
    for (const sample of samples) {
      if (typeof sample.target === 'number') classTargets[row] = sample.target;
      else labelTargets.set(sample.target, row * labels);
      ids.push(sample.id);
      row++;
    }
    progress.update(row);
  }
  progress.finish();
  const targets: TargetArray = labels ? { type: 'labels', data: labelTargets, shape: [count, labels] } : { type: 'class', data: classTargets, shape: [count] };
  return { features: { data: features, shape: [count, embedder.dimension] }, targets, ids };
}
