import type { Backbone, BackboneProvider, CheckpointInfo, EmbeddingLayout, PositionResampling, Pretraining, VisionTransformerArchitecture } from '@medssl/spec';
import { classTokenEmbedding, defineBackbone, defineBackboneProvider, evaluationPreprocessing, stripPrefixes, vitArchitecture } from '@medssl/weights';

/** MAE's ImageNet-1k encoders (`vitb16`, `vitl16`, `vith14`) and RETFound, MAE's ViT-L/16 trained further on colour fundus photographs. */
export type MaeVariant = 'vitb16' | 'vitl16' | 'vith14' | 'retfound';

/**
 * `cls`: the class token after the final LayerNorm (models_vit.py with `global_pool` off, the input of
 * MAE's linear probe); `global-pool`: the mean of the last block's patch tokens through `fc_norm`, a
 * LayerNorm the pretraining checkpoints lack and the probe makes fresh (weights 1 and 0).
 */
export type MaeEmbedding = 'cls' | 'global-pool';

/**
 * MAE's `interpolate_pos_embed` (util/pos_embed.py): the stored grid resampled by PyTorch's bicubic
 * `interpolate` to the new size, `align_corners=False`, no scale offset, no antialiasing.
 */
export const MAE_POSITION_RESAMPLING = { mode: 'bicubic', antialias: false } as const satisfies PositionResampling;

/** models_vit.py's encoders: timm ViTs with MLP ratio 4, qkv bias and LayerNorm epsilon 1e-6, positions stored for 224 pixels. */
function maeArchitecture(patchSize: number, embedDim: number, depth: number, heads: number): VisionTransformerArchitecture {
  return vitArchitecture({
    patchSize,
    embedDim,
    depth,
    heads,
    mlp: { kind: 'gelu', hidden: 4 * embedDim },
    layerNormEpsilon: 1e-6,
    positions: { grid: Math.floor(224 / patchSize), resampling: MAE_POSITION_RESAMPLING },
  });
}

/** The MAE encoders by variant: models_vit.py's `vit_base_patch16`, `vit_large_patch16`, `vit_huge_patch14`. */
export const maeArchitectures = {
  vitb16: maeArchitecture(16, 768, 12, 12),
  vitl16: maeArchitecture(16, 1024, 24, 16),
  vith14: maeArchitecture(14, 1280, 32, 16),
} as const;

const MAE_LICENSE = 'CC-BY-NC-4.0 (facebookresearch/mae)';
const RETFOUND_LICENSE = 'CC-BY-NC-4.0 (rmaphoh/RETFound_MAE)';
const MAE_PRETRAIN = 'https://dl.fbaipublicfiles.com/mae/pretrain';

interface Release {
  readonly architecture: VisionTransformerArchitecture;
  readonly embedding: MaeEmbedding;
  readonly pretraining: Pretraining;
  readonly files: readonly Omit<CheckpointInfo, 'variant'>[];
}

