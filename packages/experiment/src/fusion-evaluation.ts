import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomic, writeNpyFile } from '@medssl/arrays/node';
import { evaluateLabelFractions } from '@medssl/core';
import { saveSubsetFiles } from '@medssl/core/node';
import {
  TFJS_CORE_VERSION,
  fitFusion,
  resolveArchitecture,
  resolveTraining,
  sourceNames,
  type FusionKind,
  type FusionOptions,
  type FusionReport,
} from '@medssl/dvme';
import { useTfjsBackend, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { AttentionMap, FeatureSet, Protocol, Task } from '@medssl/spec';
import type { Io } from './io.js';
import { version } from './version.js';

type Split = 'train' | 'val' | 'test';
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

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
  readonly io: Io;
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
      const report = await fitFusion(
        { task, train: sets.train, val: sets.val, test: sets.test, trainRows: input.trainRows, seed: input.seed, signal: input.signal },
        fusion,
        options,
      );
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
      SPLITS.map((split) => [
        split,
        sets[split].map((set, source) => ({ folder: resolve(folders[split][source]!), count: set.ids.length, manifest: set.manifest })),
      ]),
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
        throw new Error(
          `${where} has a ${describeTask(manifest.task)} task, ${referenceWhere} a ${describeTask(reference.manifest.task)} task; every feature set must come from the same task`,
        );
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
      if (manifest.dimension !== trainSet.manifest.dimension)
        throw new Error(`${where} has ${manifest.dimension}-d features, ${trainWhere} ${trainSet.manifest.dimension}-d`);
      if (source === 0) return;
      const first = sets[split][0]!;
      const firstWhere = `${folders[split][0]} (--${split}, backbone 1)`;
      if (set.ids.length !== first.ids.length) {
        throw new Error(
          `${where} holds ${set.ids.length} samples, ${firstWhere} ${first.ids.length}; the backbones of a split must hold the same samples in the same order`,
        );
      }
      const row = set.ids.findIndex((id, index) => id !== first.ids[index]);
      if (row >= 0) {
        throw new Error(
          `row ${row} of ${where} is ${JSON.stringify(set.ids[row])}, of ${firstWhere} ${JSON.stringify(first.ids[row])}; the backbones of a split must hold the same samples in the same order`,
        );
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
