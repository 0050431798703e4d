import { resolve } from 'node:path';
import { writeFileAtomic } from '@medssl/arrays/node';
import type { FusionKind } from '@medssl/dvme';
import type { TfjsBackendName } from '@medssl/runtime-tfjs';
import type { CanonicalWeights, Provider } from '@medssl/spec';
import { extractSplit } from './extraction.js';
import { runFinetuneEvaluation } from './finetune-evaluation.js';
import { checkFeatureSets, evaluateFusion } from './fusion-evaluation.js';
import type { Io } from './io.js';
import { readResultsDocument, renderReport } from './report/index.js';
import { pretrainingLookup, type Registry } from './registry.js';
import { readTransferabilityDocuments } from './report/transferability.js';
import { registryOf, runExperiment, type ExtractBackbone, type ExtractSplit, type RunFinetune, type RunFusion, type RunOutcome } from './runner.js';
import type { ExperimentConfig } from './config.js';
import { loadBackboneWeights } from './weights.js';

export interface RunWithDefaultsOptions {
  /** The backbones and datasets the config may name by id (the CLI's `defaultProviders`, and any of your own). */
  readonly providers: readonly Provider[] | Registry;
  readonly out: string;
  readonly io: Io;
  readonly store: string;
  /** tfjs backend for the fusions, and for finetuning where its entry names no runtime; default wasm. */
  readonly backend?: TfjsBackendName;
  /** Render `report.html` beside `run.json`; default true. */
  readonly report?: boolean;
  /** A note for the top of the report. */
  readonly notice?: string;
  readonly signal?: AbortSignal;
}

/**
 * `runExperiment` with medssl's own parts: extraction through the feature store on onnxruntime, fusions on
 * tfjs, and the HTML report at the end. Returns the outcome, with `reportFile` when one was written.
 */
export async function runExperimentWithDefaults(config: ExperimentConfig, options: RunWithDefaultsOptions): Promise<RunOutcome & { reportFile?: string }> {
  const { io, store } = options;
  const registry = registryOf(options.providers);
  // Each backbone's weights are read (or drawn) once for all its splits and datasets.
  const weights = new Map<string, Promise<CanonicalWeights>>();
  const withWeights = async <Entry extends ExtractBackbone>(entry: Entry): Promise<Entry & { weights: CanonicalWeights }> => {
    const key = JSON.stringify([entry.backbone.id, entry.weightsPath ?? null, entry.seed]);
    if (!weights.has(key)) weights.set(key, loadBackboneWeights(entry.backbone, entry.weightsPath, entry.seed));
    return { ...entry, weights: await weights.get(key)! };
  };
  const extract: ExtractSplit = async (request) => {
    const companions = request.companions ? await Promise.all(request.companions.map(withWeights)) : undefined;
    return extractSplit({ ...(await withWeights(request)), store, ...(companions ? { companions } : {}) });
  };
  const fuse: RunFusion = async (request) => {
    checkFeatureSets(
      { train: [...request.sets.train], val: [...request.sets.val], test: [...request.sets.test] },
      { train: [...request.folders.train], val: [...request.folders.val], test: [...request.folders.test] },
    );
    return evaluateFusion({
      fusion: request.fusion.method as FusionKind,
      options: { ...(request.fusion.epochs !== undefined ? { epochs: request.fusion.epochs } : {}) },
      backend: options.backend ?? 'wasm',
      sets: request.sets,
      folders: request.folders,
      fractions: request.fractions,
      seeds: request.seeds,
      out: request.out,
      io,
      extra: request.extra,
      ...(request.signal ? { signal: request.signal } : {}),
    });
  };
  const finetune: RunFinetune = async (request) => {
    const { id: _id, ...settings } = request.entry;
    const document = await runFinetuneEvaluation({
      runtime: `tfjs-${options.backend ?? 'wasm'}`,
      ...settings,
      dataset: request.dataset,
      ...(request.datasetRoot !== undefined ? { datasetRoot: request.datasetRoot } : {}),
      ...officialSizesOf(registry, request.dataset.id),
      splits: request.splits,
      backbone: request.backbone,
      ...(request.weightsPath !== undefined ? { weightsPath: request.weightsPath } : {}),
      weightsSeed: request.seed,
      fractions: request.fractions,
      seeds: request.seeds,
      checkpointDir: request.checkpointDir,
      resume: true,
      out: request.out,
      extra: request.extra,
      io,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    return document!;
  };
  const outcome = await runExperiment(config, {
    providers: registry,
    out: options.out,
    io,
    extract,
    fuse,
    finetune,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  io.stderr(`${outcome.computed} unit${outcome.computed === 1 ? '' : 's'} computed, ${outcome.reused} reused; results in ${options.out}\n`);
  if (options.report === false) return outcome;
  const reportFile = resolve(options.out, 'report.html');
  const documents = outcome.documents.flatMap((document, index) => readResultsDocument(document, `run.json › results[${index}]`));
  await writeFileAtomic(
    reportFile,
    renderReport(documents, {
      title: `medssl · ${config.name}`,
      generated: new Date().toISOString(),
      pretrainingOf: pretrainingLookup(registry),
      transferability: outcome.transferability.flatMap((document, index) => readTransferabilityDocuments(document, `run.json › transferability[${index}]`)),
      ...(options.notice ? { notice: options.notice } : {}),
    }),
  );
  io.stderr(`wrote ${reportFile}\n`);
  return { ...outcome, reportFile };
}

/** The official split sizes a provider states for a dataset id, for the full-size estimate. */
function officialSizesOf(registry: Registry, id: string) {
  const sizes = registry.datasetInfo(id)?.officialSizes;
  return sizes ? { officialSizes: sizes } : {};
}
