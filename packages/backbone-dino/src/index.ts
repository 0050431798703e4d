import type { Architecture, Backbone, BackboneProvider, EmbeddingLayout } from '@medssl/spec';
import {
  architectures,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  isBatchCounter,
  pooledEmbedding,
  stripPrefixes,
} from '@medssl/weights';

export type DinoVariant = 'vits16' | 'vits8' | 'vitb16' | 'vitb8' | 'resnet50';

/** `cls-last-4`: class tokens of the last 4 blocks after the final norm, concatenated (DINO's linear evaluation, the paper's 1536-d for ViT-S); `cls`: the last block's only. */
export type DinoEmbedding = 'cls-last-4' | 'cls';

const RELEASE: Record<DinoVariant, { architecture: Architecture; file: string }> = {
  vits16: { architecture: architectures.vits16, file: 'dino_deitsmall16_pretrain' },
  vits8: { architecture: architectures.vits8, file: 'dino_deitsmall8_pretrain' },
  vitb16: { architecture: architectures.vitb16, file: 'dino_vitbase16_pretrain' },
  vitb8: { architecture: architectures.vitb8, file: 'dino_vitbase8_pretrain' },
  resnet50: { architecture: architectures.resnet50, file: 'dino_resnet50_pretrain' },
};

/**
 * DINO (Caron et al. 2021). Reads the backbone-only release files (`dino_deitsmall16_pretrain.pth`: DINO's
 * ViT names, no head) and the full training checkpoints (`..._full_checkpoint.pth`), whose `teacher`
 * network (`teacher.backbone.*`) is the one DINO evaluates; the student, the DINO head, the optimiser and
 * the training arguments are ignored.
 */
export function dino(options: { variant?: DinoVariant; embedding?: DinoEmbedding } = {}): Backbone {
  const variant = options.variant ?? 'vits16';
  const release = RELEASE[variant];
  if (!release) throw new RangeError(`dino: unknown variant ${JSON.stringify(variant)}; available: ${Object.keys(RELEASE).join(', ')}`);
  const { architecture } = release;
  let embedding: EmbeddingLayout;
  if (architecture.family === 'resnet') {
    if (options.embedding)
      throw new RangeError(`dino: embedding ${JSON.stringify(options.embedding)} applies to ViTs; dino:resnet50 gives the pooled 2048-d embedding`);
    embedding = pooledEmbedding;
  } else {
    const kind = options.embedding ?? 'cls-last-4';
    if (kind !== 'cls' && kind !== 'cls-last-4') throw new RangeError(`dino: unknown embedding ${JSON.stringify(kind)}; available: cls-last-4, cls`);
    embedding = classTokenEmbedding(kind === 'cls-last-4' ? 4 : 1);
  }
  const directory = `https://dl.fbaipublicfiles.com/dino/${release.file}`;
  return defineBackbone({
    method: 'dino',
    // The embedding is part of the identity: stored features of the two kinds must never mix.
    variant: options.embedding === 'cls' ? `${variant}-cls` : variant,
    architecture,
    preprocessing: evaluationPreprocessing('bicubic', true),
    embedding,
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: { name: 'DINO (official)', details: 'backbone names, or teacher.backbone.* in a full checkpoint; heads, student and training state ignored' },
    canonicalName: (key) => {
      if (key.startsWith('student.') || key.startsWith('optimizer.') || key.startsWith('args') || key.startsWith('teacher.head.')) return undefined;
      const name = stripPrefixes(key, ['teacher.backbone.', 'teacher.module.backbone.', 'module.backbone.', 'backbone.', 'module.']);
      if (/^(head|fc)\./.test(name) || isBatchCounter(name) || key === 'epoch' || key.startsWith('dino_loss')) return undefined;
      return name;
    },
    checkpoints: [
      { variant, file: `${release.file}.pth`, url: `${directory}/${release.file}.pth`, license: 'Apache-2.0 (facebookresearch/dino)' },
      {
        variant,
        file: `${release.file}_full_checkpoint.pth`,
        url: `${directory}/${release.file}_full_checkpoint.pth`,
        license: 'Apache-2.0 (facebookresearch/dino)',
      },
    ],
  });
}

/** Every DINO backbone by id: `dino:vits16` (and `-cls` for the last class token alone), for hosts that take ids. */
export const dinoProvider: BackboneProvider = defineBackboneProvider({
  method: 'dino',
  title: 'DINO (Caron et al., ICCV 2021)',
  variants: Object.fromEntries(
    (Object.keys(RELEASE) as DinoVariant[]).flatMap((variant) => [
      [variant, () => dino({ variant })],
      ...(RELEASE[variant].architecture.family === 'vit' ? [[`${variant}-cls`, () => dino({ variant, embedding: 'cls' })]] : []),
    ]),
  ),
  presets: { paper: ['vits16'] },
});
