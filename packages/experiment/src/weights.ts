import { fileSha256 } from '@medssl/arrays/node';
import type { Backbone, CanonicalWeights } from '@medssl/spec';
import { randomCanonicalWeights } from '@medssl/weights';
import { readCheckpointFile } from '@medssl/weights/node';
import { ExperimentRequestError } from './errors.js';

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
  // DINO's full checkpoints pickle their training arguments as an argparse.Namespace: it is kept as an
  // inert record (never constructed); any other global is still refused.
  const checkpoint = await readCheckpointFile(weightsPath!, { allowOpaqueObjects: ['argparse.Namespace'] });
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
