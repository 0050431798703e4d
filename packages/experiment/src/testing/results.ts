// Results documents for the report tests. The single-backbone ones are produced for real: synthetic
// feature sets written with `writeFeatureSet` and evaluated as `medssl eval linear|knn` evaluates them.
// The fusion ones are built by hand in the shape `medssl dvme` is specified to write (medssl.dvme/v1),
// because that command does not exist yet; their metrics are derived from the real linear rows.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, evaluateLabelFractions, summarize, type EvaluationRow } from '@medssl/core';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import type { Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { readFeatureSet, writeFeatureSet } from '@medssl/store';
import { featureSetSource, writeEvaluationDocument } from '../results.js';

export const binaryTask: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
export const gradedTask: Task = { type: 'multiclass', classes: ['0', '1', '2', '3'], ordinal: true, primaryMetric: 'kappa' };

/** Stand-ins for backbones: how far apart the classes sit in their features decides how well they do. */
export const fixtureBackbones = [
  { id: 'dino:vits16', separation: 1.7, dimension: 12 },
  { id: 'simclr:resnet50-1x', separation: 1.3, dimension: 10 },
  { id: 'supervised:resnet50', separation: 0.9, dimension: 8 },
] as const;

export const FRACTIONS = [0.05, 0.2, 1];
export const SEEDS = [0, 1, 2];

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Writes train/val/test feature sets for one backbone and dataset, as `medssl embed` would. */
async function featureFolders(root: string, dataset: string, task: Task, backbone: (typeof fixtureBackbones)[number]): Promise<string> {
  const folder = join(root, 'features', dataset.replace(/[^\w-]/g, '_'), backbone.id.replace(/[^\w-]/g, '_'));
  const rows = { train: 240, val: 80, test: 80 };
  for (const split of ['train', 'val', 'test'] as const) {
    const set = syntheticFeatureSet(task, {
      rows: rows[split],
      dimension: backbone.dimension,
      seed: split.length * 31 + backbone.dimension,
      split,
      separation: backbone.separation,
    });
    await writeFeatureSet(join(folder, split), {
      ...set,
      manifest: { ...set.manifest, dataset: { id: dataset, version: 'synthetic-1' }, backbone: backbone.id, weightsSha256: sha256(backbone.id) },
    });
  }
  return folder;
}

/** Runs `medssl eval PROTOCOL` through the CLI and returns the results file. */
export async function runEval(
  root: string,
  protocol: 'linear' | 'knn',
  dataset: string,
  task: Task,
  backbone: (typeof fixtureBackbones)[number],
): Promise<string> {
  const folder = await featureFolders(root, dataset, task, backbone);
  const out = join(root, 'results', `${dataset.replace(/[^\w-]/g, '_')}-${backbone.id.replace(/[^\w-]/g, '_')}-${protocol}.json`);
  const folders = { train: join(folder, 'train'), val: join(folder, 'val'), test: join(folder, 'test') };
  const [train, val, test] = await Promise.all([readFeatureSet(folders.train), readFeatureSet(folders.val), readFeatureSet(folders.test)]);
  const started = Date.now();
  const result = await evaluateLabelFractions({
    protocol: protocol === 'knn' ? knnProbe() : linearProbe(),
    input: { task: train.manifest.task, train, val, test },
    pool: train,
    dataset: train.manifest.dataset.id,
    fractions: FRACTIONS,
    seeds: SEEDS,
  });
  await writeEvaluationDocument(out, {
    protocol,
    protocolOptions: {},
    source: featureSetSource({ train, val, test }, folders),
    fractions: FRACTIONS,
    seeds: SEEDS,
    result,
    elapsedMilliseconds: Date.now() - started,
  });
  return out;
}

interface EvalDocument {
  readonly format: string;
  readonly created: string;
  readonly versions: Record<string, string>;
  readonly config: { fractions: number[]; seeds: number[]; options: object };
  readonly task: Task;
  readonly dataset: { id: string; version: string };
  readonly inputs: object;
  readonly subsetFiles: string[];
  readonly rows: EvaluationRow[];
  readonly backbone: string;
}

function softmax(values: readonly number[]): number[] {
  const largest = Math.max(...values);
  const exponentials = values.map((value) => Math.exp(value - largest));
  const total = exponentials.reduce((sum, value) => sum + value, 0);
  return exponentials.map((value) => value / total);
}

