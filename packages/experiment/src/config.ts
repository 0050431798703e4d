import { DEFAULT_FRACTIONS, assertFraction, quoteForMessage } from '@medssl/core';
import { MODALITIES } from '@medssl/protocol-finetune';
import type { Backbone, Dataset, Modality, ProviderOptions } from '@medssl/spec';
import { ESTIMATOR_IDS, type EstimatorId } from '@medssl/transferability';
import { FINETUNE_RUNTIMES, type FinetuneEvaluationOptions } from './finetune-evaluation.js';

/**
 * An experiment: datasets × backbones × protocols × label fractions × seeds, plus fusions over chosen
 * backbone combinations. Write it in `medssl.config.ts` with the plugins' factories, or as JSON with ids:
 *
 * ```ts
 * export default defineExperiment({
 *   name: 'pcam-ssl',
 *   datasets: [{ id: 'pcam', root: 'data/pcam' }],
 *   backbones: [{ id: 'dino:vits16', weights: 'weights/dino_deitsmall16_pretrain.pth' }, { id: 'random:resnet50' }],
 *   protocols: ['linear', 'knn', { id: 'finetune', epochs: 10 }],
 *   fusions: [{ method: 'dvme', backbones: ['dino:vits16', 'random:resnet50'] }],
 *   fractions: [0.01, 0.1, 1],
 *   seeds: [0, 1, 2],
 * });
 * ```
 */
export interface ExperimentConfig {
  readonly name: string;
  readonly datasets: readonly DatasetEntry[];
  readonly backbones: readonly BackboneEntry[];
  readonly protocols: readonly ProtocolEntry[];
  readonly fusions?: readonly FusionEntry[];
  /** Label fractions of the training split; default 0.01, 0.1, 1 as in core's DEFAULT_FRACTIONS. */
  readonly fractions?: readonly number[];
  readonly seeds?: readonly number[];
  readonly extraction?: ExtractionSettings;
  /**
   * Transferability estimates of every backbone's training features at every fraction and seed, ranked in
   * the report against the linear probe: on by default (where a dataset has two or more backbones);
   * `false` turns them off, `{ estimators: ['logme', 'knn'] }` picks some.
   */
  readonly transferability?: boolean | { readonly estimators?: readonly EstimatorId[]; readonly maxRows?: number };
}

/**
 * A dataset by id and root (`{ id: 'pcam', root }`, with the provider's `options` if any) or an opened plugin
 * (`{ dataset: await pcam({ root }) }`).
 */
export type DatasetEntry = (
  | { readonly id: string; readonly root: string; readonly options?: ProviderOptions }
  | { readonly dataset: Dataset | Promise<Dataset> }
) & {
  readonly splits?: SplitNames;
  /**
   * The ids of the config's backbones that run on this dataset (all of them when absent), e.g. an
   * in-domain model only on the tasks of its modality. A fusion runs where all its sources do.
   */
  readonly backbones?: readonly string[];
};

/** Which of the dataset's splits play train, validation and test; found by name when absent. */
export interface SplitNames {
  readonly train?: string;
  readonly val?: string;
  readonly test?: string;
}

/**
 * A backbone by id (`dino:vits16`) or made by its package's factory (`dino({ variant: 'vits16' })`), with
 * the checkpoint file it needs (none for `random:*`, whose weights come from `seed`).
 */
export type BackboneEntry =
  | { readonly id: string; readonly weights?: string; readonly seed?: number; readonly options?: ProviderOptions }
  | { readonly backbone: Backbone; readonly weights?: string; readonly seed?: number };

export type ProtocolEntry =
  | 'linear'
  | 'knn'
  | 'finetune'
  | { readonly id: 'linear' }
  | { readonly id: 'knn'; readonly k?: readonly number[]; readonly temperature?: number }
  | FinetuneEntry;

/**
 * Finetuning the backbone with a linear head on the dataset's images (TensorFlow.js), at the config's
 * fractions and seeds. Every epoch is saved under the run's `checkpoints/`, so an interrupted run continues
 * from its last finished epoch. Unset fields take `medssl eval finetune`'s defaults (224x224, 20 epochs).
 */
