import { dirname, join, relative, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_FRACTIONS, evaluateLabelFractions } from '@medssl/core';
import { readFeatureSet } from '@medssl/store';
import { saveSubsetFiles } from '@medssl/core/node';
import { writeFileAtomic, writeNpyFile } from '@medssl/arrays/node';
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_TRAINING,
  FUSION_KINDS,
  TFJS_CORE_VERSION,
  fitFusion,
  resolveArchitecture,
  resolveTraining,
  sourceNames,
  type FusionKind,
  type FusionOptions,
  type FusionReport,
} from '@medssl/dvme';
import { TFJS_BACKENDS, useTfjsBackend, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { AttentionMap, FeatureSet, Protocol, Task } from '@medssl/spec';
import { integerOption, nonNegativeOption, numberList, pathList, required } from '../arguments.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { markdownSummary } from '../report-table.js';
import { version } from '../version.js';

type Split = 'train' | 'val' | 'test';
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

const usage = `Usage
  medssl dvme --train DIR1,DIR2[,DIR3...] --val DIR1,DIR2,... --test DIR1,DIR2,... --out FILE.json [options]

Fuses the stored features of several backbones (feature-set folders written by "medssl embed", one per
backbone, in the same backbone order for every split) and evaluates the fusion at label fractions and
seeds, as "medssl eval" does for one backbone. The task comes from the manifests. Subset index files are
written beside FILE.json.

Fusions (--fusion)
  dvme     Dynamic Visual Meta-Embedding: per-backbone projections, self-attention across backbones (default)
  dme      per-backbone projections, softmax-weighted per sample and summed (Kiela et al. 2018)
  concat   the backbones' features side by side and a linear head
  single   a linear head on each backbone alone; the best on the validation split is reported

Options
  --fractions LIST      label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST          seeds, default 0
  --backend NAME        tfjs backend: ${TFJS_BACKENDS.join(', ')}; default wasm
  --epochs N            epochs at most (early stopping on the validation metric), default ${DEFAULT_TRAINING.epochs}
  --batch N             training rows per step, default ${DEFAULT_TRAINING.batchSize}
  --learning-rate X     peak AdamW learning rate, default ${DEFAULT_TRAINING.learningRate}
  --weight-decay X      AdamW weight decay, default ${DEFAULT_TRAINING.weightDecay}
  --patience N          epochs without improvement before stopping, default ${DEFAULT_TRAINING.patience}
  --projection N        width backbones are projected to, default ${DEFAULT_ARCHITECTURE.projection}
  --blocks N            (dvme) attention blocks, default ${DEFAULT_ARCHITECTURE.blocks}
  --heads N             (dvme) attention heads, default ${DEFAULT_ARCHITECTURE.heads}
  --mlp-ratio N         (dvme) MLP width over the projection, default ${DEFAULT_ARCHITECTURE.mlpRatio}
  --dropout X           dropout rate, default ${DEFAULT_ARCHITECTURE.dropout}
  --source-embeddings   (dvme) add a learned embedding per backbone to its token
  --sample-attention    also write every test sample's attention maps (dvme, [n, blocks, heads, K, K]) or
                        source weights (dme, [n, K]) as .npy files beside FILE.json
  --out FILE.json       results: config, versions, one row per fraction and seed (with the attention maps
                        averaged over the test samples), mean ± std per fraction
`;

export const dvmeCommand: Command = {
  name: 'dvme',
  summary: 'fuse several backbones\' stored features (DVME, DME, concat) at label fractions and seeds',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        train: { type: 'string' },
        val: { type: 'string' },
        test: { type: 'string' },
        out: { type: 'string' },
        fusion: { type: 'string', default: 'dvme' },
        fractions: { type: 'string' },
        seeds: { type: 'string' },
        backend: { type: 'string', default: 'wasm' },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        'learning-rate': { type: 'string' },
        'weight-decay': { type: 'string' },
        patience: { type: 'string' },
        projection: { type: 'string' },
        blocks: { type: 'string' },
        heads: { type: 'string' },
        'mlp-ratio': { type: 'string' },
        dropout: { type: 'string' },
        'source-embeddings': { type: 'boolean' },
        'sample-attention': { type: 'boolean' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const fusion = values.fusion as FusionKind;
    if (!FUSION_KINDS.includes(fusion)) throw new UsageError(`--fusion must be one of ${FUSION_KINDS.join(', ')}, got ${JSON.stringify(values.fusion)}`);
    const backend = values.backend as TfjsBackendName;
    if (!TFJS_BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${TFJS_BACKENDS.join(', ')}, got ${JSON.stringify(values.backend)}`);
    const folders = {
      train: pathList(required(values.train, 'train'), 'train'),
      val: pathList(required(values.val, 'val'), 'val'),
      test: pathList(required(values.test, 'test'), 'test'),
    };
    const out = resolve(required(values.out, 'out'));
    const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
    const seeds = numberList(values.seeds, 'seeds', [0]);
    const options = fusionOptions(values);
    const minimum = fusion === 'single' ? 1 : 2;
    if (folders.train.length < minimum) {
      throw new UsageError(`--train names ${folders.train.length} folder; ${fusion} fuses at least ${minimum} backbones (K >= ${minimum}): give one feature-set folder per backbone, comma-separated`);
    }
    for (const split of ['val', 'test'] as const) {
      if (folders[split].length !== folders.train.length) {
        throw new UsageError(`--${split} names ${folders[split].length} folders, --train ${folders.train.length}; give one per backbone, in the same order`);
      }
    }

    const sets = Object.fromEntries(await Promise.all(SPLITS.map(async (split) => [split, await Promise.all(folders[split].map((folder) => readFeatureSet(folder)))] as const))) as Record<Split, FeatureSet[]>;
    checkFeatureSets(sets, folders);
    const document = await evaluateFusion({ fusion, options, backend, sets, folders, fractions, seeds, out, io });
    io.stdout(markdownSummary(document.task.primaryMetric, document.summary, `${fusion} · ${document.dataset.id} · ${document.sources.join(' + ')}`));
    io.stderr(`wrote ${out}\n`);
    return 0;
  },
};

export interface FusionEvaluationRequest {
  readonly fusion: FusionKind;
  readonly options: FusionOptions;
  readonly backend: TfjsBackendName;
  /** One feature set per backbone in each split, checked to fit together (`checkFeatureSets`). */
  readonly sets: Readonly<Record<Split, readonly FeatureSet[]>>;
  readonly folders: Readonly<Record<Split, readonly string[]>>;
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  readonly out: string;
  readonly io: CommandIo;
  /** Extra top-level fields of the document, e.g. an experiment unit's key. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly signal?: AbortSignal;
}

/**
 * Trains and evaluates a fusion at every label fraction and seed and writes its results document
 * (`medssl.dvme/v1`) atomically, with the subset files beside it; `medssl dvme` and `medssl run` share it.
 */
export async function evaluateFusion(request: FusionEvaluationRequest) {
  const { fusion, options, sets, folders, fractions, seeds, out, io } = request;
  const activeBackend = await useTfjsBackend(request.backend);
  const task = sets.train[0]!.manifest.task;
  const dataset = sets.train[0]!.manifest.dataset;
  const sources = sourceNames(sets.train);
  io.stderr(
    `${fusion} on ${dataset.id} × ${sources.join(' + ')}: ${sets.train[0]!.ids.length} train, ${sets.val[0]!.ids.length} val, ${sets.test[0]!.ids.length} test rows; ` +
      `${fractions.length} fractions × ${seeds.length} seeds; tfjs ${activeBackend}\n`,
  );

  // evaluateLabelFractions draws the subsets from the first backbone's training set (every backbone has
  // the same ids and targets) and runs this protocol, which trains the fusion on all backbones.
  const reports: FusionReport[] = [];
  const protocol: Protocol = {
    specificationVersion: 'medssl/v1',
    id: fusion,
    supports: ['binary', 'multiclass', 'multilabel'],
    async evaluate(input) {
      const report = await fitFusion({ task, train: sets.train, val: sets.val, test: sets.test, trainRows: input.trainRows, seed: input.seed, signal: input.signal }, fusion, options);
      reports.push(report);
      return report.result;
    },
  };
  const started = Date.now();
  const result = await evaluateLabelFractions({
    protocol,
    input: { task, train: sets.train[0]!, val: sets.val[0]!, test: sets.test[0]! },
    pool: sets.train[0]!,
    dataset: dataset.id,
    fractions,
    seeds,
    ...(request.signal ? { signal: request.signal } : {}),
    onRow: (row, done, total) => {
      const report = reports[reports.length - 1]!;
      const primary = row.metrics[task.primaryMetric];
      const choice = typeof row.selected.source === 'string' ? `, ${row.selected.source}` : '';
      io.stderr(
        `  [${done}/${total}] fraction ${row.fraction}, seed ${row.seed}: ${task.primaryMetric} ${primary?.toFixed(4)} ` +
          `(${row.trainCount} training rows, best epoch ${report.bestEpoch} of ${report.history.length}${choice}, ${report.seconds.toFixed(1)} s)\n`,
      );
    },
  });

  const folder = dirname(out);
  await mkdir(join(folder, 'subsets'), { recursive: true });
  const subsetFiles = await saveSubsetFiles(join(folder, 'subsets'), result.subsets);
  const rows = [];
  for (const [index, row] of result.rows.entries()) {
    const report = reports[index]!;
    let sampleAttentionFile: string | undefined;
    if (report.sampleAttention) {
      const path = join(folder, 'attention', `${fusion}-f${row.fraction}-s${row.seed}.npy`);
      await mkdir(dirname(path), { recursive: true });
      await writeNpyFile(path, { dtype: 'float32', shape: [...report.sampleAttention.shape], data: report.sampleAttention.data });
      sampleAttentionFile = relative(folder, path);
    }
    rows.push({
      ...row,
      ...(report.result.attention ? { attention: report.result.attention.map((map, block) => attentionJson(map, block)) } : {}),
      ...(report.result.sourceWeights ? { sourceWeights: report.result.sourceWeights } : {}),
      ...(sampleAttentionFile ? { sampleAttentionFile } : {}),
      history: report.history.map(({ epoch, trainLoss, validation, seconds }) => ({ epoch, trainLoss, validation, seconds })),
    });
  }
  const document = {
    format: 'medssl.dvme/v1',
    created: new Date().toISOString(),
    versions: { medssl: version, node: process.version, tfjs: TFJS_CORE_VERSION },
    protocol: fusion,
    config: { fractions, seeds, fusion, backend: activeBackend, options: { ...resolveArchitecture(options), ...resolveTraining(options) } },
    task,
    dataset,
    sources,
    weightsSha256: sets.train.map((set) => set.manifest.weightsSha256),
    inputs: Object.fromEntries(
      SPLITS.map((split) => [split, sets[split].map((set, source) => ({ folder: resolve(folders[split][source]!), count: set.ids.length, manifest: set.manifest }))]),
    ),
    subsetFiles: subsetFiles.map((path) => relative(folder, path)),
    elapsedSeconds: (Date.now() - started) / 1000,
    ...request.extra,
    rows,
    summary: result.summary,
  };
  await writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`);
  return document;
}

function fusionOptions(values: Record<string, string | boolean | undefined>): FusionOptions {
  const integer = (option: string) => integerOption(values[option] as string | undefined, option);
  const real = (option: string) => nonNegativeOption(values[option] as string | undefined, option);
  const options: FusionOptions = {
    epochs: integer('epochs'),
    batchSize: integer('batch'),
    learningRate: real('learning-rate'),
    weightDecay: real('weight-decay'),
    patience: integer('patience'),
    projection: integer('projection'),
    blocks: integer('blocks'),
    heads: integer('heads'),
    mlpRatio: integer('mlp-ratio'),
    dropout: real('dropout'),
    sourceEmbeddings: values['source-embeddings'] === true ? true : undefined,
    sampleAttention: values['sample-attention'] === true ? true : undefined,
  };
  try {
    resolveArchitecture(options);
    resolveTraining(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return options;
}

function describeTask(task: Task): string {
  return task.type === 'multilabel' ? `multilabel (${task.labels.join(', ')})` : `${task.type} (${task.classes.join(', ')})`;
}

/**
 * Checks, before any training, that the folders fit together: one task and dataset everywhere, every
 * backbone the same (id, weights, dimension) in the three splits, and in each split the same samples in
 * the same order for every backbone. Errors name the folders.
 */
export function checkFeatureSets(sets: Record<Split, FeatureSet[]>, folders: Record<Split, string[]>): void {
  const reference = sets.train[0]!;
  const referenceWhere = `${folders.train[0]} (--train, backbone 1)`;
  for (const split of SPLITS) {
    sets[split].forEach((set, source) => {
      const where = `${folders[split][source]} (--${split}, backbone ${source + 1})`;
      const { manifest } = set;
      if (JSON.stringify(manifest.task) !== JSON.stringify(reference.manifest.task)) {
        throw new Error(`${where} has a ${describeTask(manifest.task)} task, ${referenceWhere} a ${describeTask(reference.manifest.task)} task; every feature set must come from the same task`);
      }
      if (manifest.dataset.id !== reference.manifest.dataset.id) {
        throw new Error(`${where} is from dataset ${manifest.dataset.id}, ${referenceWhere} from ${reference.manifest.dataset.id}`);
      }
      const trainSet = sets.train[source]!;
      const trainWhere = `${folders.train[source]} (--train, backbone ${source + 1})`;
      if (manifest.backbone !== trainSet.manifest.backbone || manifest.weightsSha256 !== trainSet.manifest.weightsSha256) {
        throw new Error(
          `${where} was embedded by ${manifest.backbone} (weights ${manifest.weightsSha256.slice(0, 12)}), ${trainWhere} by ${trainSet.manifest.backbone} ` +
            `(weights ${trainSet.manifest.weightsSha256.slice(0, 12)}); give the backbones in the same order for every split`,
        );
      }
      if (manifest.dimension !== trainSet.manifest.dimension) throw new Error(`${where} has ${manifest.dimension}-d features, ${trainWhere} ${trainSet.manifest.dimension}-d`);
      if (source === 0) return;
      const first = sets[split][0]!;
      const firstWhere = `${folders[split][0]} (--${split}, backbone 1)`;
      if (set.ids.length !== first.ids.length) {
        throw new Error(`${where} holds ${set.ids.length} samples, ${firstWhere} ${first.ids.length}; the backbones of a split must hold the same samples in the same order`);
      }
      const row = set.ids.findIndex((id, index) => id !== first.ids[index]);
      if (row >= 0) {
        throw new Error(`row ${row} of ${where} is ${JSON.stringify(set.ids[row])}, of ${firstWhere} ${JSON.stringify(first.ids[row])}; the backbones of a split must hold the same samples in the same order`);
      }
    });
  }
}

/** An attention map as the results document holds it: `weights[head][query][key]`, each row summing to 1. */
function attentionJson(map: AttentionMap, block: number) {
  const sources = map.sources.length;
  const weights = Array.from({ length: map.heads }, (_, head) =>
    Array.from({ length: sources }, (_, query) => Array.from(map.weights.subarray((head * sources + query) * sources, (head * sources + query + 1) * sources))),
  );
  return { block, sources: map.sources, heads: map.heads, weights };
}
