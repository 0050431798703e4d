import type {
  Architecture,
  BackboneProvider,
  BicubicPositionResampling,
  Backbone,
  CheckpointInfo,
  EmbeddingLayout,
  Preprocessing,
  Pretraining,
} from '@medssl/spec';
import type { CanonicalTarget } from '@medssl/weights';
import {
  IMAGENET_NORMALIZE,
  architectures,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  huggingFaceCanonicalName,
  huggingFaceCheckpointKey,
  stripPrefixes,
  vitArchitecture,
} from '@medssl/weights';

export type IbotVariant = 'vits16' | 'vitb16' | 'vitl16' | 'phikon';

/**
 * `linear-evaluation`: what the model's own linear evaluation trains on (iBOT's run.sh: class tokens of the
 * last 4 blocks for ViT-S, the last class token and the patch-token mean for ViT-B and ViT-L; Phikon's model
 * card: the last class token). `cls`: the last block's class token after the final LayerNorm.
 */
export type IbotEmbedding = 'linear-evaluation' | 'cls';

/** Where iBOT publishes its ImageNet-1k models (README, "Pre-Trained Models"). */
const IBOT_RELEASE = 'https://lf3-nlp-opensource.bytetos.com/obj/nlp-opensource/archive/2022/ibot';
const IBOT_LICENSE = 'Apache-2.0 (bytedance/ibot)';
const PHIKON_LICENSE = 'Owkin non-commercial license (https://github.com/owkin/HistoSSLscaling/blob/main/LICENSE.txt)';

/**
 * transformers' `ViTEmbeddings.interpolate_pos_encoding`: bicubic to the new grid's size,
 * `align_corners=False`, no offset, no antialiasing.
 */
const TRANSFORMERS_VIT_RESAMPLING = { mode: 'bicubic', antialias: false } as const satisfies BicubicPositionResampling;

interface Release {
  readonly architecture: Architecture;
  readonly linearEvaluation: EmbeddingLayout;
  readonly preprocessing: Preprocessing;
  readonly pretraining: Pretraining;
  readonly layout: { readonly name: string; readonly details: string };
  readonly canonicalName: (key: string) => CanonicalTarget | undefined;
  readonly checkpointKey: (name: string) => string;
  readonly checkpoints: (variant: string) => readonly CheckpointInfo[];
}

