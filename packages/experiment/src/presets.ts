import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Modality, Provider } from '@medssl/spec';
import type { BackboneEntry, DatasetEntry, ExperimentConfig, ProtocolEntry } from './config.js';
import { ExperimentRequestError } from './errors.js';
import type { Registry } from './registry.js';
import { registryOf } from './runner.js';

export interface PaperExperimentOptions {
  /** A folder holding each data set in its official layout, under its conventional name (`pcam/`, `aptos/`, `chestxray14/`). */
  readonly dataRoot: string;
  /** A folder holding the official checkpoint files under their published names. */
  readonly weightsRoot: string;
  readonly seeds?: readonly number[];
  /** Small, medium and full label fractions. */
  readonly fractions?: readonly number[];
  /** Default: linear, kNN and finetuning at the papers' 224x224 (finetuning prints its time estimate first). */
  readonly protocols?: readonly ProtocolEntry[];
}

/** The preset's protocols: linear evaluation and kNN on frozen features, and finetuning. */
export const PAPER_PROTOCOLS: readonly ProtocolEntry[] = ['linear', 'knn', 'finetune'];

/** medssl's label fractions and seeds for the presets (the paper's abstract states neither). */
const PRESET_FRACTIONS = [0.01, 0.1, 1];
const PRESET_SEEDS = [0, 1, 2];

/** A backbone a preset names whose checkpoint is not in the weights folder. */
export interface MissingCheckpoint {
  readonly id: string;
  /** The published file names it would read, with where they are published. */
  readonly expected: string;
}

/** The paper's datasets, each from its conventional folder under `dataRoot`, with its modality. */
function paperDatasets(registry: Registry, dataRoot: string): { id: string; root: string; modality: Modality | undefined }[] {
  return registry.datasets.flatMap((provider) =>
    provider.datasets
      .filter((info) => info.presets?.includes('paper'))
      .map((info) => ({ id: info.id, root: join(dataRoot, info.folder ?? info.id), modality: info.modality })),
  );
}

/** Each backbone with its checkpoint from `weightsRoot` (or its seed), and those whose checkpoint is not there. */
function backboneEntries(registry: Registry, ids: readonly string[], weightsRoot: string): { entries: BackboneEntry[]; missing: MissingCheckpoint[] } {
  const entries: BackboneEntry[] = [];
  const missing: MissingCheckpoint[] = [];
  for (const id of ids) {
    const backbone = registry.backbone(id);
    if (backbone.weightSource === 'seed') {
      entries.push({ id, seed: 0 });
      continue;
    }
    const found = backbone.checkpoints.map((checkpoint) => join(weightsRoot, checkpoint.file)).find((path) => existsSync(path));
    if (found === undefined) missing.push({ id, expected: backbone.checkpoints.map((checkpoint) => `${checkpoint.file} (${checkpoint.url})`).join(' or ') });
    else entries.push({ id, weights: found });
  }
  return { entries, missing };
}

/**
 * The paper's design as an experiment, from what the providers say of themselves: every dataset whose
 * provider lists it for the `paper` preset (PCam, APTOS 2019, ChestX-ray14's 14 findings and pneumonia),
 * every backbone variant listed for it (SimCLR, SwAV, DINO, supervised, random init), linear evaluation,
 * kNN and finetuning at small, medium and full label fractions, and DVME over the self-supervised ones.
 * Checkpoints are found in `weightsRoot` under the names each method publishes them with.
 */
export function paperExperiment(providers: readonly Provider[] | Registry, options: PaperExperimentOptions): ExperimentConfig {
  const registry = registryOf(providers);
  const datasets: DatasetEntry[] = paperDatasets(registry, options.dataRoot).map(({ id, root }) => ({ id, root }));
  const ids = presetBackboneIds(registry, 'paper');
  const { entries, missing } = backboneEntries(registry, ids, options.weightsRoot);
  if (missing.length > 0) {
    throw new ExperimentRequestError(`paper preset: no checkpoint for ${missing[0]!.id} in ${options.weightsRoot}; expected ${missing[0]!.expected}`);
  }
  const selfSupervised = ids.filter((id) => registry.backbone(id).pretraining.supervision === 'self-supervised');
  return {
    name: 'paper',
    datasets,
    backbones: entries,
    protocols: options.protocols ?? PAPER_PROTOCOLS,
    fusions: [{ method: 'dvme', backbones: selfSupervised }],
    fractions: options.fractions ?? PRESET_FRACTIONS,
    seeds: options.seeds ?? PRESET_SEEDS,
  };
}

