import type { Backbone, BackboneProvider, BicubicPositionResampling, EmbeddingLayout, Preprocessing, VisionTransformerArchitecture } from '@medssl/spec';
import {
  IMAGENET_NORMALIZE,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  huggingFaceCanonicalName,
  huggingFaceCheckpointKey,
  vitArchitecture,
  type CanonicalTarget,
} from '@medssl/weights';

/** The four DINOv2 sizes, by their torch-hub names (`dinov2_vits14`, ...). */
export type Dinov2Size = 'vits14' | 'vitb14' | 'vitl14' | 'vitg14';

/** Where the weights come from: Meta's torch-hub files (`dinov2_vits14_pretrain.pth`) or the Hugging Face Hub (`facebook/dinov2-small`). */
export type Dinov2Layout = 'torch-hub' | 'hugging-face';

/**
 * Which tokens form the embedding, named as `describeEmbedding` names them. DINOv2's linear evaluation
 * (`create_linear_input` in dinov2/eval/linear.py) tries the class token of the last block or of each of
 * the last 4 blocks, each with or without the mean of the last block's patch tokens, all after the final
 * norm: `cls+avgpool` (n=1, avgpool), `cls-last-4+avgpool` (n=4, avgpool), `cls` (n=1, no avgpool).
 */
export type Dinov2Embedding = 'cls+avgpool' | 'cls-last-4+avgpool' | 'cls';

export interface Dinov2Options {
  readonly variant?: Dinov2Size;
  /** The `_reg4` models of "Vision Transformers Need Registers" (4 register tokens); default false. */
  readonly registers?: boolean;
  readonly layout?: Dinov2Layout;
  /** Default `cls+avgpool`, the input of DINOv2's published 1-layer linear heads. */
  readonly embedding?: Dinov2Embedding;
}

interface SizeFacts {
  readonly embedDim: number;
  readonly depth: number;
  readonly heads: number;
  /** `facebook/dinov2-<name>` and `facebook/dinov2-with-registers-<name>` on the Hugging Face Hub. */
  readonly hubName: string;
  readonly swiglu: boolean;
}

/** dinov2/models/vision_transformer.py: vit_small, vit_base, vit_large, vit_giant2; ViT-g uses SwiGLU (hub/backbones.py). */
const SIZES: Readonly<Record<Dinov2Size, SizeFacts>> = {
  vits14: { embedDim: 384, depth: 12, heads: 6, hubName: 'small', swiglu: false },
  vitb14: { embedDim: 768, depth: 12, heads: 12, hubName: 'base', swiglu: false },
  vitl14: { embedDim: 1024, depth: 24, heads: 16, hubName: 'large', swiglu: false },
  vitg14: { embedDim: 1536, depth: 40, heads: 24, hubName: 'giant', swiglu: true },
};

export const DINOV2_SIZES = Object.keys(SIZES) as Dinov2Size[];
const EMBEDDINGS: readonly Dinov2Embedding[] = ['cls+avgpool', 'cls-last-4+avgpool', 'cls'];
const REGISTERS = 4;
const PATCH = 14;
/** The hub models are built with img_size=518 (hub/backbones.py): positions for 37x37 patches. */
const STORED_GRID = 518 / PATCH;

/**
 * How each layout's own code resamples the stored 37x37 positions for another grid:
 * - torch hub, plain models: `interpolate_offset=0.1` (scale factor (grid + 0.1) / 37), no antialias;
 * - torch hub, `_reg4` models: `interpolate_offset=0.0` (DINOv2 then passes the output size), antialias;
 * - transformers' `Dinov2Model`: the output size, no antialias (since its PR #33226; before, DINO's + 0.1);
 * - transformers' `Dinov2WithRegistersModel`: the output size, antialias.
 */
const RESAMPLING = {
  hubPlain: { mode: 'bicubic', offset: 0.1, antialias: false },
  hubRegisters: { mode: 'bicubic', antialias: true },
  huggingFace: { mode: 'bicubic', antialias: false },
  huggingFaceRegisters: { mode: 'bicubic', antialias: true },
} as const satisfies Record<string, BicubicPositionResampling>;

/**
 * SwiGLUFFNFused's hidden width (dinov2/layers/swiglu_ffn.py, and transformers' Dinov2SwiGLUFFN): two
 * thirds of 4·width, rounded up to a multiple of 8 (4096 for ViT-g).
 */
