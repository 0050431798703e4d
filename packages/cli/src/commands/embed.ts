import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { embeddingCost, groupByPreprocessing, loadBackboneWeights, overridePreprocessing, passReporters, slug, type Registry } from '@medssl/experiment';
import { onnxRuntime } from '@medssl/runtime-onnx';
import {
  backboneModel,
  copyFeatureSet,
  defaultFeatureStore,
  defaultWorkerCount,
  extractFeatureSets,
  InterruptedExtractionError,
  parseShard,
  type FeatureModel,
  type ShardSpec,
} from '@medssl/store';
import { datasetOptions, integerOption, numberList, required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';

const usageOf = (registry: Registry) => `Usage
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
  --dataset-option KEY=VALUE  an option of the dataset's plugin (see its README), repeatable
  --output-name NAME    (onnx:<path> backbones) the model output holding the embedding
  --mean R,G,B --std R,G,B  (onnx:<path>) normalisation of the model's input

Backbones: ${registry.backboneIds().join(', ')}
`;

export function embedCommand(registry: Registry): Command {
  return {
    name: 'embed',
    summary: 'embed a dataset split with a pretrained backbone into the feature store (cached, resumable, shardable)',
    usage: usageOf(registry),
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
          'dataset-option': { type: 'string', multiple: true },
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

      const resize = integerOption(values.resize, 'resize');
      const crop = integerOption(values.crop, 'crop');
      const models: FeatureModel[] = [];
      const costs = new Map<FeatureModel, string | undefined>();
      for (const backboneId of backboneIds) {
        const modelFile = backboneId.startsWith('onnx:');
        const backbone = registry.backbone(
          backboneId,
          modelFile
            ? {
                output: required(values['output-name'], 'output-name'),
                ...(values.mean || values.std ? { mean: triple(values.mean, 'mean'), std: triple(values.std, 'std') } : {}),
              }
            : {},
        );
        const weights = await loadBackboneWeights(backbone, weightsFiles.get(backboneId), seed);
        const preprocessing = overridePreprocessing(backbone.preprocessing, resize, crop);
        // Decoding and preprocessing share the cores between inference calls: idle inference threads must not spin.
        const model = backboneModel({ backbone, weights, runtime: onnxRuntime({ spinning: false }), runtimeOptions, preprocessing });
        models.push(model);
        costs.set(model, embeddingCost(backbone, preprocessing));
      }

      const dataset = await registry.openDataset(datasetId, root, datasetOptions(values['dataset-option']));
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
            onEvent: passReporters(
              label,
              group.map((model) => model.backboneId),
              io,
              group.map((model) => costs.get(model)),
            ),
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
      throw new UsageError(
        `--weights ${JSON.stringify(entry)}: with several backbones, name the one it is for: --weights ID=FILE, ID one of ${backboneIds.join(', ')}`,
      );
    }
    if (files.has(id)) throw new UsageError(`--weights for ${id} is given twice`);
    files.set(id, entry.slice(split + 1));
  }
  return files;
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