export interface FinetuneEntry extends Pick<FinetuneEvaluationOptions, FinetuneSetting> {
  readonly id: 'finetune';
}

/** What a finetune entry may set, as `runFinetuneEvaluation` takes it. */
const FINETUNE_SETTINGS = [
  'epochs',
  'patience',
  'batchSize',
  'backboneLearningRate',
  'headLearningRate',
  'frozenStages',
  'resize',
  'crop',
  'modality',
  'runtime',
  'limit',
  'evalLimit',
] as const;
type FinetuneSetting = (typeof FINETUNE_SETTINGS)[number];

export type FusionMethod = 'dvme' | 'dme' | 'concat';

export interface FusionEntry {
  readonly method: FusionMethod;
  /** Backbone ids from `backbones`, two or more, in the order the sources are fed. */
  readonly backbones: readonly string[];
  readonly epochs?: number;
}

export interface ExtractionSettings {
  /** Embed only the first N samples of each split (quick looks; the key of the stored features includes it). */
  readonly limit?: number;
  readonly batch?: number;
  readonly threads?: number;
  readonly workers?: number;
  /** Resize the shorter side to N and centre-crop to `crop` instead of each backbone's default. */
  readonly resize?: number;
  readonly crop?: number;
  /**
   * Embed the backbones that preprocess alike in one pass over each split, so that each image is decoded and
   * preprocessed once for all of them; default true. False holds one model in memory at a time.
   */
  readonly together?: boolean;
}

/** Types an experiment config in `medssl.config.ts`; returns it unchanged. */
export function defineExperiment(config: ExperimentConfig): ExperimentConfig {
  return config;
}

/** A mistake in an experiment config; the message names the path in the config (`datasets[1].root`). */
export class ExperimentConfigError extends Error {
  override readonly name = 'ExperimentConfigError';
}

const PROTOCOL_IDS = ['linear', 'knn', 'finetune'] as const;
const FINETUNE_INTEGERS = ['epochs', 'patience', 'batchSize', 'resize', 'crop', 'limit', 'evalLimit'] as const;
const FUSION_METHODS: readonly FusionMethod[] = ['dvme', 'dme', 'concat'];

/**
 * Checks a config read from JSON or a module, before anything runs: every error names where it is and
 * what was expected. Returns the config with defaults filled in.
 */
