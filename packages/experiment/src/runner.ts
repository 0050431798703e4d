import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileSha256, sha256Hex, writeFileAtomic } from '@medssl/arrays/node';
import { evaluateLabelFractions } from '@medssl/core';
import { readFeatureSet } from '@medssl/store';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import type { Backbone, Dataset, FeatureSet, Protocol, Provider } from '@medssl/spec';
import type { BackboneEntry, DatasetEntry, ExperimentConfig, FinetuneEntry, FusionEntry, ProtocolEntry, SplitNames } from './config.js';
import { validateExperimentConfig } from './config.js';
import { slug } from './file-names.js';
import type { Io } from './io.js';
import { createRegistry, type Registry } from './registry.js';
import { markdownSummary } from './report-table.js';
import { featureSetSource, writeEvaluationDocument, type EvaluationSplits } from './results.js';
import { ESTIMATOR_IDS, type EstimatorId } from '@medssl/transferability';
import { DEFAULT_TRANSFERABILITY_ROWS, scoreFeatureSets, type TransferabilityDocumentInput, writeTransferabilityDocument } from './transferability.js';
import { version } from './version.js';

/**
 * Turns one split of a dataset into a stored feature-set folder (reusing stored features when the key matches),
 * and those of the request's companions where it can; the runner asks for each companion left out alone.
 */
export type ExtractSplit = (request: ExtractRequest) => Promise<ExtractedSplit>;

export interface ExtractedSplit {
  readonly folder: string;
  readonly reused: boolean;
  /** The companions' feature sets, in their order; undefined (or absent) for a companion the runner must ask for alone. */
  readonly companions?: readonly ({ readonly folder: string; readonly reused: boolean } | undefined)[];
}

/** A backbone with its weights: a file, or a seed for random initialisation. */
export interface ExtractBackbone {
  readonly backbone: Backbone;
  readonly weightsPath: string | undefined;
  readonly seed: number;
}

export interface ExtractRequest extends ExtractBackbone {
  readonly dataset: Dataset;
  readonly split: string;
  /** More backbones that preprocess like `backbone`, to embed in the same pass over the split (each image decoded once). */
  readonly companions?: readonly ExtractBackbone[];
  readonly settings: NonNullable<ExperimentConfig['extraction']>;
  readonly io: Io;
  readonly signal?: AbortSignal;
}

/** Trains and evaluates one fusion of stored feature sets; writes its results document to `out`. */
export type RunFusion = (request: FusionRequest) => Promise<object>;

export interface FusionRequest {
  readonly fusion: FusionEntry;
  readonly sets: EvaluationSplits<readonly FeatureSet[]>;
  readonly folders: EvaluationSplits<readonly string[]>;
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  readonly out: string;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly io: Io;
  readonly signal?: AbortSignal;
}

/** Finetunes one backbone on one dataset's images at the fractions and seeds; writes its results document to `out`. */
export type RunFinetune = (request: FinetuneRequest) => Promise<object>;

export interface FinetuneRequest extends ExtractBackbone {
  readonly dataset: Dataset;
  /** The folder the dataset was opened from, when the config named one. */
  readonly datasetRoot?: string;
  readonly splits: EvaluationSplits<string>;
  readonly entry: FinetuneEntry;
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  readonly out: string;
  /** Where each run saves its epochs; runs saved there continue from their last epoch. */
  readonly checkpointDir: string;
  readonly extra: Readonly<Record<string, unknown>>;
  readonly io: Io;
  readonly signal?: AbortSignal;
}

export interface RunExperimentOptions {
  /**
   * The backbones and datasets the config may name by id, as a list of providers (the CLI's
   * `defaultProviders`, and any of your own); entries holding an opened dataset or a backbone object need none.
   */
  readonly providers: readonly Provider[] | Registry;
  /** Where results go: one document per unit in `results/`, plus `run.json` and `summary.md`. */
  readonly out: string;
  readonly io: Io;
  readonly extract: ExtractSplit;
  readonly fuse?: RunFusion;
  readonly finetune?: RunFinetune;
  readonly signal?: AbortSignal;
}