/**
 * A fusion document in the documented medssl.dvme/v1 shape. Rows take, per fraction and seed, the best
 * source's real linear-probe metrics nudged by the method (DVME a little above, concat at, DME a little
 * below); attention rows are softmaxes of seeded scores that favour the strongest source.
 */
export function fusionDocument(protocol: 'dvme' | 'dme' | 'concat', linearFiles: readonly string[], options: { blocks?: number; heads?: number } = {}): object {
  const sources = linearFiles.map((file) => JSON.parse(readFileSync(file, 'utf8')) as EvalDocument);
  const first = sources[0]!;
  const shift = { dvme: 0.012, concat: 0.004, dme: -0.006 }[protocol];
  const rng = createRng({ dvme: 11, dme: 13, concat: 17 }[protocol]);
  const size = sources.length;
  const rows = first.rows.map((row) => {
    const atRun = sources.map((source) => source.rows.find((candidate) => candidate.fraction === row.fraction && candidate.seed === row.seed)!);
    const metrics = Object.fromEntries(
      Object.keys(row.metrics).map((name) => [name, Math.min(1, Math.max(...atRun.map((entry) => entry.metrics[name]!)) + shift)]),
    );
    const strongest = atRun.reduce(
      (best, entry, index) => (entry.metrics[first.task.primaryMetric]! > atRun[best]!.metrics[first.task.primaryMetric]! ? index : best),
      0,
    );
    const extra: Record<string, unknown> = {};
    if (protocol === 'dvme') {
      extra.attention = Array.from({ length: options.blocks ?? 2 }, (_, block) => ({
        block,
        sources: sources.map((source) => source.backbone),
        heads: options.heads ?? 4,
        weights: Array.from({ length: options.heads ?? 4 }, () =>
          Array.from({ length: size }, () => softmax(Array.from({ length: size }, (_, key) => rng.normal() * 0.8 + (key === strongest ? 1.2 : 0)))),
        ),
      }));
    }
    if (protocol === 'dme') {
      const weights = softmax(Array.from({ length: size }, (_, source) => rng.normal() * 0.3 + (source === strongest ? 0.9 : 0)));
      extra.sourceWeights = Object.fromEntries(sources.map((source, index) => [source.backbone, weights[index]!]));
    }
    return { ...row, metrics, ...extra };
  });
  return {
    format: 'medssl.dvme/v1',
    created: first.created,
    versions: first.versions,
    protocol,
    config: {
      fractions: first.config.fractions,
      seeds: first.config.seeds,
      options: protocol === 'dvme' ? { blocks: options.blocks ?? 2, heads: options.heads ?? 4, epochs: 30 } : {},
    },
    task: first.task,
    dataset: first.dataset,
    sources: sources.map((source) => source.backbone),
    weightsSha256: sources.map((source) => sha256(source.backbone)),
    inputs: first.inputs,
    subsetFiles: first.subsetFiles,
    elapsedSeconds: 12.5,
    rows,
    summary: summarize(rows, first.config.fractions),
  };
}

export interface ReportFixtures {
  readonly root: string;
  /** medssl.eval/v1 files: linear and kNN for every backbone on the binary task, linear for two on the graded one. */
  readonly evalFiles: readonly string[];
  /** A medssl.dvme/v1 file (DVME with attention). */
  readonly dvmeFile: string;
  /** A medssl.run/v1 file holding the DME and concat documents. */
  readonly runFile: string;
}

export async function reportFixtures(): Promise<ReportFixtures> {
  const root = mkdtempSync(join(tmpdir(), 'medssl-report-'));
  const evalFiles: string[] = [];
  const linearBinary: string[] = [];
  for (const backbone of fixtureBackbones) {
    const linear = await runEval(root, 'linear', 'synthetic:tumour', binaryTask, backbone);
    linearBinary.push(linear);
    evalFiles.push(linear, await runEval(root, 'knn', 'synthetic:tumour', binaryTask, backbone));
  }
  for (const backbone of fixtureBackbones.slice(0, 2)) evalFiles.push(await runEval(root, 'linear', 'synthetic:grades', gradedTask, backbone));
  const dvmeFile = join(root, 'results', 'synthetic_tumour-dvme.json');
  writeFileSync(dvmeFile, JSON.stringify(fusionDocument('dvme', linearBinary), null, 2));
  const runFile = join(root, 'results', 'run.json');
  writeFileSync(
    runFile,
    JSON.stringify({ format: 'medssl.run/v1', results: [fusionDocument('dme', linearBinary), fusionDocument('concat', linearBinary)] }, null, 2),
  );
  return { root, evalFiles, dvmeFile, runFile };
}