const IMAGENET_1K: Pretraining = { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' };

/**
 * The iBOT layouts: the backbone file as `extract_backbone_weights.py` writes it (`{'state_dict': {...}}`,
 * backbone names, the head kept with `--with_head`), the full training checkpoint of `main_ibot.py`
 * (`teacher`, `student`, `optimizer`, `ibot_loss`, `fp16_scaler`, `epoch`, `args`) of which the teacher is
 * read, or a bare backbone state dict. Heads, the student's `masked_embed` and the training state are ignored.
 */
function ibotCanonicalName(key: string): string | undefined {
  if (/^(student|optimizer|ibot_loss|fp16_scaler|args)(\.|$)/.test(key) || key === 'epoch') return undefined;
  const network = stripPrefixes(key, ['state_dict.', 'teacher.']);
  const name = stripPrefixes(stripPrefixes(network, ['module.']), ['backbone.']);
  if (name.startsWith('head.') || name === 'masked_embed') return undefined;
  return name;
}

function ibotRelease(architecture: Architecture, folder: string, linearEvaluation: EmbeddingLayout): Release {
  return {
    architecture,
    linearEvaluation,
    // evaluation/eval_linear.py and eval_knn.py: Resize(256, interpolation=3), CenterCrop(224), ImageNet mean/std.
    preprocessing: evaluationPreprocessing('bicubic', true),
    pretraining: IMAGENET_1K,
    layout: {
      name: 'iBOT (official)',
      details:
        "{'state_dict': backbone} as extract_backbone_weights.py saves it, or teacher.backbone.* of a full checkpoint; heads, the student and its masked_embed, optimizer, loss centers and training arguments ignored",
    },
    canonicalName: ibotCanonicalName,
    checkpointKey: (name) => `state_dict.${name}`,
    checkpoints: (variant) => [
      { variant, file: `ibot/${folder}/checkpoint_teacher.pth`, url: `${IBOT_RELEASE}/${folder}/checkpoint_teacher.pth`, license: IBOT_LICENSE },
      { variant, file: `ibot/${folder}/checkpoint.pth`, url: `${IBOT_RELEASE}/${folder}/checkpoint.pth`, license: IBOT_LICENSE },
    ],
  };
}

const RELEASES: Readonly<Record<IbotVariant, Release>> = {
  // run.sh: ARCH small gives LINEAR_N_LAST_BLOCKS=4, LINEAR_AVGPOOL=0; any other ViT 1 and 2.
  vits16: ibotRelease(architectures.vits16, 'vits_16', classTokenEmbedding(4)),
  vitb16: ibotRelease(architectures.vitb16, 'vitb_16', classTokenEmbedding(1, { patchMean: true })),
  vitl16: ibotRelease(vitArchitecture({ patchSize: 16, embedDim: 1024, depth: 24, heads: 16 }), 'vitl_16', classTokenEmbedding(1, { patchMean: true })),
  phikon: {
    // config.json: ViTModel, hidden_size 768, 12 layers, 12 heads, intermediate_size 3072, gelu, qkv_bias, layer_norm_eps 1e-6.
    architecture: vitArchitecture({
      patchSize: 16,
      embedDim: 768,
      depth: 12,
      heads: 12,
      layerNormEpsilon: 1e-6,
      positions: { grid: 14, resampling: TRANSFORMERS_VIT_RESAMPLING },
    }),
    // The model card's feature: last_hidden_state[:, 0], the class token after the final layernorm.
    linearEvaluation: classTokenEmbedding(1),
    // Owkin's Phikon tutorial: Resize(224) (torchvision's default, bilinear), CenterCrop(224), ImageNet mean/std.
    preprocessing: {
      resize: { size: 224, interpolation: 'bilinear' },
      centerCrop: 224,
      normalize: { mean: [...IMAGENET_NORMALIZE.mean], std: [...IMAGENET_NORMALIZE.std] },
      channels: 3,
    },
    pretraining: { supervision: 'self-supervised', data: 'TCGA (40M pan-cancer tiles, 16 cancer types)', domain: 'pathology' },
    layout: {
      name: 'Hugging Face ViTModel',
      details: 'transformers names (query, key and value apart), vit. prefix of a model saved with a head dropped; pooler, classifier and mask token ignored',
    },
    canonicalName: (key) => huggingFaceCanonicalName(key, 'vit'),
    checkpointKey: (name) => [huggingFaceCheckpointKey(name, 'vit')].flat().join(', '),
    checkpoints: (variant) => [
      { variant, file: 'phikon/model.safetensors', url: 'https://huggingface.co/owkin/phikon/resolve/main/model.safetensors', license: PHIKON_LICENSE },
    ],
  },
};

const VARIANTS = Object.keys(RELEASES) as IbotVariant[];

/**
 * iBOT (Zhou et al., ICLR 2022): the ImageNet-1k ViT-S/16, ViT-B/16 and ViT-L/16 teachers in iBOT's own
 * layout, and Phikon (Owkin's iBOT ViT-B/16 pretrained on TCGA pathology tiles) as transformers' `ViTModel`
 * saves it. The embedding is each model's linear-evaluation input unless `embedding: 'cls'`.
 */
export function ibot(options: { variant?: IbotVariant; embedding?: IbotEmbedding } = {}): Backbone {
  const variant = options.variant ?? 'vits16';
  const release = Object.hasOwn(RELEASES, variant) ? RELEASES[variant] : undefined;
  if (!release) throw new RangeError(`ibot: unknown variant ${JSON.stringify(variant)}; available: ${VARIANTS.join(', ')}`);
  const kind = options.embedding ?? 'linear-evaluation';
  if (kind !== 'linear-evaluation' && kind !== 'cls')
    throw new RangeError(`ibot: unknown embedding ${JSON.stringify(kind)}; available: linear-evaluation, cls`);
  const embedding = kind === 'cls' ? classTokenEmbedding(1) : release.linearEvaluation;
  // The embedding is part of the identity where it differs from the default: stored features must never mix.
  const differs = JSON.stringify(embedding) !== JSON.stringify(release.linearEvaluation);
  const id = differs ? `${variant}-cls` : variant;
  return defineBackbone({
    method: 'ibot',
    variant: id,
    architecture: release.architecture,
    preprocessing: release.preprocessing,
    embedding,
    pretraining: release.pretraining,
    layout: release.layout,
    canonicalName: release.canonicalName,
    checkpointKey: release.checkpointKey,
    checkpoints: release.checkpoints(id),
  });
}

/** Every iBOT backbone by id: `ibot:vits16`, `ibot:vitb16`, `ibot:vitl16` (each with `-cls`) and `ibot:phikon`. */
export const ibotProvider: BackboneProvider = defineBackboneProvider({
  method: 'ibot',
  title: 'iBOT (Zhou et al., ICLR 2022); Phikon (Filiot et al., 2023)',
  variants: Object.fromEntries(
    VARIANTS.flatMap((variant) => [
      [variant, () => ibot({ variant })],
      ...(variant === 'phikon' ? [] : [[`${variant}-cls`, () => ibot({ variant, embedding: 'cls' })]]),
    ]),
  ),
  presets: { foundation: ['phikon'] },
});