export function validateExperimentConfig(
  value: unknown,
  source = 'config',
): Required<Pick<ExperimentConfig, 'fractions' | 'seeds' | 'fusions'>> & ExperimentConfig {
  const fail = (path: string, message: string): never => {
    throw new ExperimentConfigError(`${source}: ${path}: ${message}`);
  };
  if (!isRecord(value)) return fail('(top level)', `expected an object, got ${describe(value)}`);
  const name = value.name;
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) fail('name', `expected a name of letters, digits, ".", "_" or "-", got ${describe(name)}`);
  const list = (key: string, required: boolean): unknown[] => {
    const entries = value[key];
    if (entries === undefined && !required) return [];
    if (!Array.isArray(entries) || (required && entries.length === 0)) return fail(key, `expected a non-empty array, got ${describe(entries)}`);
    return entries;
  };
  const datasets = list('datasets', true);
  datasets.forEach((entry, index) => {
    const path = `datasets[${index}]`;
    if (!isRecord(entry)) return fail(path, `expected { id, root } or { dataset }, got ${describe(entry)}`);
    if ('dataset' in entry) {
      if (!isRecord(entry.dataset) && !(entry.dataset instanceof Promise)) fail(`${path}.dataset`, `expected a dataset object, got ${describe(entry.dataset)}`);
    } else {
      if (typeof entry.id !== 'string') fail(`${path}.id`, `expected a dataset id, got ${describe(entry.id)}`);
      if (typeof entry.root !== 'string') fail(`${path}.root`, `expected the dataset's folder, got ${describe(entry.root)}`);
    }
    if (entry.options !== undefined && !isRecord(entry.options))
      fail(`${path}.options`, `expected the provider's options as an object, got ${describe(entry.options)}`);
    if (entry.splits !== undefined) {
      if (!isRecord(entry.splits)) return fail(`${path}.splits`, `expected { train, val, test } split names, got ${describe(entry.splits)}`);
      for (const [role, split] of Object.entries(entry.splits)) {
        if (!['train', 'val', 'test'].includes(role)) fail(`${path}.splits.${role}`, 'expected only train, val and test');
        if (typeof split !== 'string') fail(`${path}.splits.${role}`, `expected a split name, got ${describe(split)}`);
      }
    }
  });
  const backboneIds = new Set<string>();
  list('backbones', true).forEach((entry, index) => {
    const path = `backbones[${index}]`;
    if (!isRecord(entry)) return fail(path, `expected { id, weights } or { backbone, weights }, got ${describe(entry)}`);
    const id = 'backbone' in entry ? (isRecord(entry.backbone) ? entry.backbone.id : undefined) : entry.id;
    if (typeof id !== 'string') return fail('backbone' in entry ? `${path}.backbone` : `${path}.id`, `expected a backbone id or object, got ${describe(id)}`);
    if (backboneIds.has(id)) fail(path, `backbone ${id} is listed twice`);
    backboneIds.add(id);
    if (entry.weights !== undefined && typeof entry.weights !== 'string') fail(`${path}.weights`, `expected a checkpoint path, got ${describe(entry.weights)}`);
    if (entry.seed !== undefined && !isNonNegativeInteger(entry.seed)) fail(`${path}.seed`, `expected a non-negative integer, got ${describe(entry.seed)}`);
    if (entry.options !== undefined && !isRecord(entry.options))
      fail(`${path}.options`, `expected the provider's options as an object, got ${describe(entry.options)}`);
  });
  list('protocols', true).forEach((entry, index) => {
    const id = typeof entry === 'string' ? entry : isRecord(entry) ? entry.id : undefined;
    if (!PROTOCOL_IDS.includes(id as (typeof PROTOCOL_IDS)[number]))
      fail(`protocols[${index}]`, `expected one of ${PROTOCOL_IDS.join(', ')}, got ${describe(id)}`);
    if (isRecord(entry) && entry.k !== undefined && (!Array.isArray(entry.k) || !entry.k.every((k) => isNonNegativeInteger(k) && k > 0))) {
      fail(`protocols[${index}].k`, `expected positive integers, got ${describe(entry.k)}`);
    }
    if (isRecord(entry) && id === 'finetune') validateFinetuneEntry(entry, `protocols[${index}]`, fail);
  });
  datasets.forEach((entry, index) => {
    const chosen = (entry as Record<string, unknown>).backbones;
    if (chosen === undefined) return;
    const path = `datasets[${index}].backbones`;
    if (!Array.isArray(chosen) || chosen.length === 0) return fail(path, `expected a non-empty array of backbone ids, got ${describe(chosen)}`);
    for (const id of chosen as unknown[]) {
      if (typeof id !== 'string' || !backboneIds.has(id)) fail(path, `${describe(id)} is not one of the config's backbones (${[...backboneIds].join(', ')})`);
    }
  });
  const fusions = list('fusions', false);
  fusions.forEach((entry, index) => {
    const path = `fusions[${index}]`;
    if (!isRecord(entry)) return fail(path, `expected { method, backbones }, got ${describe(entry)}`);
    if (!FUSION_METHODS.includes(entry.method as FusionMethod))
      fail(`${path}.method`, `expected one of ${FUSION_METHODS.join(', ')}, got ${describe(entry.method)}`);
    if (!Array.isArray(entry.backbones) || entry.backbones.length < 2)
      fail(`${path}.backbones`, `expected two or more backbone ids, got ${describe(entry.backbones)}`);
    for (const id of entry.backbones as unknown[]) {
      if (typeof id !== 'string' || !backboneIds.has(id))
        fail(`${path}.backbones`, `${describe(id)} is not one of the config's backbones (${[...backboneIds].join(', ')})`);
    }
    if (entry.epochs !== undefined && !(isNonNegativeInteger(entry.epochs) && entry.epochs > 0))
      fail(`${path}.epochs`, `expected a positive integer, got ${describe(entry.epochs)}`);
  });
  const fractions = value.fractions === undefined ? DEFAULT_FRACTIONS : value.fractions;
  if (!Array.isArray(fractions) || fractions.length === 0) fail('fractions', `expected a non-empty array of fractions in (0, 1], got ${describe(fractions)}`);
  (fractions as unknown[]).forEach((fraction, index) => {
    try {
      assertFraction(fraction as number);
    } catch (error) {
      fail(`fractions[${index}]`, (error as Error).message);
    }
  });
  const seeds = value.seeds === undefined ? [0] : value.seeds;
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every(isNonNegativeInteger))
    fail('seeds', `expected non-negative integers, got ${describe(seeds)}`);
  const extraction = value.extraction;
  if (extraction !== undefined) {
    if (!isRecord(extraction)) fail('extraction', `expected an object, got ${describe(extraction)}`);
    for (const [key, setting] of Object.entries(extraction as Record<string, unknown>)) {
      if (!['limit', 'batch', 'threads', 'workers', 'resize', 'crop', 'together'].includes(key))
        fail(`extraction.${key}`, 'unknown setting; known: limit, batch, threads, workers, resize, crop, together');
      if (key === 'together') {
        if (typeof setting !== 'boolean') fail('extraction.together', `expected true or false, got ${describe(setting)}`);
      } else if (!(isNonNegativeInteger(setting) && setting > 0)) fail(`extraction.${key}`, `expected a positive integer, got ${describe(setting)}`);
    }
  }
  const transferability = value.transferability;
  if (transferability !== undefined && typeof transferability !== 'boolean') {
    if (!isRecord(transferability)) fail('transferability', `expected true, false or { estimators, maxRows }, got ${describe(transferability)}`);
    const chosen = (transferability as Record<string, unknown>).estimators;
    for (const key of Object.keys(transferability as object)) {
      if (key !== 'estimators' && key !== 'maxRows') fail(`transferability.${key}`, 'unknown setting; known: estimators, maxRows');
    }
    const maxRows = (transferability as Record<string, unknown>).maxRows;
    if (maxRows !== undefined && !(isNonNegativeInteger(maxRows) && maxRows >= 3))
      fail('transferability.maxRows', `expected an integer of at least 3, got ${describe(maxRows)}`);
    if (chosen !== undefined && (!Array.isArray(chosen) || chosen.length === 0 || !chosen.every((id) => ESTIMATOR_IDS.includes(id as EstimatorId)))) {
      fail('transferability.estimators', `expected some of ${ESTIMATOR_IDS.join(', ')}, got ${describe(chosen)}`);
    }
  }
  const config = value as unknown as ExperimentConfig;
  return { ...config, fractions: fractions as number[], seeds: seeds as number[], fusions: fusions as FusionEntry[] };
}

