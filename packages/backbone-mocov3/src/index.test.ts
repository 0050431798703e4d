import type { Architecture, Tensor } from '@medssl/spec';
import { describeEmbedding } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { mocov3, mocov3Provider } from './index.js';

describeBackboneProvider('mocov3Provider', () => mocov3Provider);

const provenance = { sha256: '3'.repeat(64), source: 'r-50-1000ep.pth.tar' };

/** builder.py's `_build_mlp` as state-dict keys: Linear (no bias), then BatchNorm1d (affine except the last), per layer. */
function mlpKeys(prefix: string, widths: readonly number[], lastAffine: boolean): Record<string, readonly number[]> {
  const keys: Record<string, number[]> = {};
  for (let layer = 0; layer + 1 < widths.length; layer++) {
    const [input, output] = [widths[layer]!, widths[layer + 1]!];
    keys[`${prefix}.${3 * layer}.weight`] = [output, input];
    const norm = `${prefix}.${3 * layer + 1}`;
    if (layer + 2 < widths.length || lastAffine) Object.assign(keys, { [`${norm}.weight`]: [output], [`${norm}.bias`]: [output] });
    Object.assign(keys, { [`${norm}.running_mean`]: [output], [`${norm}.running_var`]: [output] });
  }
  return keys;
}

function zeros(shapes: Readonly<Record<string, readonly number[]>>): Map<string, Tensor> {
  return new Map(Object.entries(shapes).map(([key, shape]) => [key, { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }]));
}

/**
 * A main_moco.py checkpoint as published (`r-50-1000ep.pth.tar`, `vit-s-300ep.pth.tar`): the DDP-wrapped
 * MoCo module under `state_dict` (base and momentum encoders, each with its projector in place of fc/head,
 * and the predictor), and the optimizer's per-parameter state.
 */
function pretrainingCheckpoint(architecture: Architecture): Map<string, Tensor> {
  const width = architecture.family === 'resnet' ? 2048 : architecture.family === 'vit' ? architecture.embedDim : 0;
  const head = architecture.family === 'resnet' ? 'fc' : 'head';
  // ResNet: a 2-layer projector; ViT: 3 layers (builder.py's MoCo_ResNet and MoCo_ViT).
  const projector = architecture.family === 'resnet' ? [width, 4096, 256] : [width, 4096, 4096, 256];
  const encoder = (name: string) =>
    stateDictInLayout(architecture, (canonical) => `state_dict.module.${name}.${canonical}`, mlpKeys(`state_dict.module.${name}.${head}`, projector, false));
  const rest = zeros({
    ...mlpKeys('state_dict.module.predictor', [256, 4096, 256], architecture.family === 'resnet'),
    // LARS keeps `mu` per parameter (ResNet), AdamW `exp_avg` and `exp_avg_sq` (ViT).
    'optimizer.state.0.mu': [64, 3, 7, 7],
    'optimizer.state.1.exp_avg': [1, 1, width],
  });
  return new Map([...encoder('base_encoder'), ...encoder('momentum_encoder'), ...rest]);
}

describeBackbone('mocov3:resnet50 (pretraining checkpoint)', () => mocov3(), {
  officialStateDict: () => pretrainingCheckpoint(architectures.resnet50),
  embeddingDimension: 2048,
});
describeBackbone('mocov3:resnet50 (main_lincls checkpoint)', () => mocov3(), {
  officialStateDict: () =>
    stateDictInLayout(architectures.resnet50, (name) => `state_dict.module.${name}`, {
      'state_dict.module.fc.weight': [1000, 2048],
      'state_dict.module.fc.bias': [1000],
      'optimizer.state.0.momentum_buffer': [1000, 2048],
    }),
  embeddingDimension: 2048,
});
describeBackbone('mocov3:vits16 (pretraining checkpoint)', () => mocov3({ variant: 'vits16' }), {
  officialStateDict: () => pretrainingCheckpoint(mocov3({ variant: 'vits16' }).architecture),
  embeddingDimension: 384,
});
describeBackbone('mocov3:vits16 (convert_to_deit.py output)', () => mocov3({ variant: 'vits16' }), {
  officialStateDict: () => stateDictInLayout(mocov3({ variant: 'vits16' }).architecture, (name) => `model.${name}`),
  embeddingDimension: 384,
});
describeBackbone('mocov3:vitb16 (pretraining checkpoint)', () => mocov3({ variant: 'vitb16' }), {
  officialStateDict: () => pretrainingCheckpoint(mocov3({ variant: 'vitb16' }).architecture),
  embeddingDimension: 768,
});

