import { fileSha256 } from '@medssl/arrays/node';
import type { Backbone, CanonicalWeights, StateDict } from '@medssl/spec';
import { architectureName, randomCanonicalWeights, type ReadCheckpointOptions } from '@medssl/weights';
import { readCheckpointFile } from '@medssl/weights/node';
import { ExperimentRequestError } from './errors.js';
import type { Registry } from './registry.js';

/**
 * How medssl reads official checkpoints: DINO's and iBOT's full checkpoints pickle their training arguments
 * as an argparse.Namespace, kept as an inert record (never constructed); any other global is refused.
 */
export const CHECKPOINT_READ_OPTIONS: ReadCheckpointOptions = { allowOpaqueObjects: ['argparse.Namespace'] };

/**
 * A backbone's canonical weights, by where its weights come from: drawn from `seed` (random
 * initialisation), read from the checkpoint file without running any of it, or (a model file) hashed only,
 * since the runtime reads the file itself.
 */
export async function loadBackboneWeights(backbone: Backbone, weightsPath: string | undefined, seed: number): Promise<CanonicalWeights> {
  checkWeightsRequest(backbone, weightsPath);
  if (backbone.weightSource === 'seed') return randomCanonicalWeights(backbone.architecture, seed);
  if (backbone.architecture.family === 'model-file') {
    const { sha256 } = await fileSha256(backbone.architecture.path);
    return { architecture: backbone.architecture, tensors: new Map(), sha256, source: backbone.architecture.path };
  }
  const checkpoint = await readCheckpointFile(weightsPath!, CHECKPOINT_READ_OPTIONS);
  return backbone.fromStateDict(checkpoint.stateDict, { sha256: checkpoint.sha256, source: weightsPath! });
}

/** Refuses, before anything loads, a checkpoint missing where the backbone needs one or given where it takes none. */
export function checkWeightsRequest(backbone: Backbone, weightsPath: string | undefined): void {
  if (backbone.weightSource === 'seed' && weightsPath !== undefined) {
    throw new ExperimentRequestError(`${backbone.id} takes no --weights: its weights are drawn from --seed`);
  }
  if (backbone.weightSource === 'model-file' && weightsPath !== undefined) {
    throw new ExperimentRequestError(`${backbone.id} takes no --weights: the model file holds them`);
  }
  if (backbone.weightSource === 'checkpoint' && weightsPath === undefined) {
    const files = backbone.checkpoints.map((checkpoint) => `${checkpoint.file} (${checkpoint.url})`).join('; ');
    throw new ExperimentRequestError(`${backbone.id} needs --weights FILE: ${files || 'its official checkpoint'}`);
  }
}

/** Backbones that read one checkpoint: they share a layout and an architecture. */
export interface CheckpointReaders {
  /** The layout's name, e.g. `Hugging Face Dinov2Model`. */
  readonly layout: string;
  /** e.g. `ViT-B/14, 12 blocks, no registers`. */
  readonly architecture: string;
  readonly backbones: readonly string[];
}

/**
 * Which backbones of a registry read a state dict: the backbones are grouped by layout name and
 * architecture (one group reads the same files), and one of each group maps the state dict; the groups
 * whose mapping succeeds are returned, in the registry's order.
 */
export function checkpointReaders(registry: Registry, stateDict: StateDict): CheckpointReaders[] {
  const groups = new Map<string, { layout: string; backbones: Backbone[] }>();
  for (const provider of registry.backbones) {
    if (provider.variantPattern !== undefined) continue;
    for (const variant of provider.variants) {
      const backbone = provider.backbone(variant);
      if (backbone.weightSource !== 'checkpoint' || backbone.layout === undefined) continue;
      const key = JSON.stringify([backbone.layout, backbone.architecture]);
      const group = groups.get(key) ?? { layout: backbone.layout, backbones: [] };
      group.backbones.push(backbone);
      groups.set(key, group);
    }
  }
  const readers: CheckpointReaders[] = [];
  for (const { layout, backbones } of groups.values()) {
    try {
      backbones[0]!.fromStateDict(stateDict, { sha256: '', source: 'inspected checkpoint' });
    } catch {
      continue;
    }
    readers.push({ layout, architecture: architectureName(backbones[0]!.architecture), backbones: backbones.map((backbone) => backbone.id) });
  }
  return readers;
}
