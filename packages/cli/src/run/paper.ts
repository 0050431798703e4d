import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBackbone } from '../backbones.js';
import type { BackboneEntry, DatasetEntry, ExperimentConfig, ProtocolEntry } from './config.js';

/** The paper's self-supervised backbones (Truong et al. 2021), fused by DVME. */
export const PAPER_SSL_BACKBONES = ['simclr:resnet50-1x', 'swav:resnet50', 'dino:vits16'] as const;
/** The paper's baselines: ImageNet-supervised and random initialisation. */
export const PAPER_BASELINES = ['supervised:resnet50', 'random:resnet50'] as const;

export interface PaperExperimentOptions {
  /** A folder holding each data set in its official layout: `pcam/`, `aptos/`, `chestxray14/`. */
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
 * The paper's design as an experiment: PCam (AUC), APTOS 2019 (quadratic kappa), ChestX-ray14 with its 14
 * findings (mean AUC) and pneumonia from ChestX-ray14 (AUC); SimCLR, SwAV, DINO, supervised and random
 * init; linear evaluation (and kNN) and finetuning at small, medium and full label fractions; DVME over the
 * SSL backbones.
 * Checkpoints are found in `weightsRoot` under the names each method publishes them with.
 */
export function paperExperiment(options: PaperExperimentOptions): ExperimentConfig {
  const datasets: DatasetEntry[] = [
    { id: 'pcam', root: join(options.dataRoot, 'pcam') },
    { id: 'aptos', root: join(options.dataRoot, 'aptos') },
    { id: 'chestxray14', root: join(options.dataRoot, 'chestxray14') },
    { id: 'chestxray14:pneumonia', root: join(options.dataRoot, 'chestxray14') },
  ];
  const backbones: BackboneEntry[] = [...PAPER_SSL_BACKBONES, ...PAPER_BASELINES].map((id) => {
    const backbone = resolveBackbone(id);
    if (backbone.method === 'random') return { id, seed: 0 };
    const found = backbone.checkpoints.map((checkpoint) => join(options.weightsRoot, checkpoint.file)).find((path) => existsSync(path));
    if (found === undefined) {
      const wanted = backbone.checkpoints.map((checkpoint) => `${checkpoint.file} (${checkpoint.url})`).join(' or ');
      throw new Error(`paper preset: no checkpoint for ${id} in ${options.weightsRoot}; expected ${wanted}`);
    }
    return { id, weights: found };
  });
  return {
    name: 'paper',
    datasets,
    backbones,
    protocols: options.protocols ?? PAPER_PROTOCOLS,
    fusions: [{ method: 'dvme', backbones: [...PAPER_SSL_BACKBONES] }],
    fractions: options.fractions ?? [0.01, 0.1, 1],
    seeds: options.seeds ?? [0, 1, 2],
  };
}