const IMAGENET: Pretraining = { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' };

function maeFiles(size: 'base' | 'large' | 'huge'): Omit<CheckpointInfo, 'variant'>[] {
  return [`mae_pretrain_vit_${size}.pth`, `mae_pretrain_vit_${size}_full.pth`].map((file) => ({ file, url: `${MAE_PRETRAIN}/${file}`, license: MAE_LICENSE }));
}

const RELEASES: Record<MaeVariant, Release> = {
  vitb16: { architecture: maeArchitectures.vitb16, embedding: 'cls', pretraining: IMAGENET, files: maeFiles('base') },
  vitl16: { architecture: maeArchitectures.vitl16, embedding: 'cls', pretraining: IMAGENET, files: maeFiles('large') },
  vith14: { architecture: maeArchitectures.vith14, embedding: 'cls', pretraining: IMAGENET, files: maeFiles('huge') },
  retfound: {
    architecture: maeArchitectures.vitl16,
    // RETFound's feature notebook and its linear probe both take the global pool (global_pool=True).
    embedding: 'global-pool',
    pretraining: {
      supervision: 'self-supervised',
      // The count as secondary sources quote the paper (see the README); the sources from its Fig. 1.
      data: '904,170 colour fundus photographs (MEH-MIDAS and public sets), continued from ImageNet-1k self-supervised weights',
      domain: 'fundus',
    },
    files: [
      {
        file: 'RETFound_mae_natureCFP.pth',
        url: 'https://huggingface.co/YukunZhou/RETFound_mae_natureCFP/resolve/main/RETFound_mae_natureCFP.pth',
        license: `${RETFOUND_LICENSE}; gated: accept the conditions on Hugging Face first`,
      },
      {
        // The first release, linked from the repository's README until February 2025.
        file: 'RETFound_cfp_weights.pth',
        url: 'https://drive.google.com/file/d/1l62zbWUFTlp214SvK6eMwPQZAzcwoeBE/view?usp=sharing',
        license: RETFOUND_LICENSE,
      },
    ],
  },
};

const EMBEDDINGS: Record<MaeEmbedding, EmbeddingLayout> = {
  cls: classTokenEmbedding(1),
  'global-pool': { kind: 'tokens', classTokens: 0, patchMean: true, tokenNorm: 'none', outputNorm: 'plain' },
};

/** Keys of a training checkpoint beside the network (util/misc.py's `save_model`). */
const TRAINING_STATE = /^(optimizer|scaler|epoch|args)(\.|$)/;

/**
 * The MAE checkpoint layout: the network under `model` (`{'model': state_dict}`, as main_linprobe.py and
 * RETFound read it), with timm's ViT names. The `_full` files and RETFound's add the decoder
 * (`decoder_*`) and the mask token of models_mae.py; both are ignored, as are a classifier head and any
 * training state.
 */
function canonicalName(key: string): string | undefined {
  if (TRAINING_STATE.test(key)) return undefined;
  const name = stripPrefixes(key, ['model.']);
  if (name === 'mask_token' || name.startsWith('decoder_') || name.startsWith('head.')) return undefined;
  return name;
}

/**
 * MAE (He et al. 2022). Reads the published pretraining files (`mae_pretrain_vit_base.pth`: the encoder
 * under `model`; `..._full.pth`: encoder and decoder) and RETFound's (`RETFound_mae_natureCFP.pth`), whose
 * decoder, mask token and any training state are ignored.
 */
export function mae(options: { variant?: MaeVariant; embedding?: MaeEmbedding } = {}): Backbone {
  const variant = options.variant ?? 'vitb16';
  const release = Object.hasOwn(RELEASES, variant) ? RELEASES[variant] : undefined;
  if (!release) throw new RangeError(`mae: unknown variant ${JSON.stringify(variant)}; available: ${Object.keys(RELEASES).join(', ')}`);
  const embedding = options.embedding ?? release.embedding;
  if (!Object.hasOwn(EMBEDDINGS, embedding)) throw new RangeError(`mae: unknown embedding ${JSON.stringify(embedding)}; available: cls, global-pool`);
  return defineBackbone({
    method: 'mae',
    // The embedding is part of the identity: features of the two kinds must never mix.
    variant: embedding === release.embedding ? variant : `${variant}-${embedding}`,
    architecture: release.architecture,
    // main_linprobe.py's transform_val; RETFound's util/datasets.py gives the same at 224 (crop_pct 224/256).
    preprocessing: evaluationPreprocessing('bicubic', true),
    embedding: EMBEDDINGS[embedding],
    pretraining: release.pretraining,
    layout: { name: 'MAE (official)', details: "encoder under 'model' with timm ViT names; decoder, mask token, head and training state ignored" },
    canonicalName,
    checkpointKey: (name) => `model.${name}`,
    checkpoints: release.files.map((file) => ({ variant, ...file })),
  });
}

const VARIANT_IDS: Readonly<Record<string, () => Backbone>> = Object.fromEntries(
  (Object.keys(RELEASES) as MaeVariant[]).flatMap((variant) => {
    const other: MaeEmbedding = RELEASES[variant].embedding === 'cls' ? 'global-pool' : 'cls';
    return [
      [variant, () => mae({ variant })],
      [`${variant}-${other}`, () => mae({ variant, embedding: other })],
    ];
  }),
);

/** Every MAE backbone by id: `mae:vitb16` (class token), `mae:vitb16-global-pool`, ..., `mae:retfound` (global pool) and `mae:retfound-cls`. */
export const maeProvider: BackboneProvider = defineBackboneProvider({
  method: 'mae',
  title: 'MAE (He et al., CVPR 2022) and RETFound (Zhou et al., Nature 2023)',
  variants: VARIANT_IDS,
  presets: { foundation: ['vitb16', 'retfound'] },
});
