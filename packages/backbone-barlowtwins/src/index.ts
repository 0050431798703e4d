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

const RELEASE_URL = 'https://dl.fbaipublicfiles.com/barlowtwins';
const LICENSE = 'MIT (facebookresearch/barlowtwins)';

/**
 * The published runs, newest first: `ljng/` is the README's since the repository's commit "New checkpoint"
 * (December 2021); the `ep1000_.../` run is the one the README linked before and hubconf.py still loads.
 */
const RUNS = ['ljng', 'ep1000_bs2048_lrw0.2_lrb0.0048_lambd0.0051'] as const;

/**
 * Where a key of a Barlow Twins file goes. `resnet50.pth` is `model.module.backbone.state_dict()` of
 * main.py: torchvision's ResNet-50 names, no `fc` (the backbone's fc is an Identity). The full
 * `checkpoint.pth` holds `model` (the DDP-wrapped BarlowTwins module: `module.backbone.*`,
 * `module.projector.*`, `module.bn.*`), `optimizer` (LARS) and `epoch`; only the backbone is read.
 */
function barlowtwinsCanonicalName(key: string): string | undefined {
  if (key.startsWith('optimizer.') || /^model\.module\.(projector|bn)\./.test(key)) return undefined;
  const name = stripPrefixes(key, ['model.module.backbone.', 'module.backbone.', 'backbone.']);
  // torch.hub's model has torchvision's fresh classifier: never part of the pretrained weights.
  if (name.startsWith('fc.') || isBatchCounter(name)) return undefined;
  return name;
}

/**
 * Barlow Twins (Zbontar et al. 2021): the published ResNet-50, its pooled 2048-d features as evaluate.py's
 * linear probe takes them.
 */
export function barlowtwins(options: { variant?: 'resnet50' } = {}): Backbone {
  const variant = options.variant ?? 'resnet50';
  if (variant !== 'resnet50') throw new RangeError(`barlowtwins: unknown variant ${JSON.stringify(variant)}; available: resnet50`);
  return defineBackbone({
    method: 'barlowtwins',
    variant,
    architecture: architectures.resnet50,
    // evaluate.py's validation transform: Resize(256) (torchvision's default bilinear), CenterCrop(224), ImageNet mean/std.
    preprocessing: evaluationPreprocessing('bilinear', true),
    embedding: pooledEmbedding,
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: {
      name: 'Barlow Twins (official)',
      details: 'torchvision names without fc (resnet50.pth), or model.module.backbone.* of the full checkpoint.pth (projector, bn and optimizer ignored)',
    },
    canonicalName: barlowtwinsCanonicalName,
    checkpoints: RUNS.flatMap((run) =>
      ['resnet50.pth', 'checkpoint.pth'].map((file) => ({
        variant,
        file: `barlowtwins/${run}/${file}`,
        url: `${RELEASE_URL}/${run}/${file}`,
        license: LICENSE,
      })),
    ),
  });
}

/** Barlow Twins' backbone by id (`barlowtwins:resnet50`), for hosts that take ids. */
export const barlowtwinsProvider: BackboneProvider = defineBackboneProvider({
  method: 'barlowtwins',
  title: 'Barlow Twins (Zbontar et al., ICML 2021)',
  variants: { resnet50: () => barlowtwins() },
});
