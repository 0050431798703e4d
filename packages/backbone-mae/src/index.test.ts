import { describeEmbedding, type Tensor, type VisionTransformerArchitecture } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { canonicalTensorShapes, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { MAE_POSITION_RESAMPLING, mae, maeArchitectures, maeProvider } from './index.js';

describeBackboneProvider('maeProvider', () => maeProvider);

const provenance = { sha256: '3'.repeat(64), source: 'mae_pretrain_vit_base.pth' };

const count = (shape: readonly number[]) => shape.reduce((product, extent) => product * extent, 1);

/**
 * Canonical tensors of the right shapes whose values all view one buffer, so that a ViT-L or ViT-H state
 * dict (1.2 and 2.5 GB of float32) costs the size of its largest tensor: the mapping checks names and shapes.
 */
function sharedWeights(architecture: VisionTransformerArchitecture): Map<string, Tensor> {
  const shapes = canonicalTensorShapes(architecture);
  const buffer = new Float32Array(Math.max(...[...shapes.values()].map(count)));
  return new Map([...shapes].map(([name, shape]) => [name, { data: buffer.subarray(0, count(shape)), shape }]));
}

/** A decoder as models_mae.py names it (decoder width 512 and 8 blocks; a few of its tensors), for the files that carry it. */
function decoderKeys(architecture: VisionTransformerArchitecture): Record<string, readonly number[]> {
  const patches = architecture.positions.grid ** 2;
  return {
    'model.mask_token': [1, 1, 512],
    'model.decoder_embed.weight': [512, architecture.embedDim],
    'model.decoder_embed.bias': [512],
    'model.decoder_pos_embed': [1, patches + 1, 512],
    'model.decoder_blocks.0.norm1.weight': [512],
    'model.decoder_blocks.7.mlp.fc2.weight': [512, 2048],
    'model.decoder_norm.weight': [512],
    'model.decoder_pred.weight': [architecture.patchSize ** 2 * 3, 512],
    'model.decoder_pred.bias': [architecture.patchSize ** 2 * 3],
  };
}

/** `mae_pretrain_vit_*.pth` as published: `{'model': encoder}`. */
const pretrainFile = (architecture: VisionTransformerArchitecture) => () =>
  stateDictInLayout(architecture, (name) => `model.${name}`, {}, sharedWeights(architecture));

/** A training checkpoint of models_mae.py (the `_full` files, RETFound's): encoder, decoder, mask token, optimizer state. */
const fullFile = (architecture: VisionTransformerArchitecture) => () =>
  stateDictInLayout(
    architecture,
    (name) => `model.${name}`,
    { ...decoderKeys(architecture), 'optimizer.state.0.exp_avg': [1, 1, architecture.embedDim], 'optimizer.state.0.exp_avg_sq': [1, 1, architecture.embedDim] },
    sharedWeights(architecture),
  );

describeBackbone('mae:vitb16', () => mae(), { officialStateDict: pretrainFile(maeArchitectures.vitb16), embeddingDimension: 768 });
describeBackbone('mae:vitb16 (full checkpoint with the decoder)', () => mae(), {
  officialStateDict: fullFile(maeArchitectures.vitb16),
  embeddingDimension: 768,
});
describeBackbone('mae:vitb16-global-pool', () => mae({ embedding: 'global-pool' }), {
  officialStateDict: pretrainFile(maeArchitectures.vitb16),
  embeddingDimension: 768,
});
describeBackbone('mae:vitl16', () => mae({ variant: 'vitl16' }), { officialStateDict: pretrainFile(maeArchitectures.vitl16), embeddingDimension: 1024 });
// ViT-H/14 is never run here (2.5 GB of float32): its mapping is checked on shapes alone.
describeBackbone('mae:vith14', () => mae({ variant: 'vith14' }), { officialStateDict: pretrainFile(maeArchitectures.vith14), embeddingDimension: 1280 });
describeBackbone('mae:vith14 (full checkpoint with the decoder)', () => mae({ variant: 'vith14', embedding: 'global-pool' }), {
  officialStateDict: fullFile(maeArchitectures.vith14),
  embeddingDimension: 1280,
});
describeBackbone('mae:retfound', () => mae({ variant: 'retfound' }), { officialStateDict: fullFile(maeArchitectures.vitl16), embeddingDimension: 1024 });

describe('mae', () => {
  it('reads the encoder under model and ignores the decoder, mask token and optimizer state', () => {
    const checkpoint = fullFile(maeArchitectures.vitb16)();
    checkpoint.set('model.norm.weight', { data: new Float32Array(768).fill(7), shape: [768] });
    const weights = mae().fromStateDict(checkpoint, provenance);
    expect(weights.tensors.get('norm.weight')!.data[0]).toBe(7);
    expect([...weights.tensors.keys()].some((name) => name.includes('decoder') || name.includes('mask') || name.includes('optimizer'))).toBe(false);
  });

  it('also reads a bare state dict, without the model key', () => {
    const bare = stateDictInLayout(maeArchitectures.vitb16, (name) => name, {}, sharedWeights(maeArchitectures.vitb16));
    expect(mae().fromStateDict(bare, provenance).tensors.size).toBe(canonicalTensorShapes(maeArchitectures.vitb16).size);
  });

  it("states models_vit.py's encoders and MAE's position resampling", () => {
    expect(maeArchitectures.vith14).toMatchObject({ patchSize: 14, embedDim: 1280, depth: 32, heads: 16, mlp: { kind: 'gelu', hidden: 5120 } });
    expect(maeArchitectures.vith14.positions).toEqual({ grid: 16, resampling: { mode: 'bicubic', antialias: false } });
    expect(mae({ variant: 'retfound' }).architecture).toEqual(maeArchitectures.vitl16);
    expect(MAE_POSITION_RESAMPLING).not.toHaveProperty('offset');
    for (const variant of ['vitb16', 'vitl16', 'vith14', 'retfound'] as const) {
      expect(mae({ variant }).architecture).toMatchObject({ layerNormEpsilon: 1e-6, layerScale: false, registers: 0 });
    }
  });

  it('gives the linear-probe class token by default, and the global pool for RETFound', () => {
    expect(mae().embedding).toEqual({ kind: 'tokens', classTokens: 1, patchMean: false, tokenNorm: 'final', outputNorm: 'none', dimension: 768 });
    const pooled = mae({ variant: 'retfound' }).embedding;
    expect(pooled).toEqual({ kind: 'tokens', classTokens: 0, patchMean: true, tokenNorm: 'none', outputNorm: 'plain', dimension: 1024 });
    expect(describeEmbedding(mae().embedding)).toBe('cls');
    expect(describeEmbedding(pooled)).toBe('global-pool');
    expect(mae({ variant: 'vitl16', embedding: 'global-pool' }).id).toBe('mae:vitl16-global-pool');
    expect(mae({ variant: 'retfound', embedding: 'cls' }).id).toBe('mae:retfound-cls');
    expect(mae({ variant: 'retfound', embedding: 'global-pool' }).id).toBe('mae:retfound');
  });

  it('uses the linear-probe evaluation transform and names the published files', () => {
    expect(mae().preprocessing).toEqual({
      resize: { size: 256, interpolation: 'bicubic' },
      centerCrop: 224,
      normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      channels: 3,
    });
    expect(mae({ variant: 'retfound' }).preprocessing).toEqual(mae().preprocessing);
    expect(mae({ variant: 'vith14' }).checkpoints.map((file) => file.url)).toEqual([
      'https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_huge.pth',
      'https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_huge_full.pth',
    ]);
    const retfound = mae({ variant: 'retfound' });
    expect(retfound.checkpoints[0]!.file).toBe('RETFound_mae_natureCFP.pth');
    expect(retfound.pretraining.domain).toBe('fundus');
    expect(maeProvider.presets).toEqual({ foundation: ['vitb16', 'retfound'] });
    expect(maeProvider.variants).toEqual([
      'vitb16',
      'vitb16-global-pool',
      'vitl16',
      'vitl16-global-pool',
      'vith14',
      'vith14-global-pool',
      'retfound',
      'retfound-cls',
    ]);
  });

  it('refuses an unknown variant or embedding, listing what exists', () => {
    expect(() => mae({ variant: 'vits16' as never })).toThrow(/unknown variant "vits16"; available: vitb16, vitl16, vith14, retfound/);
    expect(() => mae({ embedding: 'cls-last-4' as never })).toThrow(/unknown embedding "cls-last-4"; available: cls, global-pool/);
    expect(() => maeProvider.backbone('vitg14')).toThrow(/unknown backbone "mae:vitg14"; mae has mae:vitb16/);
  });

  it('refuses a ViT-B checkpoint for ViT-L, naming the key and both shapes', () => {
    const base = pretrainFile(maeArchitectures.vitb16)();
    expect(() => mae({ variant: 'retfound' }).fromStateDict(base, provenance)).toThrow(
      /checkpoint key model\.cls_token has shape \[1, 1, 768\], a ViT \(patch 16, width 1024, depth 24, 16 heads\) needs \[1, 1, 1024\]/,
    );
  });

  it('names the missing key as the file spells it', () => {
    const checkpoint = pretrainFile(maeArchitectures.vitb16)();
    checkpoint.delete('model.blocks.11.mlp.fc2.bias');
    expect(() => mae().fromStateDict(checkpoint, provenance)).toThrow(/checkpoint key model\.blocks\.11\.mlp\.fc2\.bias is missing/);
  });
});
