import type {
  Architecture,
  Backbone,
  BackboneProvider,
  CheckpointInfo,
  EmbeddingDefinition,
  EmbeddingLayout,
  Interpolation,
  Preprocessing,
  Pretraining,
  TokenEmbedding,
} from '@medssl/spec';
import { SPECIFICATION_VERSION, embeddingDimension } from '@medssl/spec';
import { canonicalTensorShapes } from './canonical.js';
import { mapToCanonical, type CanonicalTarget } from './mapping.js';

/** ImageNet channel statistics every method here normalises with, except SimCLR v1. */
export const IMAGENET_NORMALIZE = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** The evaluation transform of these methods: shorter side to 256, centre crop 224, then normalisation. */
export function evaluationPreprocessing(interpolation: Interpolation, normalize: boolean): Preprocessing {
  return {
    resize: { size: 256, interpolation },
    centerCrop: 224,
    ...(normalize
      ? { normalize: { mean: [...IMAGENET_NORMALIZE.mean] as [number, number, number], std: [...IMAGENET_NORMALIZE.std] as [number, number, number] } }
      : {}),
    channels: 3,
  };
}

export interface BackboneDefinition {
  readonly method: string;
  readonly variant: string;
  readonly architecture: Architecture;
  readonly preprocessing: Preprocessing;
  /** The embedding; its dimension follows from the architecture (`embeddingDimension`). */
  readonly embedding: EmbeddingLayout;
  readonly pretraining: Pretraining;
  /** Default `checkpoint`; `seed` for randomly initialised backbones. */
  readonly weightSource?: Backbone['weightSource'];
  readonly checkpoints: readonly CheckpointInfo[];
  /** Where a checkpoint key goes (a canonical name, or a part of one), or `undefined` for keys the backbone ignores. */
  readonly canonicalName: (checkpointKey: string) => CanonicalTarget | undefined;
  /** The checkpoint key the official layout uses for a canonical name (for "missing key" errors). */
  readonly checkpointKey?: (canonicalName: string) => string;
  /**
   * The checkpoint layout: its `name` (`Backbone.layout`, shared by every backbone that reads the same
   * files, e.g. `SwAV (official)`) and `details` for error messages, e.g. "module. prefix, projection head
   * and prototypes ignored".
   */
  readonly layout: { readonly name: string; readonly details: string };
}

/** A backbone object from its definition: one place for the boilerplate every method package shares. */
export function defineBackbone(definition: BackboneDefinition): Backbone {
  const { method, variant, architecture, preprocessing, checkpoints, pretraining } = definition;
  const embedding = withDimension(architecture, definition.embedding);
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: `${method}:${variant}`,
    method,
    variant,
    architecture,
    preprocessing,
    embedding,
    pretraining,
    weightSource: definition.weightSource ?? 'checkpoint',
    checkpoints,
    // Seeded weights are made, not read: no checkpoint layout to name.
    ...(definition.weightSource === 'seed' ? {} : { layout: definition.layout.name }),
    expectedTensors: () => canonicalTensorShapes(architecture),
    fromStateDict: (stateDict, provenance) =>
      mapToCanonical(
        stateDict,
        { architecture, canonicalName: definition.canonicalName, describeLayout: `${definition.layout.name}: ${definition.layout.details}` },
        provenance,
        definition.checkpointKey,
      ),
  };
}

/** An embedding layout with its dimension, from the one formula in `@medssl/spec`. */
export function withDimension(architecture: Architecture, embedding: EmbeddingLayout): EmbeddingDefinition {
  const dimension = embeddingDimension(architecture, embedding);
  return dimension === undefined ? (embedding as EmbeddingDefinition) : ({ ...embedding, dimension } as EmbeddingDefinition);
}

/** The global average pool of a ResNet's last stage. */
export const pooledEmbedding = { kind: 'pooled' } as const satisfies EmbeddingLayout;

/** Class tokens of the last `blocks` blocks after the final norm: DINO's `cls` (1) and linear-evaluation `cls-last-4` (4). */
export function classTokenEmbedding(blocks: number, options: { patchMean?: boolean } = {}): Omit<TokenEmbedding, 'dimension'> {
  return { kind: 'tokens', classTokens: blocks, patchMean: options.patchMean ?? false, tokenNorm: 'final', outputNorm: 'none' };
}

/** torchvision's key for a batch-norm buffer it counts updates in, never a weight. */
export function isBatchCounter(key: string): boolean {
  return key.endsWith('num_batches_tracked');
}

/** What `defineBackboneProvider` needs: the method, and how each variant is made. */
export interface BackboneProviderDefinition {
  readonly method: string;
  readonly title: string;
  /** Each variant by name; options the variant does not take are refused by the provider. */
  readonly variants: Readonly<Record<string, () => Backbone>>;
  readonly presets?: BackboneProvider['presets'];
}

/**
 * A method package's provider from its variants: `backbone(variant)` makes the named one; an unknown
 * variant, or any option (these backbones take none), is an error that lists what exists.
 */
export function defineBackboneProvider(definition: BackboneProviderDefinition): BackboneProvider {
  const { method, title, variants } = definition;
  const names = Object.keys(variants);
  return {
    specificationVersion: SPECIFICATION_VERSION,
    kind: 'backbone',
    method,
    title,
    variants: names,
    ...(definition.presets ? { presets: definition.presets } : {}),
    backbone(variant, options) {
      const make = Object.hasOwn(variants, variant) ? variants[variant] : undefined;
      if (!make)
        throw new RangeError(
          `unknown backbone ${JSON.stringify(`${method}:${variant}`)}; ${method} has ${names.map((name) => `${method}:${name}`).join(', ')}`,
        );
      const given = Object.keys(options ?? {});
      if (given.length > 0) throw new RangeError(`${method}:${variant} takes no options, got ${given.join(', ')}`);
      return make();
    },
  };
}
