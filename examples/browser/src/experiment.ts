// One run of the page, start to end, without the DOM: labels CSV + image files + weights → embeddings →
// probe → results. The page calls these steps one by one (to show progress and keep the embeddings when
// only the protocol changes); the test calls `runExperiment` in Node on the same inputs.
import type { Backbone, CanonicalWeights, ClassTargets, Matrix, Runtime, Task } from '@medssl/spec';
import { inputSideOf, loadWeights, withInputSize, type WeightsFile } from './backbones.js';
import { embedImages, type EmbedProgress } from './embed.js';
import { describePreprocessing, evaluateEmbeddings, type ProbeResults, type ProtocolName } from './evaluate.js';
import {
  assignSplits,
  classTargets,
  inferTask,
  matchImages,
  readLabelTable,
  splitCounts,
  type ImageFile,
  type LabelTable,
  type SplitName,
  type SplitRows,
} from './labels.js';

/** Images per batch: small enough for a laptop GPU at 224x224, large enough to keep it busy. */
export const DEFAULT_BATCH_SIZE = 8;

export interface LabelledImages {
  readonly table: LabelTable;
  readonly task: Task;
  readonly targets: ClassTargets;
  readonly splits: SplitRows;
  /** One per CSV row, in CSV order (the row order of the embeddings). */
  readonly images: readonly ImageFile[];
  readonly counts: Record<SplitName, Record<string, number>>;
}

/** Reads the labels, matches them to the folder's images, infers the task and assigns the splits. */
export async function labelImages(labels: { name: string; text: string }, files: ReadonlyMap<string, ImageFile>, seed: number): Promise<LabelledImages> {
  const table = readLabelTable(labels.text, labels.name);
  const images = matchImages(table, files);
  const task = inferTask(
    table.rows.map((row) => row.label),
    labels.name,
  );
  const targets = classTargets(task, table.rows);
  const splits = await assignSplits(table, task, targets, seed);
  return { table, task, targets, splits, images, counts: splitCounts(task, targets, splits) };
}

export interface Embeddings {
  readonly backbone: Backbone;
  readonly weights: { readonly source: string; readonly sha256: string };
  readonly runtime: { readonly id: string; readonly provider: string; readonly precision: string };
  /** `[images, dimension]`, rows in CSV order. */
  readonly features: Matrix;
  readonly seconds: number;
}

export interface EmbedOptions {
  /** The backbone at the run's input size (see `withInputSize`). */
  readonly backbone: Backbone;
  readonly weights: CanonicalWeights;
  readonly runtime: Runtime;
  readonly images: readonly ImageFile[];
  readonly batchSize?: number;
  readonly onProgress?: (progress: EmbedProgress) => void;
  readonly signal?: AbortSignal;
}

export async function embedLabelledImages(options: EmbedOptions): Promise<Embeddings> {
  const { backbone, weights, runtime } = options;
  const started = performance.now();
  const embedder = await runtime.createEmbedder(backbone, weights);
  try {
    const features = await embedImages({
      images: options.images,
      preprocessing: backbone.preprocessing,
      embedder,
      batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      backbone,
      weights: { source: weights.source, sha256: weights.sha256 },
      runtime: { id: embedder.runtimeId, provider: embedder.provider, precision: embedder.precision },
      features,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await embedder.dispose();
  }
}

/** Everything a run states, as the page shows it and saves it (`results.json`). */
export interface RunResults {
  readonly format: 'medssl.browser-run/v1';
  readonly backbone: string;
  readonly weights: { readonly source: string; readonly sha256: string };
  readonly inputSize: number;
  readonly preprocessing: string;
  readonly runtime: { readonly id: string; readonly provider: string; readonly precision: string };
  readonly task: Task;
  readonly splitOrigin: SplitRows['origin'];
  readonly counts: Record<SplitName, Record<string, number>>;
  readonly dimension: number;
  readonly embeddingSeconds: number;
  readonly probe: ProbeResults;
}

export async function probeEmbeddings(
  labelled: LabelledImages,
  embeddings: Embeddings,
  protocol: ProtocolName,
  seed: number,
  signal?: AbortSignal,
): Promise<RunResults> {
  const { backbone, features } = embeddings;
  const probe = await evaluateEmbeddings({
    task: labelled.task,
    features,
    targets: labelled.targets,
    ids: labelled.table.rows.map((row) => row.path),
    splits: labelled.splits,
    protocol,
    seed,
    provenance: { backbone: backbone.id, weightsSha256: embeddings.weights.sha256, preprocessing: backbone.preprocessing, runtime: embeddings.runtime },
    ...(signal ? { signal } : {}),
  });
  return {
    format: 'medssl.browser-run/v1',
    backbone: backbone.id,
    weights: embeddings.weights,
    inputSize: inputSideOf(backbone),
    preprocessing: describePreprocessing(backbone.preprocessing),
    runtime: embeddings.runtime,
    task: labelled.task,
    splitOrigin: labelled.splits.origin,
    counts: labelled.counts,
    dimension: features.shape[1],
    embeddingSeconds: embeddings.seconds,
    probe,
  };
}

export interface ExperimentInput {
  readonly backbone: Backbone;
  /** The checkpoint; absent for `random:*` backbones. */
  readonly weightsFile?: WeightsFile;
  readonly inputSize: number;
  readonly labels: { readonly name: string; readonly text: string };
  /** Images by their path inside the chosen folder. */
  readonly files: ReadonlyMap<string, ImageFile>;
  readonly protocol: ProtocolName;
  readonly runtime: Runtime;
  readonly seed: number;
  readonly batchSize?: number;
  readonly onProgress?: (progress: EmbedProgress) => void;
}

/** The whole run, as the page does it. */
export async function runExperiment(input: ExperimentInput): Promise<{ results: RunResults; embeddings: Embeddings; labelled: LabelledImages }> {
  const labelled = await labelImages(input.labels, input.files, input.seed);
  const backbone = withInputSize(input.backbone, input.inputSize);
  const weights = await loadWeights(backbone, input.weightsFile, input.seed);
  const embeddings = await embedLabelledImages({
    backbone,
    weights,
    runtime: input.runtime,
    images: labelled.images,
    ...(input.batchSize ? { batchSize: input.batchSize } : {}),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  const results = await probeEmbeddings(labelled, embeddings, input.protocol, input.seed);
  return { results, embeddings, labelled };
}
