import type { Tensor } from './image.js';
import type { Preprocessing } from './preprocessing.js';
import type { SpecificationVersion } from './version.js';

/** Architectures a runtime can build from canonical weights. */
export type Architecture = ResNetArchitecture | VisionTransformerArchitecture;

/** torchvision's ResNet layout; SimCLR's wider variants multiply every stage's width. */
export interface ResNetArchitecture {
  readonly family: 'resnet';
  readonly depth: 50;
  readonly widthMultiplier: 1 | 2 | 4;
}

/** The ViT layout DINO publishes (pre-norm blocks, class token, learned position embeddings). */
export interface VisionTransformerArchitecture {
  readonly family: 'vit';
  readonly patchSize: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly heads: number;
  readonly mlpRatio: number;
  /** Side of the square input the position embeddings were trained for (224 for DINO). */
  readonly imageSize: number;
}

/**
 * Which activations form the embedding. `pooled`: global average pool of the last stage (ResNet, 2048-d);
 * `cls`: class token after the final norm; `cls-last-4`: class tokens of the last 4 blocks, each after the
 * final norm, concatenated (DINO's linear-evaluation features, 1536-d for ViT-S).
 */
export type EmbeddingKind = 'pooled' | 'cls' | 'cls-last-4' | (string & {});

export interface EmbeddingDefinition {
  readonly kind: EmbeddingKind;
  readonly dimension: number;
}

/** Tensors keyed by the names inside a checkpoint, exactly as read (no prefix stripped yet). */
export type StateDict = ReadonlyMap<string, Tensor>;

/** Weights under the canonical names a runtime builds from, with the hash of the file they came from. */
export interface CanonicalWeights {
  readonly architecture: Architecture;
  readonly tensors: ReadonlyMap<string, Tensor>;
  /** SHA-256 of the checkpoint file (hex), or of the generator and seed for random weights. */
  readonly sha256: string;
  /** A file name or a description such as `random(seed=0)`. */
  readonly source: string;
}

/** An official file a method publishes, for documentation, download and checksum checks. */
export interface CheckpointInfo {
  readonly variant: string;
  readonly file: string;
  readonly url: string;
  readonly sha256?: string;
  readonly licence: string;
}

/**
 * One pretrained backbone of one method. It knows its architecture, its preprocessing, the embedding it
 * defines, and how the method's official checkpoint maps onto canonical tensor names.
 */
export interface Backbone {
  readonly specificationVersion: SpecificationVersion;
  /** `<method>:<variant>`, e.g. `dino:vits16`, `simclr:resnet50-1x`. */
  readonly id: string;
  readonly method: string;
  readonly variant: string;
  readonly architecture: Architecture;
  readonly preprocessing: Preprocessing;
  readonly embedding: EmbeddingDefinition;
  readonly checkpoints: readonly CheckpointInfo[];
  /** Canonical tensor names and shapes the architecture needs. */
  expectedTensors(): ReadonlyMap<string, readonly number[]>;
  /**
   * Maps an official checkpoint onto canonical names, unwrapping the method's layout, and checks every
   * shape. Errors name the checkpoint key and the expected and actual shapes.
   */
  fromStateDict(stateDict: StateDict, provenance: { sha256: string; source: string }): CanonicalWeights;
}