export interface RunOutcome {
  /** Results documents, in the order of the grid. */
  readonly documents: readonly object[];
  /** Transferability documents (`medssl.transferability/v1`), one per dataset with two or more backbones. */
  readonly transferability: readonly object[];
  /** Units computed in this run and units whose stored results were reused. */
  readonly computed: number;
  readonly reused: number;
  readonly runFile: string;
  readonly summaryFile: string;
}

const ROLES = ['train', 'val', 'test'] as const;

/**
 * Runs an experiment grid: extracts what the feature store lacks, evaluates every (dataset, backbone,
 * protocol) and every fusion at every fraction and seed, and writes one results document per unit. Each
 * unit's document is written atomically and carries a key of everything it depends on, so a run that is
 * interrupted, or re-run with a grown grid, recomputes only what is missing or changed.
 */
export async function runExperiment(rawConfig: ExperimentConfig, options: RunExperimentOptions): Promise<RunOutcome> {
  const config = validateExperimentConfig(rawConfig);
  const { io, signal } = options;
  const registry = registryOf(options.providers);
  const documents: object[] = [];
  let computed = 0;
  let reused = 0;
  const summaries: string[] = [];

  // Stored results are reused when the unit's key is unchanged; otherwise the unit is computed.
  const unitResult = async (out: string, key: string, label: string, compute: () => Promise<object>): Promise<void> => {
    const stored = await storedDocument(out, key);
    const document = stored ?? (await compute());
    if (stored) io.stderr(`reused ${label} (results unchanged: ${out})\n`);
    documents.push(document);
    if (stored) reused++;
    else computed++;
    summaries.push(summaryOf(document, label));
  };
  const featureProtocols = config.protocols.filter((entry) => protocolId(entry) !== 'finetune');
  const estimators = transferabilityEstimators(config);
  const maxRows = typeof config.transferability === 'object' ? config.transferability.maxRows : undefined;
  const transferabilityDocuments: object[] = [];
  const weightsHashes = new Map<string, Promise<string>>();

  for (const [datasetIndex, datasetEntry] of config.datasets.entries()) {
    const dataset = await openEntryDataset(registry, datasetEntry);
    const splits = splitNames(dataset, datasetEntry.splits, `datasets[${datasetIndex}]`);
    const featureFolders = new Map<string, Partial<Record<(typeof ROLES)[number], string>>>();
    // The backbones this dataset runs (all unless its entry names some), and the fusions all of whose sources it runs.
    const backboneEntries = config.backbones.filter((entry) => !datasetEntry.backbones || datasetEntry.backbones.includes(entryBackbone(registry, entry).id));
    const runsOn = new Set(backboneEntries.map((entry) => entryBackbone(registry, entry).id));
    const fusions = config.fusions.filter((fusion) => fusion.backbones.every((id) => runsOn.has(id)));
    // Features are extracted for the stored-feature protocols and the fusions only: finetuning reads images.
    const extracting = backboneEntries
      .map((entry) => ({ backbone: entryBackbone(registry, entry), weightsPath: entry.weights, seed: entry.seed ?? 0 }))
      .filter(({ backbone }) => featureProtocols.length > 0 || fusions.some((fusion) => fusion.backbones.includes(backbone.id)));
    for (const group of extractionGroups(extracting, config.extraction?.together ?? true)) {
      for (const { backbone } of group) featureFolders.set(backbone.id, {});
      const [lead, ...companions] = group as [ExtractBackbone, ...ExtractBackbone[]];
      for (const role of ROLES) {
        signal?.throwIfAborted();
        const request = { dataset, split: splits[role], settings: config.extraction ?? {}, io, ...(signal ? { signal } : {}) };
        const extracted = await options.extract({ ...request, ...lead, ...(companions.length > 0 ? { companions } : {}) });
        featureFolders.get(lead.backbone.id)![role] = extracted.folder;
        for (const [position, companion] of companions.entries()) {
          const answer = extracted.companions?.[position] ?? (await options.extract({ ...request, ...companion }));
          featureFolders.get(companion.backbone.id)![role] = answer.folder;
        }
      }
    }

    // Before anything trains: how each estimator ranks the backbones, per fraction and seed, from the training features alone.
    const scored = backboneEntries.map((entry) => entryBackbone(registry, entry).id).filter((id) => featureFolders.get(id)?.train !== undefined);
    if (estimators && scored.length >= 2 && featureProtocols.length > 0) {
      signal?.throwIfAborted();
      const sets = await Promise.all(
        scored.map(async (id) => ({ set: await readFeatureSet(featureFolders.get(id)!.train!), source: featureFolders.get(id)!.train! })),
      );
      const unit = unitKey({
        kind: 'transferability',
        estimators,
        maxRows: maxRows ?? DEFAULT_TRANSFERABILITY_ROWS,
        fractions: config.fractions,
        seeds: config.seeds,
        features: sets.map(({ set }) => manifestKey(set)),
      });
      const out = join(options.out, 'results', slug(dataset.id), 'transferability.json');
      const label = `transferability · ${dataset.id} · ${scored.length} backbones`;
      const stored = await storedDocument(out, unit);
      if (stored) {
        io.stderr(`reused ${label} (results unchanged: ${out})\n`);
        transferabilityDocuments.push(stored);
      } else {
        io.stderr(`${label}: ${estimators.join(', ')} at ${config.fractions.length} fractions × ${config.seeds.length} seeds\n`);
        const started = Date.now();
        const rows: TransferabilityDocumentInput['rows'][number][] = [];
        for (const fraction of config.fractions) {
          for (const seed of config.seeds) {
            try {
              const result = await scoreFeatureSets(sets, { fraction, seed, estimators, ...(maxRows ? { maxRows } : {}), ...(signal ? { signal } : {}) });
              rows.push({
                fraction,
                seed,
                trainCount: result.trainCount,
                scoredCount: result.scoredCount,
                scores: Object.fromEntries(result.scores.map((entry) => [entry.backbone, entry.scores])),
              });
            } catch (error) {
              // An estimate is advice: a subset it cannot score (too few rows, one class) is recorded, not fatal.
              if (signal?.aborted) throw error;
              const reason = error instanceof Error ? error.message : String(error);
              io.stderr(`${label}: not scored at ${fraction * 100} %, seed ${seed}: ${reason}\n`);
              rows.push({ fraction, seed, skipped: reason });
            }
          }
        }
        transferabilityDocuments.push(
          await writeTransferabilityDocument(out, {
            dataset: { id: dataset.id, version: dataset.version },
            task: dataset.task,
            estimators,
            backbones: scored,
            fractions: config.fractions,
            seeds: config.seeds,
            rows,
            elapsedMilliseconds: Date.now() - started,
            extra: { experiment: config.name, unitKey: unit },
          }),
        );
      }
    }

    let rowHashes: Promise<EvaluationSplits<string>> | undefined;
    for (const backboneEntry of backboneEntries) {
      const backbone = entryBackbone(registry, backboneEntry);
      const folders = featureFolders.get(backbone.id) as EvaluationSplits<string> | undefined;
      const sets = featureProtocols.length > 0 && folders ? await readSplits(folders) : undefined;
      for (const protocolEntry of config.protocols) {
        signal?.throwIfAborted();
        if (protocolId(protocolEntry) === 'finetune') {
          const entry = (typeof protocolEntry === 'string' ? { id: 'finetune' } : protocolEntry) as FinetuneEntry;
          if (!options.finetune) throw new Error(`protocols[${config.protocols.indexOf(protocolEntry)}]: this runner has no finetuning support`);
          rowHashes ??= splitRowHashes(dataset, splits);
          const weights =
            backboneEntry.weights === undefined ? { seed: backboneEntry.seed ?? 0 } : { sha256: await checkpointSha256(backboneEntry.weights, weightsHashes) };
          const unit = unitKey({
            kind: 'finetune',
            entry,
            fractions: config.fractions,
            seeds: config.seeds,
            dataset: { id: dataset.id, version: dataset.version, splits, rows: await rowHashes },
            backbone: backbone.id,
            weights,
          });
          const out = join(options.out, 'results', slug(dataset.id), `${slug(backbone.id)}.finetune.json`);
          // Keyed like the results, so changed settings start new checkpoints instead of meeting old ones.
          const checkpointDir = join(options.out, 'checkpoints', slug(dataset.id), `${slug(backbone.id)}.finetune-${unit.slice(0, 16)}`);
          const label = `finetune · ${dataset.id} · ${backbone.id}`;
          await unitResult(out, unit, label, () => {
            io.stderr(`${label}: ${config.fractions.length} fractions × ${config.seeds.length} seeds (checkpoints in ${checkpointDir})\n`);
            return options.finetune!({
              dataset,
              ...('root' in datasetEntry ? { datasetRoot: datasetEntry.root } : {}),
              splits,
              backbone,
              weightsPath: backboneEntry.weights,
              seed: backboneEntry.seed ?? 0,
              entry,
              fractions: config.fractions,
              seeds: config.seeds,
              out,
              checkpointDir,
              extra: { experiment: config.name, unitKey: unit, pretraining: backbone.pretraining },
              io,
              ...(signal ? { signal } : {}),
            });
          });
          continue;
        }
        const { protocol, name, options: protocolOptions } = makeProtocol(protocolEntry);
        const unit = unitKey({
          kind: 'protocol',
          protocol: name,
          protocolOptions,
          fractions: config.fractions,
          seeds: config.seeds,
          features: manifestKeys(sets!),
        });
        const out = join(options.out, 'results', slug(dataset.id), `${slug(backbone.id)}.${name}.json`);
        const label = `${name} · ${dataset.id} · ${backbone.id}`;
        await unitResult(out, unit, label, async () => {
          io.stderr(`${label}: ${config.fractions.length} fractions × ${config.seeds.length} seeds\n`);
          const started = Date.now();
          const result = await evaluateLabelFractions({
            protocol,
            input: { task: sets!.train.manifest.task, train: sets!.train, val: sets!.val, test: sets!.test },
            pool: sets!.train,
            dataset: dataset.id,
            fractions: config.fractions,
            seeds: config.seeds,
            ...(signal ? { signal } : {}),
          });
          return writeEvaluationDocument(out, {
            protocol: name,
            protocolOptions,
            source: featureSetSource(sets!, folders!),
            fractions: config.fractions,
            seeds: config.seeds,
            result,
            elapsedMilliseconds: Date.now() - started,
            // What the weights learnt from, so a report groups backbones without knowing their packages.
            extra: { experiment: config.name, unitKey: unit, pretraining: backbone.pretraining },
          });
        });
      }
    }

    for (const fusion of fusions) {
      signal?.throwIfAborted();
      if (!options.fuse) throw new Error(`fusions[${config.fusions.indexOf(fusion)}]: this runner has no fusion support`);
      const folderLists = Object.fromEntries(ROLES.map((role) => [role, fusion.backbones.map((id) => featureFolders.get(id)![role]!)])) as EvaluationSplits<
        string[]
      >;
      const sets = Object.fromEntries(
        await Promise.all(ROLES.map(async (role) => [role, await Promise.all(folderLists[role].map((folder) => readFeatureSet(folder)))] as const)),
      ) as EvaluationSplits<FeatureSet[]>;
      const unit = unitKey({
        kind: 'fusion',
        fusion,
        fractions: config.fractions,
        seeds: config.seeds,
        features: ROLES.map((role) => sets[role].map((set) => manifestKey(set))),
      });
      const name = `${fusion.method}.${fusion.backbones.map(slug).join('+')}`;
      const out = join(options.out, 'results', slug(dataset.id), `${name}.json`);
      const label = `${fusion.method} · ${dataset.id} · ${fusion.backbones.join(' + ')}`;
      await unitResult(out, unit, label, () => {
        io.stderr(`${label}: ${config.fractions.length} fractions × ${config.seeds.length} seeds\n`);
        return options.fuse!({
          fusion,
          sets,
          folders: folderLists,
          fractions: config.fractions,
          seeds: config.seeds,
          out,
          extra: { experiment: config.name, unitKey: unit },
          io,
          ...(signal ? { signal } : {}),
        });
      });
    }
  }

  const runFile = join(options.out, 'run.json');
  const summaryFile = join(options.out, 'summary.md');
  await writeFileAtomic(
    runFile,
    `${JSON.stringify({ format: 'medssl.run/v1', created: new Date().toISOString(), versions: { medssl: version, node: process.version }, experiment: config.name, config: serializableConfig(config), results: documents, transferability: transferabilityDocuments }, null, 2)}\n`,
  );
  await writeFileAtomic(summaryFile, `# ${config.name}\n\n${summaries.join('\n')}`);
  return { documents, transferability: transferabilityDocuments, computed, reused, runFile, summaryFile };
}

