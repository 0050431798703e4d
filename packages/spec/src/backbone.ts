import type { Modality } from './dataset.js';
import type { Tensor } from './image.js';
import type { Preprocessing } from './preprocessing.js';
import type { SpecificationVersion } from './version.js';

/**
 * A network a runtime builds from canonical weights, described by its fields (no closed list of models): a
 * ResNet by its block counts and width, a ViT by its patch size, widths, depth, heads, MLP, LayerScale,
 * register tokens and position table, or a user's own model file that a runtime loads as it is.
 */
export type Architecture = ResNetArchitecture | VisionTransformerArchitecture | ModelFileArchitecture;

/**
 * torchvision's bottleneck ResNet (v1.5: the stride on the 3x3 convolution): a 7x7 stem of `width`
 * channels, then four stages of `blocks[i]` bottlenecks of width `width · 2^i`, each giving 4x that many
 * channels. ResNet-50 is `[3, 4, 6, 3]`, 101 `[3, 4, 23, 3]`, 152 `[3, 8, 36, 3]`; torchvision's width is
 * 64, SimCLR's 2x and 4x variants 128 and 256 (every channel count, the stem's included, multiplied).
 */
export interface ResNetArchitecture {
  readonly family: 'resnet';
  readonly blocks: readonly [number, number, number, number];
  readonly width: number;
}

/**
 * How a stored position table is resampled for another patch grid: bicubic, as PyTorch's `interpolate`
 * (`align_corners=False`). With `offset`, the scale factor is `(grid + offset) / stored` (DINO's and
 * DINOv2's `interpolate_offset`, 0.1); without, the output size is given (MAE's `interpolate_pos_embed`).
 * `antialias` as PyTorch's flag of that name.
 */
export interface BicubicPositionResampling {
  readonly mode: 'bicubic';
  readonly offset?: number;
  readonly antialias: boolean;
}

/**
 * Fixed 2-D sine-cosine positions, made anew for every patch grid rather than resampled (MoCo v3's
 * `build_2d_sincos_position_embedding`): for the patch in row r and column c, with `d = width / 4` and
 * `ω_k = 1 / temperature^(k / d)`, the channels are `sin(r·ω), cos(r·ω), sin(c·ω), cos(c·ω)`; the class
 * position is zero. The stored table is used as it is at its own grid.
 */
export interface SineCosinePositions {
  readonly mode: 'sincos';
  readonly temperature: number;
}

/** How positions are made for a patch grid other than the stored one. */
export type PositionResampling = BicubicPositionResampling | SineCosinePositions;

/**
 * A pre-norm Vision Transformer with a class token and learned (or stored fixed) position embeddings, in
 * the layout DINO, DINOv2, MAE, MoCo v3 and iBOT share: fused qkv with bias, exact GELU or SwiGLU MLPs,
 * optional LayerScale and register tokens.
 */
export interface VisionTransformerArchitecture {
  readonly family: 'vit';
  readonly patchSize: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly heads: number;
  /** Each block's MLP: `gelu` (fc1, exact GELU, fc2) or `swiglu` (w12, SiLU gate, w3; DINOv2 ViT-g), and its hidden width. */
  readonly mlp: { readonly kind: 'gelu' | 'swiglu'; readonly hidden: number };
  /** Learned per-channel scales on both residual branches (DINOv2's `ls1.gamma`, `ls2.gamma`). */
  readonly layerScale: boolean;
  /** Register tokens after the class token, without positions (Darcet et al. 2024; DINOv2's `_reg4`). */
  readonly registers: number;
  readonly layerNormEpsilon: number;
  /** The stored table's grid side (14 for 224/16, 37 for DINOv2's 518/14) and how it is resampled. */
  readonly positions: { readonly grid: number; readonly resampling: PositionResampling };
}

/** A user's own network in a model file, run as it is by a runtime that reads the format (no canonical weights). */
export interface ModelFileArchitecture {
  readonly family: 'model-file';
  readonly format: 'onnx';
  readonly path: string;
  /** The image input's name, where the model has several inputs. */
  readonly input?: string;
}

/** The global average pool of a ResNet's last stage: `4 · width · 8` values (2048 for ResNet-50). */
export interface PooledEmbedding {
  readonly kind: 'pooled';
  readonly dimension: number;
}

/**
 * Tokens of a ViT: the class tokens of the last `classTokens` blocks (in block order), then, with
 * `patchMean`, the mean of the last block's patch tokens (registers excluded), concatenated.
 * `tokenNorm: 'final'` passes each block's tokens through the final LayerNorm first (DINO's and DINOv2's
 * linear evaluation); `outputNorm: 'plain'` normalises the result with a LayerNorm that has no weights
 * (MAE's global pool, whose `fc_norm` its linear probe starts from scratch).
 */
export interface TokenEmbedding {
  readonly kind: 'tokens';
  readonly classTokens: number;
  readonly patchMean: boolean;
  readonly tokenNorm: 'final' | 'none';
  readonly outputNorm: 'none' | 'plain';
  readonly dimension: number;
}

