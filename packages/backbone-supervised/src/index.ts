import type { Backbone, BackboneProvider, CanonicalWeights } from '@medssl/spec';
import {
  architectures,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  isBatchCounter,
  pooledEmbedding,
  randomCanonicalWeights,
} from '@medssl/weights';

export type SupervisedVariant = 'resnet50' | 'resnet50-v2';

/**
 * torchvision's two ImageNet-1k ResNet-50s. `resnet50` is IMAGENET1K_V1 (the weights of 2016, 76.13 %
 * top-1: `resnet50-0676ba61.pth`, and the same weights under torchvision's older name
 * `resnet50-19c8e357.pth`), evaluated at resize 256, crop 224; `resnet50-v2` is IMAGENET1K_V2 (the 2021
 * training recipe, 80.86 %: `resnet50-11ad3fa6.pth`), evaluated at resize 232, crop 224, bilinear, as
 * torchvision's `ResNet50_Weights.IMAGENET1K_V2.transforms()` does. Both files use the same layout (the
 * canonical one plus the 1000-way `fc` classifier, which is ignored).
 */
const SUPERVISED_RELEASES: Record<SupervisedVariant, { resize: number; checkpoints: { file: string; license: string }[] }> = {
  resnet50: {
    resize: 256,
    checkpoints: [
      { file: 'resnet50-0676ba61.pth', license: 'BSD-3-Clause (torchvision); ImageNet-1k weights (IMAGENET1K_V1, 76.13 % top-1)' },
      { file: 'resnet50-19c8e357.pth', license: 'BSD-3-Clause (torchvision); ImageNet-1k weights (IMAGENET1K_V1 under its older name, 76.13 % top-1)' },
    ],
  },
  'resnet50-v2': {
    resize: 232,
    checkpoints: [{ file: 'resnet50-11ad3fa6.pth', license: 'BSD-3-Clause (torchvision); ImageNet-1k weights (IMAGENET1K_V2, 80.86 % top-1)' }],
  },
};

/** The supervised ImageNet baseline: torchvision's ResNet-50, V1 (default) or V2 with its own preprocessing. */
export function supervised(options: { variant?: SupervisedVariant } = {}): Backbone {
  const variant = options.variant ?? 'resnet50';
  const release = SUPERVISED_RELEASES[variant];
  if (release === undefined) {
    throw new RangeError(`supervised: unknown variant ${JSON.stringify(variant)}; available: ${Object.keys(SUPERVISED_RELEASES).join(', ')}`);
  }
  const architecture = architectures.resnet50;
  const preprocessing = evaluationPreprocessing('bilinear', true);
  return defineBackbone({
    method: 'supervised',
    variant,
    architecture,
    preprocessing: { ...preprocessing, resize: { size: release.resize, interpolation: 'bilinear' } },
    embedding: pooledEmbedding,
    pretraining: { supervision: 'supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: { name: 'torchvision ResNet', details: 'state dict keys as torchvision names them; fc.* and num_batches_tracked ignored' },
    canonicalName: (key) => (key.startsWith('fc.') || isBatchCounter(key) ? undefined : key),
    checkpoints: release.checkpoints.map(({ file, license }) => ({ variant, file, url: `https://download.pytorch.org/models/${file}`, license })),
  });
}

export type RandomArchitecture = 'resnet50' | 'vits16';

/**
 * Randomly initialised networks, the paper's lower baseline (`random:resnet50`, `random:vits16`): no
 * checkpoint, seeded weights from `randomWeights`. Inputs are normalised like ImageNet models'.
 */
export function random(options: { architecture?: RandomArchitecture } = {}): Backbone {
  const name = options.architecture ?? 'resnet50';
  if (name !== 'resnet50' && name !== 'vits16') throw new RangeError(`random: unknown architecture ${JSON.stringify(name)}; available: resnet50, vits16`);
  const architecture = architectures[name];
  return defineBackbone({
    method: 'random',
    variant: name,
    architecture,
    preprocessing: evaluationPreprocessing(name === 'vits16' ? 'bicubic' : 'bilinear', true),
    embedding: architecture.family === 'resnet' ? pooledEmbedding : classTokenEmbedding(1),
    pretraining: { supervision: 'none', data: 'none', domain: 'natural' },
    weightSource: 'seed',
    layout: { name: 'medssl canonical', details: 'canonical names' },
    canonicalName: (key) => (isBatchCounter(key) ? undefined : key),
    checkpoints: [],
  });
}

/** The seeded weights of a `random:*` backbone. */
export function randomWeights(backbone: Backbone, seed = 0): Promise<CanonicalWeights> {
  return randomCanonicalWeights(backbone.architecture, seed);
}

/** The supervised ImageNet baseline by id (`supervised:resnet50`), for hosts that take ids. */
export const supervisedProvider: BackboneProvider = defineBackboneProvider({
  method: 'supervised',
  title: 'Supervised ImageNet-1k (torchvision)',
  variants: { resnet50: () => supervised(), 'resnet50-v2': () => supervised({ variant: 'resnet50-v2' }) },
  presets: { paper: ['resnet50'] },
});

/** Randomly initialised networks by id (`random:resnet50`, `random:vits16`); their weights come from a seed. */
export const randomProvider: BackboneProvider = defineBackboneProvider({
  method: 'random',
  title: 'Random initialisation (the lower baseline)',
  variants: { resnet50: () => random(), vits16: () => random({ architecture: 'vits16' }) },
  // The demo embeds generated images with both: real architectures, no checkpoint to download.
  presets: { paper: ['resnet50'], demo: ['resnet50', 'vits16'] },
});