export interface FoundationExperimentOptions extends Omit<PaperExperimentOptions, 'protocols'> {
  /** Default: linear evaluation and kNN on frozen features. */
  readonly protocols?: readonly ProtocolEntry[];
}

/** The foundation preset, and what it left out: backbones whose checkpoints, and tasks whose folders, are not there. */
export interface FoundationExperiment {
  readonly config: ExperimentConfig;
  readonly missing: readonly MissingCheckpoint[];
  /** Tasks whose data folder does not exist under `dataRoot`. */
  readonly missingDatasets: readonly { readonly id: string; readonly root: string }[];
}

/**
 * Does in-domain self-supervised pretraining beat ImageNet pretraining on the paper's tasks? The paper's
 * datasets and backbones, plus every variant the providers list for the `foundation` preset: modern
 * natural-image ones (DINOv2, MAE) on every task, and each in-domain model (pretraining domain = a
 * dataset's modality: RAD-DINO for the chest X-ray tasks, Phikon for PCam, RETFound for APTOS) on the tasks
 * of its modality only; linear evaluation and kNN at the preset's fractions and seeds. Backbones whose
 * checkpoints are not in `weightsRoot`, and tasks whose folders are not in `dataRoot`, are left out and
 * listed (`missing`, `missingDatasets`), not fatal.
 */
export function foundationExperiment(providers: readonly Provider[] | Registry, options: FoundationExperimentOptions): FoundationExperiment {
  const registry = registryOf(providers);
  const all = paperDatasets(registry, options.dataRoot);
  const datasets = all.filter((dataset) => existsSync(dataset.root));
  if (datasets.length === 0) {
    throw new ExperimentRequestError(
      `foundation preset: none of its tasks' folders is in ${options.dataRoot}; expected ${[...new Set(all.map((dataset) => dataset.root))].join(', ')}`,
    );
  }
  const missingDatasets = all.filter((dataset) => !datasets.includes(dataset)).map(({ id, root }) => ({ id, root }));
  const modalities = new Set(datasets.map((dataset) => dataset.modality));
  const ids = [...new Set([...presetBackboneIds(registry, 'paper'), ...presetBackboneIds(registry, 'foundation')])].filter((id) => {
    const { domain } = registry.backbone(id).pretraining;
    return domain === 'natural' || modalities.has(domain as Modality);
  });
  const { entries, missing } = backboneEntries(registry, ids, options.weightsRoot);
  if (entries.length === 0) {
    throw new ExperimentRequestError(
      `foundation preset: none of its backbones has a checkpoint in ${options.weightsRoot}; expected ${missing.map((entry) => entry.expected).join('; ')}`,
    );
  }
  const present = entries.map((entry) => ('id' in entry ? entry.id : entry.backbone.id));
  const config: ExperimentConfig = {
    name: 'foundation',
    datasets: datasets.map(({ id, root, modality }) => ({
      id,
      root,
      // Natural-image and random backbones everywhere; an in-domain one only on its own modality.
      backbones: present.filter((backboneId) => {
        const { domain } = registry.backbone(backboneId).pretraining;
        return domain === 'natural' || domain === modality;
      }),
    })),
    backbones: entries,
    protocols: options.protocols ?? ['linear', 'knn'],
    fractions: options.fractions ?? PRESET_FRACTIONS,
    seeds: options.seeds ?? PRESET_SEEDS,
  };
  return { config, missing, missingDatasets };
}

/** The backbone ids a preset names, in the order of the providers. */
export function presetBackboneIds(registry: Registry, preset: string): string[] {
  return registry.backbones.flatMap((provider) => (provider.presets?.[preset] ?? []).map((variant) => `${provider.method}:${variant}`));
}