/** The estimators a config asks for, or undefined when it turns them off. */
function transferabilityEstimators(config: ExperimentConfig): EstimatorId[] | undefined {
  const setting = config.transferability ?? true;
  if (setting === false) return undefined;
  return setting === true ? [...ESTIMATOR_IDS] : [...(setting.estimators ?? ESTIMATOR_IDS)];
}

/**
 * Backbones grouped for extraction: those that preprocess alike share a pass over each split (in the order
 * the config names them), unless `together` is false.
 */
function extractionGroups(backbones: readonly ExtractBackbone[], together: boolean): ExtractBackbone[][] {
  if (!together) return backbones.map((backbone) => [backbone]);
  const groups = new Map<string, ExtractBackbone[]>();
  for (const entry of backbones) {
    const key = JSON.stringify(entry.backbone.preprocessing);
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()];
}

/** A registry from a list of providers (or the registry itself). */
export function registryOf(providers: readonly Provider[] | Registry): Registry {
  return Array.isArray(providers) ? createRegistry(providers) : (providers as Registry);
}

async function openEntryDataset(registry: Registry, entry: DatasetEntry): Promise<Dataset> {
  return 'dataset' in entry ? await entry.dataset : registry.openDataset(entry.id, entry.root, entry.options);
}

export function entryBackbone(registry: Registry, entry: BackboneEntry): Backbone {
  return 'backbone' in entry ? entry.backbone : registry.backbone(entry.id, entry.options);
}

