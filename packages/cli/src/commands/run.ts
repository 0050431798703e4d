import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultFeatureStore } from '@medssl/store';
import type { FusionKind } from '@medssl/dvme';
import { TFJS_BACKENDS, type TfjsBackendName } from '@medssl/runtime-tfjs';
import { writeFileAtomic } from '@medssl/arrays/node';
import type { CanonicalWeights } from '@medssl/spec';
import { required } from '../arguments.js';
import { loadWeights } from '../backbones.js';
import { runFinetuneEvaluation } from '../finetune-evaluation.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { readResultsDocument, renderReport } from '../report/index.js';
import { loadExperimentConfig } from '../run/load-config.js';
import { PAPER_PROTOCOLS, paperExperiment } from '../run/paper.js';
import { runExperiment, type ExtractBackbone, type ExtractSplit, type RunFinetune, type RunFusion, type RunOutcome } from '../run/runner.js';
import type { ExperimentConfig, ProtocolEntry } from '../run/config.js';
import { extractSplit } from './embed.js';
import { checkFeatureSets, evaluateFusion } from './dvme.js';

const usage = `Usage
  medssl run CONFIG --out DIR [--store DIR] [--backend wasm|cpu|webgpu] [--no-report]
  medssl run --preset paper --data DIR --weights DIR --out DIR [--seeds LIST] [--protocols LIST]

Runs an experiment grid: datasets × backbones × protocols × label fractions × seeds, plus fusions
(DVME, DME, concat) over chosen backbones. Extracts what the feature store lacks (stored features are
reused when their key matches), evaluates each unit, and writes one results document per unit in
DIR/results, then DIR/run.json (all of them), DIR/summary.md (Markdown tables) and DIR/report.html.
Run it again to pick up where it stopped: finished units whose inputs did not change are reused.

CONFIG is JSON or a module (.ts, .js) whose default export is the config (defineExperiment from
@medssl/cli types it). The paper preset needs each data set in its official layout under --data
(pcam/, aptos/, chestxray14/) and the official checkpoints under their published names in --weights.
It runs linear, knn and finetune (--protocols picks some of them); finetuning the full data sets at
224x224 takes days on a CPU: each finetuning unit prints its estimate before it trains, and saves every
epoch in DIR/checkpoints, so a stopped run continues from its last epoch.

Options
  --out DIR          where results go (required)
  --store DIR        feature store, default $MEDSSL_STORE or ~/.cache/medssl/features
  --backend NAME     tfjs backend for fusions: ${TFJS_BACKENDS.join(', ')}; default wasm
  --no-report        do not render DIR/report.html
`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run an experiment grid from a config (extract, evaluate, fuse, report), resumable',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        store: { type: 'string' },
        backend: { type: 'string', default: 'wasm' },
        'no-report': { type: 'boolean' },
        preset: { type: 'string' },
        data: { type: 'string' },
        weights: { type: 'string' },
        seeds: { type: 'string' },
        protocols: { type: 'string' },
      },
    });
    const out = resolve(required(values.out, 'out'));
    const backend = values.backend as TfjsBackendName;
    if (!TFJS_BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${TFJS_BACKENDS.join(', ')}, got ${JSON.stringify(values.backend)}`);
    let config: ExperimentConfig;
    if (values.preset !== undefined) {
      if (values.preset !== 'paper') throw new UsageError(`unknown preset ${JSON.stringify(values.preset)}; known: paper`);
      if (positionals.length > 0) throw new UsageError('give either CONFIG or --preset, not both');
      config = paperExperiment({
        dataRoot: resolve(required(values.data, 'data')),
        weightsRoot: resolve(required(values.weights, 'weights')),
        ...(values.seeds !== undefined ? { seeds: values.seeds.split(',').map(Number) } : {}),
        ...(values.protocols !== undefined ? { protocols: presetProtocols(values.protocols) } : {}),
      });
    } else {
      if (positionals.length !== 1) throw new UsageError('expected one CONFIG file (or --preset paper)');
      if (values.protocols !== undefined) throw new UsageError('--protocols applies to --preset; a CONFIG lists its own protocols');
      config = await loadExperimentConfig(positionals[0]!);
    }
    const outcome = await runExperimentWithDefaults(config, {
      out,
      io,
      store: resolve(values.store ?? defaultFeatureStore()),
      backend,
      report: values['no-report'] !== true,
    });
    io.stdout(`${outcome.runFile}\n`);
    return 0;
  },
};

function presetProtocols(list: string): ProtocolEntry[] {
  const names = list.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!PAPER_PROTOCOLS.includes(name as ProtocolEntry)) throw new UsageError(`--protocols: unknown protocol ${JSON.stringify(name)}; known: ${PAPER_PROTOCOLS.join(', ')}`);
  }
  return names as ProtocolEntry[];
}

export interface RunWithDefaultsOptions {
  readonly out: string;
  readonly io: CommandIo;
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
  // Each backbone's weights are read (or drawn) once for all its splits and datasets.
  const weights = new Map<string, Promise<CanonicalWeights>>();
  const withWeights = async <Entry extends ExtractBackbone>(entry: Entry): Promise<Entry & { weights: CanonicalWeights }> => {
    const key = JSON.stringify([entry.backbone.id, entry.weightsPath ?? null, entry.seed]);
    if (!weights.has(key)) weights.set(key, loadWeights(entry.backbone, entry.weightsPath, entry.seed));
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
  const outcome = await runExperiment(config, { out: options.out, io, extract, fuse, finetune, ...(options.signal ? { signal: options.signal } : {}) });
  io.stderr(`${outcome.computed} unit${outcome.computed === 1 ? '' : 's'} computed, ${outcome.reused} reused; results in ${options.out}\n`);
  if (options.report === false) return outcome;
  const reportFile = resolve(options.out, 'report.html');
  const documents = outcome.documents.flatMap((document, index) => readResultsDocument(document, `run.json › results[${index}]`));
  await writeFileAtomic(reportFile, renderReport(documents, { title: `medssl · ${config.name}`, generated: new Date().toISOString(), ...(options.notice ? { notice: options.notice } : {}) }));
  io.stderr(`wrote ${reportFile}\n`);
  return { ...outcome, reportFile };
}
