import type { Architecture, Tensor } from '@medssl/spec';
import { describeEmbedding } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { canonicalTensorShapes, describeArchitecture, huggingFaceCheckpointKey, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { DINOV2_SIZES, dinov2, dinov2Provider, radDino, swigluHiddenWidth } from './index.js';

describeBackboneProvider('dinov2Provider', () => dinov2Provider);

const provenance = { sha256: '2'.repeat(64), source: 'dinov2_vits14_pretrain.pth' };
const architectureOf = (...args: Parameters<typeof dinov2>) => dinov2(...args).architecture;

/**
 * Every canonical tensor as a view of one shared zero buffer: mapping checks names and shapes only, so even
 * ViT-g (1.1 billion values) maps in a few megabytes.
 */
function sharedViews(architecture: Architecture): Map<string, Tensor> {
  const shapes = canonicalTensorShapes(architecture);
  const count = (shape: readonly number[]) => shape.reduce((product, extent) => product * extent, 1);
  const buffer = new Float32Array(Math.max(...[...shapes.values()].map(count)));
  return new Map([...shapes].map(([name, shape]) => [name, { data: buffer.subarray(0, count(shape)), shape }]));
}

/** A torch-hub file: the `DinoVisionTransformer` state dict, `mask_token` included (the hub loads it strictly). */
const torchHub = (architecture: Architecture) => () =>
  stateDictInLayout(architecture, (name) => name, { mask_token: [1, architecture.family === 'vit' ? architecture.embedDim : 0] }, sharedViews(architecture));

/** A transformers `model.safetensors` as `Dinov2Model.save_pretrained` writes it, `embeddings.mask_token` included. */
const huggingFace =
  (architecture: Architecture, prefix = '') =>
  () => {
    const width = architecture.family === 'vit' ? architecture.embedDim : 0;
    const extra: Record<string, number[]> = { [`${prefix}embeddings.mask_token`]: [1, width] };
    // A classification model's head, which the backbone ignores.
    if (prefix) Object.assign(extra, { 'classifier.weight': [1000, 2 * width], 'classifier.bias': [1000] });
    return stateDictInLayout(
      architecture,
      (name) => {
        const key = huggingFaceCheckpointKey(name, 'dinov2');
        return typeof key === 'string' ? `${prefix}${key}` : key.map((part) => `${prefix}${part}`);
      },
      extra,
      sharedViews(architecture),
    );
  };

describeBackbone('dinov2:vits14', () => dinov2(), { officialStateDict: torchHub(architectureOf()), embeddingDimension: 768 });
describeBackbone('dinov2:vits14-reg4', () => dinov2({ registers: true }), {
  officialStateDict: torchHub(architectureOf({ registers: true })),
  embeddingDimension: 768,
});
describeBackbone('dinov2:vitb14-last-4', () => dinov2({ variant: 'vitb14', embedding: 'cls-last-4+avgpool' }), {
  officialStateDict: torchHub(architectureOf({ variant: 'vitb14' })),
  embeddingDimension: 5 * 768,
});
describeBackbone('dinov2:vitg14 (SwiGLU, mapped without its 4.5 GB)', () => dinov2({ variant: 'vitg14', embedding: 'cls' }), {
  officialStateDict: torchHub(architectureOf({ variant: 'vitg14' })),
  embeddingDimension: 1536,
});
describeBackbone('dinov2:vits14-hf', () => dinov2({ layout: 'hugging-face' }), {
  officialStateDict: huggingFace(architectureOf({ layout: 'hugging-face' })),
  embeddingDimension: 768,
});
describeBackbone('dinov2:vits14-hf (Dinov2ForImageClassification)', () => dinov2({ layout: 'hugging-face' }), {
  officialStateDict: huggingFace(architectureOf({ layout: 'hugging-face' }), 'dinov2.'),
  embeddingDimension: 768,
});
describeBackbone('dinov2:vits14-reg4-hf', () => dinov2({ layout: 'hugging-face', registers: true }), {
  officialStateDict: huggingFace(architectureOf({ layout: 'hugging-face', registers: true })),
  embeddingDimension: 768,
});
describeBackbone('dinov2:vits14-reg4-hf (Dinov2WithRegistersForImageClassification)', () => dinov2({ layout: 'hugging-face', registers: true }), {
  officialStateDict: huggingFace(architectureOf({ layout: 'hugging-face', registers: true }), 'dinov2_with_registers.'),
  embeddingDimension: 768,
});
describeBackbone('dinov2:rad-dino', () => radDino(), { officialStateDict: huggingFace(radDino().architecture), embeddingDimension: 768 });
describeBackbone('dinov2:rad-dino-avgpool', () => radDino({ embedding: 'cls+avgpool' }), {
  officialStateDict: huggingFace(radDino().architecture),
  embeddingDimension: 1536,
});

describe('dinov2', () => {
  it('describes the four sizes as the official model code builds them', () => {
    const described = DINOV2_SIZES.map((variant) => describeArchitecture(dinov2({ variant }).architecture));
    expect(described).toEqual([
      'ViT (patch 14, width 384, depth 12, 6 heads, LayerScale, positions for 37x37 patches)',
      'ViT (patch 14, width 768, depth 12, 12 heads, LayerScale, positions for 37x37 patches)',
      'ViT (patch 14, width 1024, depth 24, 16 heads, LayerScale, positions for 37x37 patches)',
      'ViT (patch 14, width 1536, depth 40, 24 heads, SwiGLU MLP 4096, LayerScale, positions for 37x37 patches)',
    ]);
    expect(swigluHiddenWidth(1536)).toBe(4096);
    expect(dinov2().architecture).toMatchObject({ layerNormEpsilon: 1e-6, registers: 0 });
    expect(dinov2({ registers: true }).architecture).toMatchObject({ registers: 4 });
  });

  it('resamples positions by the rule of the code that reads each layout', () => {
    const resampling = (backbone: ReturnType<typeof dinov2>) => backbone.architecture.family === 'vit' && backbone.architecture.positions.resampling;
    expect(resampling(dinov2())).toEqual({ mode: 'bicubic', offset: 0.1, antialias: false });
    expect(resampling(dinov2({ registers: true }))).toEqual({ mode: 'bicubic', antialias: true });
    expect(resampling(dinov2({ layout: 'hugging-face' }))).toEqual({ mode: 'bicubic', antialias: false });
    expect(resampling(dinov2({ layout: 'hugging-face', registers: true }))).toEqual({ mode: 'bicubic', antialias: true });
    expect(resampling(radDino())).toEqual({ mode: 'bicubic', antialias: false });
  });

  it('names every variant, its embedding and its published file', () => {
    expect(dinov2({ variant: 'vitb14', registers: true, embedding: 'cls' }).id).toBe('dinov2:vitb14-reg4-cls');
    expect(dinov2({ variant: 'vitl14', layout: 'hugging-face', embedding: 'cls-last-4+avgpool' }).id).toBe('dinov2:vitl14-hf-last-4');
    expect(describeEmbedding(dinov2().embedding)).toBe('cls+avgpool');
    expect(describeEmbedding(dinov2({ embedding: 'cls-last-4+avgpool' }).embedding)).toBe('cls-last-4+avgpool');
    expect(describeEmbedding(radDino().embedding)).toBe('cls');
    expect(dinov2({ variant: 'vitg14', registers: true }).checkpoints[0]).toMatchObject({
      file: 'dinov2_vitg14_reg4_pretrain.pth',
      url: 'https://dl.fbaipublicfiles.com/dinov2/dinov2_vitg14/dinov2_vitg14_reg4_pretrain.pth',
    });
    expect(dinov2({ variant: 'vitb14', registers: true, layout: 'hugging-face' }).checkpoints[0]).toMatchObject({
      file: 'dinov2-with-registers-base/model.safetensors',
      url: 'https://huggingface.co/facebook/dinov2-with-registers-base/resolve/main/model.safetensors',
    });
    expect(radDino().checkpoints[0]).toMatchObject({
      file: 'rad-dino/model.safetensors',
      url: 'https://huggingface.co/microsoft/rad-dino/resolve/main/model.safetensors',
    });
    expect(dinov2Provider.variants).toHaveLength(4 * 2 * 2 * 3 + 2);
    expect(dinov2Provider.presets).toEqual({ foundation: ['vits14', 'vitb14', 'rad-dino'] });
    expect(dinov2().layout).toBe('DINOv2 (torch hub)');
    expect(dinov2({ layout: 'hugging-face' }).layout).toBe('Hugging Face Dinov2Model');
    expect(radDino().layout).toBe('Hugging Face Dinov2Model');
  });

  it("states RAD-DINO's own preprocessing and pretraining", () => {
    expect(radDino().preprocessing).toEqual({
      resize: { size: 518, interpolation: 'bicubic' },
      centerCrop: 518,
      normalize: { mean: [0.5307, 0.5307, 0.5307], std: [0.2583, 0.2583, 0.2583] },
      channels: 3,
    });
    expect(radDino().pretraining.domain).toBe('chest-xray');
    expect(dinov2().preprocessing).toMatchObject({ resize: { size: 256, interpolation: 'bicubic' }, centerCrop: 224 });
  });

  it('maps every transformers key of ViT-g (SwiGLU weights_in/weights_out) to its canonical tensor', () => {
    const backbone = dinov2({ variant: 'vitg14', layout: 'hugging-face' });
    // Key by key, each alone and empty: the error names the canonical tensor it would fill (the full-size
    // state dict would need 4.5 GB).
    const shapes = backbone.expectedTensors();
    for (const name of shapes.keys()) {
      const keys = huggingFaceCheckpointKey(name, 'dinov2');
      for (const key of typeof keys === 'string' ? [keys] : keys)
        expect(mappingError(backbone, key), key).toMatch(new RegExp(`for (part \\d of 3 of )?${name.replaceAll('.', '\\.')}$`));
    }
    expect(huggingFaceCheckpointKey('blocks.39.mlp.w12.weight', 'dinov2')).toBe('encoder.layer.39.mlp.weights_in.weight');
    expect(shapes.get('blocks.39.mlp.w12.weight')).toEqual([8192, 1536]);
    expect(shapes.get('blocks.39.mlp.w3.weight')).toEqual([1536, 4096]);
  });

  it('refuses a checkpoint of another size, naming the key and both shapes', () => {
    const base = torchHub(architectureOf({ variant: 'vitb14' }))();
    expect(() => dinov2().fromStateDict(base, provenance)).toThrow(
      /checkpoint key cls_token has shape \[1, 1, 768\], a ViT \(patch 14, width 384, depth 12, 6 heads, LayerScale, positions for 37x37 patches\) needs \[1, 1, 384\]/,
    );
    const registers = torchHub(architectureOf({ registers: true }))();
    expect(() => dinov2().fromStateDict(registers, provenance)).toThrow(/checkpoint key register_tokens maps to register_tokens, which a ViT .* does not have/);
    const hf = huggingFace(architectureOf({ variant: 'vitb14', layout: 'hugging-face' }))();
    expect(() => radDino().fromStateDict(huggingFace(architectureOf({ layout: 'hugging-face' }))(), provenance)).toThrow(
      /checkpoint key embeddings\.cls_token has shape \[1, 1, 384\], .* needs \[1, 1, 768\]/,
    );
    expect(radDino().fromStateDict(hf, provenance).tensors.size).toBe(radDino().expectedTensors().size);
  });

  it('names a missing transformers key as transformers spells it', () => {
    const checkpoint = huggingFace(architectureOf({ layout: 'hugging-face' }))();
    checkpoint.delete('encoder.layer.3.mlp.fc2.bias');
    expect(() => dinov2({ layout: 'hugging-face' }).fromStateDict(checkpoint, provenance)).toThrow(
      /checkpoint key encoder\.layer\.3\.mlp\.fc2\.bias is missing/,
    );
    const withoutValue = huggingFace(architectureOf({ layout: 'hugging-face' }))();
    withoutValue.delete('encoder.layer.0.attention.attention.value.weight');
    expect(() => dinov2({ layout: 'hugging-face' }).fromStateDict(withoutValue, provenance)).toThrow(
      /blocks\.0\.attn\.qkv\.weight is made of 3 checkpoint tensors; .*query\.weight, .*key\.weight are there, part 3 is missing/,
    );
  });

  it('tells which backbone reads a file of the other layout', () => {
    expect(() => dinov2({ registers: true }).fromStateDict(huggingFace(architectureOf({ layout: 'hugging-face', registers: true }))(), provenance)).toThrow(
      /checkpoint key embeddings\.\S+ is a Hugging Face transformers name: .* use dinov2:vits14-reg4-hf/,
    );
    expect(() => dinov2({ layout: 'hugging-face', embedding: 'cls' }).fromStateDict(torchHub(architectureOf())(), provenance)).toThrow(
      /checkpoint key \S+ is a name of DINOv2's own code: .* for Meta's dinov2_vits14_pretrain\.pth use dinov2:vits14-cls/,
    );
    expect(() => radDino().fromStateDict(torchHub(architectureOf({ variant: 'vitb14' }))(), provenance)).toThrow(/rad-dino\/model\.safetensors/);
  });

  it('refuses unknown variants, layouts and embeddings, listing what exists', () => {
    expect(() => dinov2({ variant: 'vith14' as never })).toThrow(/unknown variant "vith14"; available: vits14, vitb14, vitl14, vitg14/);
    expect(() => dinov2({ layout: 'timm' as never })).toThrow(/unknown layout "timm"; available: torch-hub, hugging-face/);
    expect(() => dinov2({ embedding: 'mean' as never })).toThrow(/unknown embedding "mean"; available: cls\+avgpool, cls-last-4\+avgpool, cls/);
    expect(() => radDino({ embedding: 'cls-last-4+avgpool' as never })).toThrow(/available: cls, cls\+avgpool/);
    expect(() => dinov2Provider.backbone('vith14')).toThrow(/unknown backbone "dinov2:vith14"; dinov2 has dinov2:vits14, /);
  });
});

/** The error of mapping one key alone, with an empty tensor: it names the key and the canonical tensor it maps to. */
function mappingError(backbone: ReturnType<typeof dinov2>, key: string): string {
  try {
    backbone.fromStateDict(new Map([[key, { data: new Float32Array(0), shape: [0] }]]), provenance);
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}
