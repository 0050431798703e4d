import type { Architecture, Backbone, BackboneProvider } from '@medssl/spec';
import {
  architectures,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  isBatchCounter,
  pooledEmbedding,
  stripPrefixes,
  vitArchitecture,
} from '@medssl/weights';

export type MocoV3Variant = 'resnet50' | 'resnet50-300ep' | 'resnet50-100ep' | 'vits16' | 'vitb16';

/**
 * MoCo v3's fixed 2-D sine-cosine positions (`build_2d_sincos_position_embedding` in moco-v3/vits.py,
 * temperature 10000): stored in the checkpoint for the 14x14 grid of 224-pixel inputs, made anew for another.
 */
const SINCOS_POSITIONS = { grid: 14, resampling: { mode: 'sincos', temperature: 10000 } } as const;

/**
 * vits.py's `vit_small` and `vit_base`: timm's VisionTransformer with patch 16, MLP ratio 4, qkv bias and
 * LayerNorm eps 1e-6; MoCo v3's ViT-S has 12 heads where DeiT's has 6.
 */
const VIT_SMALL = vitArchitecture({ patchSize: 16, embedDim: 384, depth: 12, heads: 12, layerNormEpsilon: 1e-6, positions: SINCOS_POSITIONS });
const VIT_BASE = vitArchitecture({ patchSize: 16, embedDim: 768, depth: 12, heads: 12, layerNormEpsilon: 1e-6, positions: SINCOS_POSITIONS });

/** Each variant's network and its pretraining file (CONFIG.md), `<name>/<name>.pth.tar` under the release URL. */
const RELEASE: Record<MocoV3Variant, { readonly architecture: Architecture; readonly file: string }> = {
  resnet50: { architecture: architectures.resnet50, file: 'r-50-1000ep' },
  'resnet50-300ep': { architecture: architectures.resnet50, file: 'r-50-300ep' },
  'resnet50-100ep': { architecture: architectures.resnet50, file: 'r-50-100ep' },
  vits16: { architecture: VIT_SMALL, file: 'vit-s-300ep' },
  vitb16: { architecture: VIT_BASE, file: 'vit-b-300ep' },
};

const RELEASE_URL = 'https://dl.fbaipublicfiles.com/moco-v3';
const LICENSE = 'CC BY-NC 4.0 (facebookresearch/moco-v3)';

/**
 * Where a key of a MoCo v3 file goes. The pretraining checkpoints (`main_moco.py`) hold `state_dict`
 * (the DDP-wrapped MoCo module: `module.base_encoder.*`, `module.momentum_encoder.*`, `module.predictor.*`),
 * `optimizer`, `scaler`, `epoch` and `arch`; the base encoder is what `main_lincls.py` evaluates, without
 * its `fc`/`head` (the projector). Also read: `main_lincls.py`'s checkpoints (`state_dict.module.*`, its
 * linear classifier ignored), `convert_to_deit.py`'s output (`model.*`) and bare backbone names.
 */
function mocov3CanonicalName(key: string): string | undefined {
  if (/^(optimizer|scaler)\./.test(key) || key === 'best_acc1') return undefined;
  const name = stripPrefixes(key, ['state_dict.', 'model.']);
  if (/^module\.(momentum_encoder|predictor)\./.test(name)) return undefined;
  const backbone = stripPrefixes(name, ['module.base_encoder.', 'module.']);
  if (/^(fc|head)\./.test(backbone) || isBatchCounter(backbone)) return undefined;
  return backbone;
}

/**
 * MoCo v3 (Chen, Xie and He 2021): the base encoder of the published pretraining checkpoints, a
 * torchvision ResNet-50 (pooled 2048-d) or the ViT of moco-v3/vits.py (the class token after the final
 * norm), each as `main_lincls.py` feeds its linear classifier.
 */
export function mocov3(options: { variant?: MocoV3Variant } = {}): Backbone {
  const variant = options.variant ?? 'resnet50';
  const release = Object.hasOwn(RELEASE, variant) ? RELEASE[variant] : undefined;
  if (!release) throw new RangeError(`mocov3: unknown variant ${JSON.stringify(variant)}; available: ${Object.keys(RELEASE).join(', ')}`);
  const { architecture, file } = release;
  return defineBackbone({
    method: 'mocov3',
    variant,
    architecture,
    // main_lincls.py's validation transform for every architecture: Resize(256) (torchvision's default
    // bilinear), CenterCrop(224), ImageNet mean/std.
    preprocessing: evaluationPreprocessing('bilinear', true),
    embedding: architecture.family === 'resnet' ? pooledEmbedding : classTokenEmbedding(1),
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: {
      name: 'MoCo v3 (official)',
      details:
        'state_dict.module.base_encoder.* of a pretraining checkpoint (momentum encoder, projector fc/head, predictor, optimizer and scaler ignored), or the backbone names alone',
    },
    canonicalName: mocov3CanonicalName,
    checkpointKey: (name) => `state_dict.module.base_encoder.${name}`,
    checkpoints: [{ variant, file: `${file}.pth.tar`, url: `${RELEASE_URL}/${file}/${file}.pth.tar`, license: LICENSE }],
  });
}

/** Every MoCo v3 backbone by id: `mocov3:resnet50` (1000 epochs; `-300ep`, `-100ep`), `mocov3:vits16`, `mocov3:vitb16`. */
export const mocov3Provider: BackboneProvider = defineBackboneProvider({
  method: 'mocov3',
  title: 'MoCo v3 (Chen, Xie and He, ICCV 2021)',
  variants: Object.fromEntries((Object.keys(RELEASE) as MocoV3Variant[]).map((variant) => [variant, () => mocov3({ variant })])),
});