describe('mocov3', () => {
  it('takes the base encoder, never the momentum encoder, projector or predictor', () => {
    const checkpoint = pretrainingCheckpoint(mocov3({ variant: 'vits16' }).architecture);
    checkpoint.get('state_dict.module.base_encoder.norm.weight')!.data.fill(7);
    checkpoint.get('state_dict.module.momentum_encoder.norm.weight')!.data.fill(3);
    const weights = mocov3({ variant: 'vits16' }).fromStateDict(checkpoint, provenance);
    expect(weights.tensors.get('norm.weight')!.data[0]).toBe(7);
    expect([...weights.tensors.keys()].filter((name) => /^(head|fc|predictor)\./.test(name))).toEqual([]);
  });

  it("describes vits.py's ViTs: 12 heads for ViT-S, sine-cosine positions, the class token after the final norm", () => {
    const small = mocov3({ variant: 'vits16' });
    expect(small.architecture).toMatchObject({
      family: 'vit',
      patchSize: 16,
      embedDim: 384,
      depth: 12,
      heads: 12,
      mlp: { kind: 'gelu', hidden: 1536 },
      layerScale: false,
      registers: 0,
      layerNormEpsilon: 1e-6,
      positions: { grid: 14, resampling: { mode: 'sincos', temperature: 10000 } },
    });
    expect(describeEmbedding(small.embedding)).toBe('cls');
    expect(small.embedding.dimension).toBe(384);
    expect(mocov3({ variant: 'vitb16' }).embedding.dimension).toBe(768);
    expect(mocov3().embedding).toEqual({ kind: 'pooled', dimension: 2048 });
  });

  it("uses main_lincls.py's transform and names the published files", () => {
    for (const variant of mocov3Provider.variants) {
      const { preprocessing } = mocov3Provider.backbone(variant);
      expect(preprocessing.resize).toEqual({ size: 256, interpolation: 'bilinear' });
      expect(preprocessing.centerCrop).toBe(224);
      expect(preprocessing.normalize).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    }
    expect(mocov3Provider.variants).toEqual(['resnet50', 'resnet50-300ep', 'resnet50-100ep', 'vits16', 'vitb16']);
    expect(mocov3().checkpoints).toEqual([
      {
        variant: 'resnet50',
        file: 'r-50-1000ep.pth.tar',
        url: 'https://dl.fbaipublicfiles.com/moco-v3/r-50-1000ep/r-50-1000ep.pth.tar',
        license: 'CC BY-NC 4.0 (facebookresearch/moco-v3)',
      },
    ]);
    expect(mocov3({ variant: 'resnet50-100ep' }).checkpoints[0]!.url).toBe('https://dl.fbaipublicfiles.com/moco-v3/r-50-100ep/r-50-100ep.pth.tar');
    expect(mocov3({ variant: 'vitb16' }).checkpoints[0]!.file).toBe('vit-b-300ep.pth.tar');
    expect(mocov3({ variant: 'vits16' }).layout).toBe('MoCo v3 (official)');
  });

  it('refuses an unknown variant, naming those that exist', () => {
    expect(() => mocov3({ variant: 'vitl16' as never })).toThrow(
      /unknown variant "vitl16"; available: resnet50, resnet50-300ep, resnet50-100ep, vits16, vitb16/,
    );
    expect(() => mocov3Provider.backbone('vit_small')).toThrow(/mocov3:vits16/);
  });

  it('refuses a ViT-B checkpoint for ViT-S, naming the key and both shapes', () => {
    const base = pretrainingCheckpoint(mocov3({ variant: 'vitb16' }).architecture);
    expect(() => mocov3({ variant: 'vits16' }).fromStateDict(base, provenance)).toThrow(
      /checkpoint key state_dict\.module\.base_encoder\.cls_token has shape \[1, 1, 768\], a ViT \(patch 16, width 384, depth 12, 12 heads\) needs \[1, 1, 384\]/,
    );
  });

  it('refuses a ResNet checkpoint for a ViT, naming the key', () => {
    expect(() => mocov3({ variant: 'vits16' }).fromStateDict(pretrainingCheckpoint(architectures.resnet50), provenance)).toThrow(
      /checkpoint key state_dict\.module\.base_encoder\.conv1\.weight maps to conv1\.weight, which a ViT .* does not have; is this the right variant\?/,
    );
  });

  it('names the missing key as the pretraining checkpoint spells it', () => {
    const checkpoint = pretrainingCheckpoint(architectures.resnet50);
    checkpoint.delete('state_dict.module.base_encoder.layer4.2.bn3.running_var');
    expect(() => mocov3().fromStateDict(checkpoint, provenance)).toThrow(
      /checkpoint key state_dict\.module\.base_encoder\.layer4\.2\.bn3\.running_var is missing/,
    );
  });
});
