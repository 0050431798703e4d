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

export type SimclrVariant = 'resnet50-1x' | 'resnet50-2x' | 'resnet50-4x';

const ARCHITECTURE = {
  'resnet50-1x': architectures.resnet50,
  'resnet50-2x': architectures.resnet50x2,
  'resnet50-4x': architectures.resnet50x4,
} as const;

/**
 * SimCLR v1 (Chen et al. 2020), as the official TensorFlow checkpoints converted to PyTorch
 * (`resnet50-1x.pth`: `{ state_dict: { conv1.weight, ..., fc.weight } }`, torchvision names). SimCLR v1
 * was trained on [0, 1] inputs: no mean/std normalisation.
 */
export function simclr(options: { variant?: SimclrVariant } = {}): Backbone {
  const variant = options.variant ?? 'resnet50-1x';
  const architecture = ARCHITECTURE[variant];
  if (!architecture) throw new RangeError(`simclr: unknown variant ${JSON.stringify(variant)}; available: ${Object.keys(ARCHITECTURE).join(', ')}`);
  return defineBackbone({
    method: 'simclr',
    variant,
    architecture,
    preprocessing: evaluationPreprocessing('bilinear', false),
    embedding: pooledEmbedding,
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: { name: 'SimCLR v1 converted to PyTorch', details: 'state_dict. prefix, torchvision names, fc.* ignored' },
    canonicalName: (key) => {
      const name = stripPrefixes(key, ['state_dict.', 'module.']);
      return name.startsWith('fc.') || isBatchCounter(name) ? undefined : name;
    },
    checkpointKey: (name) => `state_dict.${name}`,
    checkpoints: [
      {
        variant,
        file: `${variant}.pth`,
        url: 'https://github.com/tonylins/simclr-converter (converts the official checkpoints at gs://simclr-checkpoints/simclrv1/)',
        license: 'Apache-2.0 (google-research/simclr)',
      },
    ],
  });
}

/** Every SimCLR v1 backbone by id (`simclr:resnet50-1x`, `-2x`, `-4x`), for hosts that take ids. */
export const simclrProvider: BackboneProvider = defineBackboneProvider({
  method: 'simclr',
  title: 'SimCLR v1 (Chen et al., ICML 2020)',
  variants: Object.fromEntries(Object.keys(ARCHITECTURE).map((variant) => [variant, () => simclr({ variant: variant as SimclrVariant })])),
  presets: { paper: ['resnet50-1x'] },
});