export function swigluHiddenWidth(width: number): number {
  // In Python's order, `int(hidden * 2 / 3)`: the product first, so no rounding of 2/3 creeps in.
  return Math.floor((Math.floor((width * 4 * 2) / 3) + 7) / 8) * 8;
}

/** A DINOv2 ViT/14 as the hub builds it: LayerScale (init_values=1.0), LayerNorm eps 1e-6, 37x37 positions. */
function dinov2Architecture(size: Dinov2Size, registers: number, resampling: BicubicPositionResampling): VisionTransformerArchitecture {
  const { embedDim, depth, heads, swiglu } = SIZES[size];
  return vitArchitecture({
    patchSize: PATCH,
    embedDim,
    depth,
    heads,
    mlp: swiglu ? { kind: 'swiglu', hidden: swigluHiddenWidth(embedDim) } : { kind: 'gelu', hidden: 4 * embedDim },
    layerScale: true,
    registers,
    layerNormEpsilon: 1e-6,
    positions: { grid: STORED_GRID, resampling },
  });
}

/** `make_classification_eval_transform` (dinov2/data/transforms.py): shorter side 256 bicubic, centre crop 224, ImageNet mean/std. */
const DINOV2_PREPROCESSING: Preprocessing = {
  resize: { size: 256, interpolation: 'bicubic' },
  centerCrop: 224,
  normalize: { mean: [...IMAGENET_NORMALIZE.mean], std: [...IMAGENET_NORMALIZE.std] },
  channels: 3,
};

function embeddingLayout(kind: Dinov2Embedding): EmbeddingLayout {
  if (kind === 'cls+avgpool') return classTokenEmbedding(1, { patchMean: true });
  if (kind === 'cls-last-4+avgpool') return classTokenEmbedding(4, { patchMean: true });
  if (kind === 'cls') return classTokenEmbedding(1);
  throw new RangeError(`dinov2: unknown embedding ${JSON.stringify(kind)}; available: ${EMBEDDINGS.join(', ')}`);
}

/** The id suffix of a non-default embedding, so stored features of two embeddings never mix. */
const EMBEDDING_SUFFIX: Readonly<Record<Dinov2Embedding, string>> = { 'cls+avgpool': '', 'cls-last-4+avgpool': '-last-4', cls: '-cls' };

/** `<size>[-reg4][-hf][-cls|-last-4]`: every choice that changes the weights or the embedding is in the id. */
function variantName(size: Dinov2Size, registers: boolean, layout: Dinov2Layout, embedding: Dinov2Embedding): string {
  return `${size}${registers ? `-reg${REGISTERS}` : ''}${layout === 'hugging-face' ? '-hf' : ''}${EMBEDDING_SUFFIX[embedding]}`;
}

/** Keys only transformers writes: its embeddings, encoder and final norm, or a classification model's base-model prefix. */
const TRANSFORMERS_KEY = /^(embeddings|encoder|layernorm|dinov2|dinov2_with_registers)\./;
/** Keys only DINOv2's own `DinoVisionTransformer` writes. */
const TORCH_HUB_KEY = /^(cls_token|pos_embed|register_tokens|mask_token)$|^(patch_embed|blocks|norm)\./;

/** The torch-hub files' names are the canonical ones; the masked-image-modelling token is not used. */
function torchHubCanonicalName(otherLayout: string) {
  return (key: string): string | undefined => {
    if (key === 'mask_token') return undefined;
    if (TRANSFORMERS_KEY.test(key))
      throw new Error(
        `checkpoint key ${key} is a Hugging Face transformers name: this backbone reads Meta's torch-hub files; for the Hub's model.safetensors use ${otherLayout}`,
      );
    return key;
  };
}

/** transformers names; `Dinov2WithRegistersForImageClassification` saves its base model under `dinov2_with_registers.`. */
function huggingFaceName(otherLayout: string) {
  return (key: string): CanonicalTarget | undefined => {
    if (TORCH_HUB_KEY.test(key))
      throw new Error(`checkpoint key ${key} is a name of DINOv2's own code: this backbone reads transformers' model.safetensors; ${otherLayout}`);
    const base = key.startsWith('dinov2_with_registers.') ? key.slice('dinov2_with_registers.'.length) : key;
    return huggingFaceCanonicalName(base, 'dinov2');
  };
}