/** The dataset's split for each role: as configured, else `train`, the first of `val`/`valid`/`validation`, and `test`. */
export function splitNames(dataset: Dataset, configured: SplitNames | undefined, where: string): EvaluationSplits<string> {
  const candidates = { train: ['train'], val: ['val', 'valid', 'validation'], test: ['test'] } as const;
  const names = {} as Record<(typeof ROLES)[number], string>;
  for (const role of ROLES) {
    const wanted = configured?.[role];
    const name = wanted ?? candidates[role].find((candidate) => dataset.splits.includes(candidate));
    if (name === undefined || !dataset.splits.includes(name)) {
      throw new Error(
        `${where} (${dataset.id}): no ${role} split ${wanted ? `named "${wanted}"` : `among ${candidates[role].join(', ')}`}; its splits are ${dataset.splits.join(', ')} (set ${where}.splits.${role})`,
      );
    }
    names[role] = name;
  }
  return names;
}

function protocolId(entry: ProtocolEntry): ProtocolEntry & string {
  return typeof entry === 'string' ? entry : entry.id;
}

/** A hash of each split's sample ids in order: finetuning results depend on exactly which images there are. */
async function splitRowHashes(dataset: Dataset, splits: EvaluationSplits<string>): Promise<EvaluationSplits<string>> {
  const hashes = await Promise.all(
    ROLES.map(async (role) => {
      const digest = createHash('sha256');
      for await (const sample of dataset.samples(splits[role])) digest.update(`${sample.id}\n`);
      return digest.digest('hex');
    }),
  );
  return { train: hashes[0]!, val: hashes[1]!, test: hashes[2]! };
}

