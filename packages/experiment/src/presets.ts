import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Provider } from '@medssl/spec';
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

/**
 * The paper's design as an experiment, from what the providers say of themselves: every dataset whose
 * provider lists it for the `paper` preset (PCam, APTOS 2019, ChestX-ray14's 14 findings and pneumonia),
 * every backbone variant listed for it (SimCLR, SwAV, DINO, supervised, random init), linear evaluation,
 * kNN and finetuning at small, medium and full label fractions, and DVME over the self-supervised ones.
 * Checkpoints are found in `weightsRoot` under the names each method publishes them with.
 */
export function paperExperiment(providers: readonly Provider[] | Registry, options: PaperExperimentOptions): ExperimentConfig {
  const registry = registryOf(providers);
  const datasets: DatasetEntry[] = registry.datasets.flatMap((provider) =>
    provider.datasets.filter((info) => info.presets?.includes('paper')).map((info) => ({ id: info.id, root: join(options.dataRoot, info.folder ?? info.id) })),
  );
  const ids = presetBackboneIds(registry, 'paper');
  const backbones: BackboneEntry[] = ids.map((id) => {
    const backbone = registry.backbone(id);
    if (backbone.weightSource === 'seed') return { id, seed: 0 };
    const found = backbone.checkpoints.map((checkpoint) => join(options.weightsRoot, checkpoint.file)).find((path) => existsSync(path));
    if (found === undefined) {
      const wanted = backbone.checkpoints.map((checkpoint) => `${checkpoint.file} (${checkpoint.url})`).join(' or ');
      throw new ExperimentRequestError(`paper preset: no checkpoint for ${id} in ${options.weightsRoot}; expected ${wanted}`);
    }
    return { id, weights: found };
  });
  const selfSupervised = ids.filter((id) => registry.backbone(id).pretraining.supervision === 'self-supervised');
  return {
    name: 'paper',
    datasets,
    backbones,
    protocols: options.protocols ?? PAPER_PROTOCOLS,
    fusions: [{ method: 'dvme', backbones: selfSupervised }],
    fractions: options.fractions ?? [0.01, 0.1, 1],
    seeds: options.seeds ?? [0, 1, 2],
  };
}

/** The backbone ids a preset names, in the order of the providers. */
export function presetBackboneIds(registry: Registry, preset: string): string[] {
  return registry.backbones.flatMap((provider) => (provider.presets?.[preset] ?? []).map((variant) => `${provider.method}:${variant}`));
}
