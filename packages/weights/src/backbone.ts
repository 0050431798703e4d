import type { Architecture, Backbone, CheckpointInfo, EmbeddingDefinition, Interpolation, Preprocessing } from '@medssl/spec';
import { SPECIFICATION_VERSION } from '@medssl/spec';
import { canonicalTensorShapes } from './canonical.js';
import { mapToCanonical } from './mapping.js';

/** ImageNet channel statistics every method here normalises with, except SimCLR v1. */
export const IMAGENET_NORMALIZE = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** The evaluation transform of these methods: shorter side to 256, centre crop 224, then normalisation. */
export function evaluationPreprocessing(interpolation: Interpolation, normalize: boolean): Preprocessing {
  return {
    resize: { size: 256, interpolation },
    centerCrop: 224,
    ...(normalize ? { normalize: { mean: [...IMAGENET_NORMALIZE.mean] as [number, number, number], std: [...IMAGENET_NORMALIZE.std] as [number, number, number] } } : {}),
    channels: 3,
  };
}

export interface BackboneDefinition {
  readonly method: string;
  readonly variant: string;
  readonly architecture: Architecture;
  readonly preprocessing: Preprocessing;
  readonly embedding: EmbeddingDefinition;
  readonly checkpoints: readonly CheckpointInfo[];
  /** Canonical name of a checkpoint key, or `undefined` for keys the backbone ignores. */
  readonly canonicalName: (checkpointKey: string) => string | undefined;
  /** The checkpoint key the official layout uses for a canonical name (for "missing key" errors). */
  readonly checkpointKey?: (canonicalName: string) => string;
  /** Words for error messages, e.g. "SwAV: module. prefix, projection head and prototypes ignored". */
  readonly layout: string;
}

/** A backbone object from its definition: one place for the boilerplate every method package shares. */
export function defineBackbone(definition: BackboneDefinition): Backbone {
  const { method, variant, architecture, preprocessing, embedding, checkpoints } = definition;
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: `${method}:${variant}`,
    method,
    variant,
    architecture,
    preprocessing,
    embedding,
    checkpoints,
    expectedTensors: () => canonicalTensorShapes(architecture),
    fromStateDict: (stateDict, provenance) =>
      mapToCanonical(stateDict, { architecture, canonicalName: definition.canonicalName, describeLayout: definition.layout }, provenance, definition.checkpointKey),
  };
}

/** The embedding a ResNet-50 of this width defines: the 2048·width-d global average pool. */
export function pooledEmbedding(architecture: Architecture): EmbeddingDefinition {
  if (architecture.family !== 'resnet') throw new TypeError('a pooled embedding needs a ResNet');
  return { kind: 'pooled', dimension: 2048 * architecture.widthMultiplier };
}

/** torchvision's key for a batch-norm buffer it counts updates in, never a weight. */
export function isBatchCounter(key: string): boolean {
  return key.endsWith('num_batches_tracked');
}