/** The SHA-256 of a checkpoint file, read once per run. */
function checkpointSha256(path: string, known: Map<string, Promise<string>>): Promise<string> {
  const absolute = resolve(path);
  let hash = known.get(absolute);
  if (hash === undefined) {
    hash = fileSha256(absolute).then((file) => file.sha256);
    known.set(absolute, hash);
  }
  return hash;
}

function makeProtocol(entry: ProtocolEntry): { protocol: Protocol; name: 'linear' | 'knn'; options: object } {
  const id = typeof entry === 'string' ? entry : entry.id;
  if (id === 'knn') {
    const options =
      typeof entry === 'object' && entry.id === 'knn'
        ? { ...(entry.k ? { ks: entry.k } : {}), ...(entry.temperature !== undefined ? { temperature: entry.temperature } : {}) }
        : {};
    return { protocol: knnProbe(options), name: 'knn', options };
  }
  return { protocol: linearProbe(), name: 'linear', options: {} };
}

async function readSplits(folders: EvaluationSplits<string>): Promise<EvaluationSplits<FeatureSet>> {
  const [train, val, test] = await Promise.all(ROLES.map((role) => readFeatureSet(folders[role])));
  return { train: train!, val: val!, test: test! };
}

/** What identifies a stored feature set: its content key where the store wrote one, else its whole manifest minus the time. */
function manifestKey(set: FeatureSet): string {
  const { created: _created, ...rest } = set.manifest as unknown as Record<string, unknown>;
  return typeof rest.key === 'string' ? rest.key : hash(rest);
}