/** One key per canonical tensor, for "missing key" messages: the query of a fused qkv. */
function huggingFaceKey(name: string): string {
  const key = huggingFaceCheckpointKey(name, 'dinov2');
  return typeof key === 'string' ? key : key[0]!;
}

/**
 * DINOv2 (Oquab et al. 2023), ViT-S/14 to ViT-g/14, with or without 4 register tokens, from Meta's
 * torch-hub files (`dinov2_vits14_pretrain.pth`: the `DinoVisionTransformer` state dict, whose `mask_token`
 * is ignored) or from the Hugging Face Hub (`facebook/dinov2-small`, `facebook/dinov2-with-registers-small`:
 * transformers' `Dinov2Model` names, query, key and value apart). The two layouts resample positions by
 * different rules, so they are different backbones (`dinov2:vits14`, `dinov2:vits14-hf`).
 */
export function dinov2(options: Dinov2Options = {}): Backbone {
  const size = options.variant ?? 'vits14';
  const facts = SIZES[size];
  if (!facts) throw new RangeError(`dinov2: unknown variant ${JSON.stringify(size)}; available: ${DINOV2_SIZES.join(', ')}, and radDino() for rad-dino`);
  const registers = options.registers ?? false;
  const layout = options.layout ?? 'torch-hub';
  if (layout !== 'torch-hub' && layout !== 'hugging-face')
    throw new RangeError(`dinov2: unknown layout ${JSON.stringify(layout)}; available: torch-hub, hugging-face`);
  const embeddingKind = options.embedding ?? 'cls+avgpool';
  const embedding = embeddingLayout(embeddingKind);
  const variant = variantName(size, registers, layout, embeddingKind);
  const pretraining = { supervision: 'self-supervised', data: 'LVD-142M', domain: 'natural' } as const;

  if (layout === 'torch-hub') {
    const file = `dinov2_${size}${registers ? `_reg${REGISTERS}` : ''}_pretrain.pth`;
    return defineBackbone({
      method: 'dinov2',
      variant,
      architecture: dinov2Architecture(size, registers ? REGISTERS : 0, registers ? RESAMPLING.hubRegisters : RESAMPLING.hubPlain),
      preprocessing: DINOV2_PREPROCESSING,
      embedding,
      pretraining,
      layout: { name: 'DINOv2 (torch hub)', details: 'DinoVisionTransformer names (blocks.N.ls1.gamma, blocks.N.mlp.fc1 or w12, ...); mask_token ignored' },
      canonicalName: torchHubCanonicalName(`dinov2:${variantName(size, registers, 'hugging-face', embeddingKind)}`),
      checkpoints: [{ variant, file, url: `https://dl.fbaipublicfiles.com/dinov2/dinov2_${size}/${file}`, license: 'Apache-2.0 (facebookresearch/dinov2)' }],
    });
  }
  const repository = `dinov2-${registers ? 'with-registers-' : ''}${facts.hubName}`;
  return defineBackbone({
    method: 'dinov2',
    variant,
    architecture: dinov2Architecture(size, registers ? REGISTERS : 0, registers ? RESAMPLING.huggingFaceRegisters : RESAMPLING.huggingFace),
    preprocessing: DINOV2_PREPROCESSING,
    embedding,
    pretraining,
    layout: {
      name: registers ? 'Hugging Face Dinov2WithRegistersModel' : 'Hugging Face Dinov2Model',
      details:
        'transformers names (encoder.layer.N.attention.attention.query, layer_scale1.lambda1, mlp.weights_in, ...); mask token, pooler and classifier ignored',
    },
    canonicalName: huggingFaceName(
      `for Meta's ${`dinov2_${size}${registers ? `_reg${REGISTERS}` : ''}_pretrain.pth`} use dinov2:${variantName(size, registers, 'torch-hub', embeddingKind)}`,
    ),
    checkpointKey: huggingFaceKey,
    checkpoints: [
      {
        variant,
        file: `${repository}/model.safetensors`,
        url: `https://huggingface.co/facebook/${repository}/resolve/main/model.safetensors`,
        license: 'Apache-2.0 (facebook/dinov2 models on the Hugging Face Hub)',
      },
    ],
  });
}

