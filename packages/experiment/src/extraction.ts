import { batches, inputShapeFromPreprocessing, outputCount } from '@medssl/core';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone, CanonicalWeights, Dataset, Embedder, Preprocessing, TargetArray } from '@medssl/spec';
import {
  backboneModel,
  defaultFeatureStore,
  embedBatches,
  extractFeatureSets,
  type ExtractionEvent,
  type FeatureModel,
  type PipelineStats,
} from '@medssl/store';
import type { Io } from './io.js';
import { multiplyAdds } from '@medssl/weights';
import { createProgress, formatDuration, type Progress } from './progress.js';
import { loadBackboneWeights } from './weights.js';

/** A backbone's preprocessing with another resize (shorter side) or centre crop, where given. */
export function overridePreprocessing(base: Preprocessing, size: number | undefined, cropSize: number | undefined): Preprocessing {
  return {
    ...base,
    ...(size !== undefined ? { resize: { size, interpolation: base.resize?.interpolation ?? 'bilinear' } } : {}),
    ...(cropSize !== undefined ? { centerCrop: cropSize } : {}),
  };
}

/**
 * What one image costs a backbone at the size its preprocessing gives, in words: `dinov2:rad-dino at
 * 518x518: 100.7 G multiply-adds per image, 5.6x its cost at 224x224` (the ratio where the size is not 224).
 * `undefined` for a model file, whose network medssl does not know.
 */
export function embeddingCost(backbone: Backbone, preprocessing: Preprocessing): string | undefined {
  const [, height, width] = inputShapeFromPreprocessing(preprocessing, backbone.id);
  const cost = multiplyAdds(backbone.architecture, height, width);
  if (cost === undefined) return undefined;
  const base = height === 224 && width === 224 ? undefined : multiplyAdds(backbone.architecture, 224, 224)!;
  const ratio = base === undefined ? '' : `, ${(cost / base).toFixed(1)}x its cost at 224x224`;
  return `${backbone.id} at ${height}x${width}: ${(cost / 1e9).toFixed(1)} G multiply-adds per image${ratio}`;
}

/**
 * Turns extraction events into lines on standard error and a progress bar (or periodic lines). `bar` says, when computing starts, whether this
 * extraction draws the bar (with what label): of models embedded in one pass, one does.
 */
export function extractionReporter(label: string, io: Io, bar: () => string | undefined = () => label, cost?: string): (event: ExtractionEvent) => void {
  let progress: Progress | undefined;
  let provider = '';
  let resumedRows = 0;
  return (event) => {
    switch (event.type) {
      case 'reused':
        io.stderr(
          `reusing stored features: ${event.count} x ${event.dimension} in ${event.folder} (key ${event.key.slice(0, 16)}, made ${event.created}); nothing to compute\n`,
        );
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
        io.stderr(
          `embedding ${event.rowsToCompute} of ${event.rowsTotal} rows into ${event.folder} on ${event.provider} (${event.workers} preprocessing worker${event.workers === 1 ? '' : 's'})\n`,
        );
        if (event.secondsPerImage !== undefined || cost !== undefined) {
          // Measured on one image before the run, so the estimate errs long: batches run faster per image.
          const time =
            event.secondsPerImage === undefined
              ? ''
              : `${event.secondsPerImage < 1 ? `${Math.round(event.secondsPerImage * 1000)} ms` : `${event.secondsPerImage.toFixed(1)} s`} per image on one image here, at most about ${formatDuration(event.secondsPerImage * event.rowsToCompute)} for ${event.rowsToCompute}`;
          io.stderr(`estimate: ${[cost, time].filter((part) => part).join('; ')}\n`);
        }
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

/** Models in groups that preprocess alike, in the order of their first model. */
export function groupByPreprocessing(models: readonly FeatureModel[]): FeatureModel[][] {
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
export function passReporters(
  label: string,
  backboneIds: readonly string[],
  io: Io,
  costs: readonly (string | undefined)[] = [],
): (event: ExtractionEvent, model: number) => void {
  let barOwner: number | undefined;
  const reporters = backboneIds.map((id, position) =>
    extractionReporter(
      `${label} × ${id}`,
      io,
      () => {
        barOwner ??= position;
        if (barOwner !== position) return undefined;
        return backboneIds.length > 1 ? `${label} × ${id} (+${backboneIds.length - 1} in the same pass)` : `${label} × ${id}`;
      },
      costs[position],
    ),
  );
  return (event, model) => reporters[model]!(event);
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
  readonly settings: {
    readonly limit?: number;
    readonly batch?: number;
    readonly threads?: number;
    readonly workers?: number;
    readonly resize?: number;
    readonly crop?: number;
  };
  readonly io: Io;
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
    const weights = entry.weights ?? (await loadBackboneWeights(entry.backbone, entry.weightsPath, entry.seed));
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
    onEvent: passReporters(
      `${request.dataset.id}/${request.split}`,
      entries.map((entry) => entry.backbone.id),
      request.io,
      entries.map((entry, position) => embeddingCost(entry.backbone, position === 0 ? lead.preprocessing : companions[position - 1]!.model.preprocessing)),
    ),
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
  options: { batchSize: number; limit?: number; io: Io; signal?: AbortSignal; workers?: number; depth?: number; stats?: PipelineStats },
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