/** A named output of a model file; its width is known once the file is opened. */
export interface ModelOutputEmbedding {
  readonly kind: 'output';
  readonly output: string;
  readonly dimension?: number;
}

/** Which activations form the embedding, and its width (from `embeddingDimension`). */
export type EmbeddingDefinition = PooledEmbedding | TokenEmbedding | ModelOutputEmbedding;

/** An embedding definition before its dimension is derived. */
export type EmbeddingLayout = Omit<PooledEmbedding, 'dimension'> | Omit<TokenEmbedding, 'dimension'> | Omit<ModelOutputEmbedding, 'dimension'>;

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
  readonly license: string;
}

/**
 * What the weights learnt from: how (supervised labels, self-supervision, or nothing for a random
 * initialisation), on which data, and whether those images are natural photographs or of one medical
 * modality (in-domain pretraining). Reports group backbones by it; presets pick by it.
 */
export interface Pretraining {
  /** `unknown` for a user's own model file. */
  readonly supervision: 'supervised' | 'self-supervised' | 'none' | 'unknown';
  /** e.g. `ImageNet-1k`, `LVD-142M`, `MIMIC-CXR and 4 more chest X-ray sets`; `none` for random weights. */
  readonly data: string;
  readonly domain: 'natural' | Modality | 'unknown';
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
  readonly pretraining: Pretraining;
  /**
   * Where the weights come from: a checkpoint file (`fromStateDict` maps it), a seed (`random:*`, no file),
   * or the model file the architecture names.
   */
  readonly weightSource: 'checkpoint' | 'seed' | 'model-file';
  readonly checkpoints: readonly CheckpointInfo[];
  /**
   * The name of the checkpoint layout `fromStateDict` reads, e.g. `DINOv2 (torch hub)` or `Hugging Face
   * Dinov2Model`: backbones with the same layout name and architecture read the same files (`medssl
   * weights inspect` groups them by it). Absent where there is no checkpoint.
   */
  readonly layout?: string;
  /** Canonical tensor names and shapes the architecture needs. */
  expectedTensors(): ReadonlyMap<string, readonly number[]>;
  /**
   * Maps an official checkpoint onto canonical names, unwrapping the method's layout, and checks every
   * shape. Errors name the checkpoint key and the expected and actual shapes.
   */
  fromStateDict(stateDict: StateDict, provenance: { sha256: string; source: string }): CanonicalWeights;
}

/**
 * The width of an embedding of an architecture: the one formula every runtime, backbone package and
 * conformance suite uses. `undefined` for a model file's output (known once the file is opened); an
 * embedding the architecture cannot give is an error naming both.
 */
export function embeddingDimension(architecture: Architecture, embedding: EmbeddingLayout): number | undefined {
  if (architecture.family === 'model-file' || embedding.kind === 'output') {
    if (architecture.family !== 'model-file' || embedding.kind !== 'output')
      throw new TypeError(`a model file gives an 'output' embedding, and only a model file does; got '${embedding.kind}' for a ${architecture.family}`);
    return undefined;
  }
  if (architecture.family === 'resnet') {
    if (embedding.kind !== 'pooled') throw new TypeError(`a ResNet gives the 'pooled' embedding, not '${embedding.kind}'`);
    return 4 * 8 * architecture.width;
  }
  if (embedding.kind !== 'tokens') throw new TypeError(`a ViT gives a 'tokens' embedding, not '${embedding.kind}'`);
  const { classTokens, patchMean } = embedding;
  if (!Number.isSafeInteger(classTokens) || classTokens < 0 || classTokens > architecture.depth) {
    throw new RangeError(`a ViT of depth ${architecture.depth} gives class tokens of 0 to ${architecture.depth} blocks, not ${String(classTokens)}`);
  }
  const parts = classTokens + (patchMean ? 1 : 0);
  if (parts === 0) throw new RangeError('a token embedding needs class tokens, the patch mean, or both');
  return parts * architecture.embedDim;
}

/**
 * A short name for an embedding, as ids, feature keys and messages use it: `pooled`, `cls`, `cls-last-4`,
 * `cls+avgpool`, `cls-last-4+avgpool`, `global-pool` (MAE), `output:<name>`. Settings no name covers are
 * spelt out (`tokens(cls=2,mean,no-norm)`).
 */
export function describeEmbedding(embedding: EmbeddingLayout): string {
  if (embedding.kind === 'pooled') return 'pooled';
  if (embedding.kind === 'output') return `output:${embedding.output}`;
  const { classTokens, patchMean, tokenNorm, outputNorm } = embedding;
  if (classTokens === 0 && patchMean && tokenNorm === 'none' && outputNorm === 'plain') return 'global-pool';
  if (tokenNorm === 'final' && outputNorm === 'none' && classTokens > 0) {
    const classPart = classTokens === 1 ? 'cls' : `cls-last-${classTokens}`;
    return patchMean ? `${classPart}+avgpool` : classPart;
  }
  return `tokens(cls=${classTokens}${patchMean ? ',mean' : ''}${tokenNorm === 'none' ? ',no-norm' : ''}${outputNorm === 'plain' ? ',plain-norm' : ''})`;
}