/** RAD-DINO's embeddings: `cls` (the model card's, `pooler_output`) or DINOv2's linear input `cls+avgpool`. */
export type RadDinoEmbedding = 'cls' | 'cls+avgpool';

/**
 * microsoft/rad-dino's published preprocessing (its preprocessor_config.json, a BitImageProcessor): shorter
 * side 518 bicubic (resample 3), centre crop 518, [0, 1], mean 0.5307 and std 0.2583 on every channel.
 */
const RAD_DINO_PREPROCESSING: Preprocessing = {
  resize: { size: 518, interpolation: 'bicubic' },
  centerCrop: 518,
  normalize: { mean: [0.5307, 0.5307, 0.5307], std: [0.2583, 0.2583, 0.2583] },
  channels: 3,
};

/**
 * RAD-DINO (Pérez-García et al. 2025): a DINOv2 ViT-B/14 (`Dinov2Model`, no registers) trained on chest
 * X-rays, read from `microsoft/rad-dino`'s `model.safetensors`, with its own preprocessing at 518 pixels.
 * Its embedding is the class token after the final LayerNorm, as the model card uses it (`pooler_output`);
 * `cls+avgpool` (`dinov2:rad-dino-avgpool`) adds the mean of the patch tokens, as DINOv2's linear evaluation.
 */
export function radDino(options: { embedding?: RadDinoEmbedding } = {}): Backbone {
  const kind = options.embedding ?? 'cls';
  if (kind !== 'cls' && kind !== 'cls+avgpool') throw new RangeError(`dinov2: unknown RAD-DINO embedding ${JSON.stringify(kind)}; available: cls, cls+avgpool`);
  const variant = kind === 'cls' ? 'rad-dino' : 'rad-dino-avgpool';
  return defineBackbone({
    method: 'dinov2',
    variant,
    architecture: dinov2Architecture('vitb14', 0, RESAMPLING.huggingFace),
    preprocessing: RAD_DINO_PREPROCESSING,
    embedding: embeddingLayout(kind),
    pretraining: { supervision: 'self-supervised', data: 'MIMIC-CXR, CheXpert, NIH-CXR, PadChest and BRAX', domain: 'chest-xray' },
    layout: {
      name: 'Hugging Face Dinov2Model',
      details: 'transformers names (encoder.layer.N.attention.attention.query, layer_scale1.lambda1, ...); mask token, pooler and classifier ignored',
    },
    canonicalName: huggingFaceName('RAD-DINO is read from its Dinov2Model file, rad-dino/model.safetensors'),
    checkpointKey: huggingFaceKey,
    checkpoints: [
      {
        variant,
        file: 'rad-dino/model.safetensors',
        url: 'https://huggingface.co/microsoft/rad-dino/resolve/main/model.safetensors',
        license: 'MIT (microsoft/rad-dino LICENSE; earlier revisions of the repository: MSRLA)',
      },
    ],
  });
}

/** Every variant name: `<size>[-reg4][-hf][-cls|-last-4]`, then `rad-dino` and `rad-dino-avgpool`. */
function variants(): Record<string, () => Backbone> {
  const made: Record<string, () => Backbone> = {};
  for (const variant of DINOV2_SIZES)
    for (const registers of [false, true])
      for (const layout of ['torch-hub', 'hugging-face'] as const)
        for (const embedding of EMBEDDINGS) {
          made[variantName(variant, registers, layout, embedding)] = () => dinov2({ variant, registers, layout, embedding });
        }
  made['rad-dino'] = () => radDino();
  made['rad-dino-avgpool'] = () => radDino({ embedding: 'cls+avgpool' });
  return made;
}

/**
 * Every DINOv2 backbone by id: `dinov2:vits14` (torch hub, class token and patch mean), `-reg4` (registers),
 * `-hf` (Hugging Face files), `-cls` / `-last-4` (other linear-evaluation inputs), and `dinov2:rad-dino`.
 */
export const dinov2Provider: BackboneProvider = defineBackboneProvider({
  method: 'dinov2',
  title: 'DINOv2 (Oquab et al., 2023) and RAD-DINO (Pérez-García et al., 2025)',
  variants: variants(),
  presets: { foundation: ['vits14', 'vitb14', 'rad-dino'] },
});
