import { dino, type DinoVariant } from '@medssl/backbone-dino';
import { simclr, type SimclrVariant } from '@medssl/backbone-simclr';
import { random, randomWeights, supervised } from '@medssl/backbone-supervised';
import { swav } from '@medssl/backbone-swav';
import type { Backbone, CanonicalWeights } from '@medssl/spec';
import { readCheckpointFile } from '@medssl/weights/node';
import { UsageError } from './command.js';

/** Backbone ids of ARCHITECTURE.md, each made by its package's factory. */
export const BACKBONE_IDS = [
  'simclr:resnet50-1x', 'simclr:resnet50-2x', 'simclr:resnet50-4x',
  'swav:resnet50',
  'dino:vits16', 'dino:vits8', 'dino:vitb16', 'dino:vitb8', 'dino:resnet50',
  'dino:vits16-cls', 'dino:vits8-cls', 'dino:vitb16-cls', 'dino:vitb8-cls',
  'supervised:resnet50',
  'random:resnet50', 'random:vits16',
] as const;

export function resolveBackbone(id: string): Backbone {
  const [method, variant = ''] = id.split(':', 2) as [string, string?];
  switch (method) {
    case 'simclr':
      return simclr({ variant: variant as SimclrVariant });
    case 'swav':
      return swav({ variant: variant as 'resnet50' });
    case 'dino': {
      const plain = variant.endsWith('-cls') ? variant.slice(0, -'-cls'.length) : variant;
      return dino({ variant: plain as DinoVariant, ...(plain !== variant ? { embedding: 'cls' as const } : {}) });
    }
    case 'supervised':
      return supervised({ variant: variant as 'resnet50' });
    case 'random':
      return random({ architecture: variant as 'resnet50' | 'vits16' });
    default:
      throw new UsageError(`unknown backbone ${JSON.stringify(id)}; known: ${BACKBONE_IDS.join(', ')}, onnx:<path>`);
  }
}

/** Canonical weights for a backbone: seeded for `random:*`, else read from the checkpoint file without running any of it. */
export async function loadWeights(backbone: Backbone, weightsPath: string | undefined, seed: number): Promise<CanonicalWeights> {
  if (backbone.method === 'random') {
    if (weightsPath !== undefined) throw new UsageError(`${backbone.id} takes no --weights: its weights are drawn from --seed`);
    return randomWeights(backbone, seed);
  }
  if (weightsPath === undefined) {
    const files = backbone.checkpoints.map((checkpoint) => `${checkpoint.file} (${checkpoint.url})`).join('; ');
    throw new UsageError(`${backbone.id} needs --weights FILE: ${files || 'its official checkpoint'}`);
  }
  // DINO's full checkpoints pickle their training arguments as an argparse.Namespace: it is kept as an
  // inert record (never constructed); any other global is still refused.
  const checkpoint = await readCheckpointFile(weightsPath, { allowOpaqueObjects: ['argparse.Namespace'] });
  return backbone.fromStateDict(checkpoint.stateDict, { sha256: checkpoint.sha256, source: weightsPath });
}