function validateFinetuneEntry(entry: Record<string, unknown>, path: string, fail: (path: string, message: string) => never): void {
  for (const key of Object.keys(entry)) {
    if (key !== 'id' && !FINETUNE_SETTINGS.includes(key as FinetuneSetting))
      fail(`${path}.${key}`, `unknown finetune setting; known: ${FINETUNE_SETTINGS.join(', ')}`);
  }
  for (const key of FINETUNE_INTEGERS) {
    if (entry[key] !== undefined && !(isNonNegativeInteger(entry[key]) && entry[key] > 0))
      fail(`${path}.${key}`, `expected a positive integer, got ${describe(entry[key])}`);
  }
  if (entry.frozenStages !== undefined && !isNonNegativeInteger(entry.frozenStages))
    fail(`${path}.frozenStages`, `expected a non-negative integer, got ${describe(entry.frozenStages)}`);
  for (const key of ['backboneLearningRate', 'headLearningRate']) {
    const rate = entry[key];
    if (rate !== undefined && !(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0))
      fail(`${path}.${key}`, `expected a non-negative number, got ${describe(rate)}`);
  }
  if (entry.modality !== undefined && !MODALITIES.includes(entry.modality as Modality))
    fail(`${path}.modality`, `expected one of ${MODALITIES.join(', ')}, got ${describe(entry.modality)}`);
  if (entry.runtime !== undefined && !Object.hasOwn(FINETUNE_RUNTIMES, entry.runtime as string)) {
    fail(`${path}.runtime`, `expected one of ${Object.keys(FINETUNE_RUNTIMES).join(', ')}, got ${describe(entry.runtime)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Promise);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  return quoteForMessage(value);
}