function manifestKeys(sets: EvaluationSplits<FeatureSet>): string[] {
  return ROLES.map((role) => manifestKey(sets[role]));
}

function unitKey(parts: object): string {
  return hash({ format: 'medssl.run-unit/v1', ...parts });
}

function hash(value: unknown): string {
  return sha256Hex(JSON.stringify(value));
}

/** A stored results document when it exists and was made from the same inputs; undefined otherwise. */
async function storedDocument(path: string, key: string): Promise<object | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const document = JSON.parse(text) as { unitKey?: unknown };
    return document.unitKey === key ? document : undefined;
  } catch {
    // Written atomically, so a damaged file is not ours to trust: recompute it.
    return undefined;
  }
}

function summaryOf(document: object, title: string): string {
  const { task, summary } = document as { task: { primaryMetric: string }; summary: Parameters<typeof markdownSummary>[1] };
  return markdownSummary(task.primaryMetric, summary, title);
}

/** The config as JSON can hold it: opened plugins are replaced by their ids. */
function serializableConfig(config: ExperimentConfig): object {
  return {
    ...config,
    datasets: config.datasets.map((entry) => {
      if (!('dataset' in entry)) return entry;
      const { dataset: _dataset, ...rest } = entry;
      return { dataset: '(object)', ...rest };
    }),
    backbones: config.backbones.map((entry) =>
      'backbone' in entry
        ? { id: entry.backbone.id, ...(entry.weights ? { weights: entry.weights } : {}), ...(entry.seed !== undefined ? { seed: entry.seed } : {}) }
        : entry,
    ),
  };
}
