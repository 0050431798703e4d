import type { Backbone, BackboneProvider } from '@medssl/spec';
import {
  architectures,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  isBatchCounter,
  pooledEmbedding,
  stripPrefixes,
} from '@medssl/weights';

/**
 * SwAV (Caron et al. 2020), `swav_800ep_pretrain.pth.tar`: a state dict saved from DistributedDataParallel
 * (`module.` prefix) with the projection head and the prototypes, which the backbone ignores.
 */
export function swav(options: { variant?: 'resnet50' } = {}): Backbone {
  const variant = options.variant ?? 'resnet50';
  if (variant !== 'resnet50') throw new RangeError(`swav: unknown variant ${JSON.stringify(variant)}; available: resnet50`);
  const architecture = architectures.resnet50;
  return defineBackbone({
    method: 'swav',
    variant,
    architecture,
    preprocessing: evaluationPreprocessing('bilinear', true),
    embedding: pooledEmbedding,
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: { name: 'SwAV (official)', details: 'module. prefix; projection_head.*, prototypes.* and fc.* ignored' },
    canonicalName: (key) => {
      const name = stripPrefixes(key, ['state_dict.', 'module.']);
      return /^(projection_head|prototypes|fc)\./.test(name) || isBatchCounter(name) ? undefined : name;
    },
    checkpointKey: (name) => `module.${name}`,
    checkpoints: [
      {
        variant,
        file: 'swav_800ep_pretrain.pth.tar',
        url: 'https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar',
        license: 'CC BY-NC 4.0 (facebookresearch/swav)',
      },
    ],
  });
}

/** SwAV's backbone by id (`swav:resnet50`), for hosts that take ids. */
export const swavProvider: BackboneProvider = defineBackboneProvider({
  method: 'swav',
  title: 'SwAV (Caron et al., NeurIPS 2020)',
  variants: { resnet50: () => swav() },
  presets: { paper: ['resnet50'] },
});
