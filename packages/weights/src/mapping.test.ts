import { describe, expect, it } from 'vitest';
import { architectures, vitArchitecture } from './canonical.js';
import { mapToCanonical, stateDictInLayout } from './mapping.js';

const provenance = { sha256: '0'.repeat(64), source: 'hf.safetensors' };
const tiny = vitArchitecture({
  patchSize: 16,
  embedDim: 8,
  depth: 1,
  heads: 2,
  positions: { grid: 2, resampling: { mode: 'bicubic', offset: 0.1, antialias: false } },
});

/** Hugging Face's spelling of DINO's ViT: separate query, key and value. */
function huggingFaceKey(name: string): string | string[] {
  const block = /^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(name);
  if (block) return ['query', 'key', 'value'].map((part) => `encoder.layer.${block[1]}.attention.attention.${part}.${block[2]}`);
  return `vit.${name}`;
}

function canonicalOfHuggingFace(key: string) {
  const part = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/.exec(key);
  if (part) return { name: `blocks.${part[1]}.attn.qkv.${part[3]}`, part: ['query', 'key', 'value'].indexOf(part[2]!), parts: 3 };
  return key.startsWith('vit.') ? key.slice('vit.'.length) : undefined;
}

describe('mapToCanonical with tensors in parts', () => {
  it('joins query, key and value into the fused qkv, in part order', () => {
    const weights = new Map(
      [...stateDictInLayout(tiny, (name) => name)].map(([name, tensor]) => [name, { ...tensor, data: tensor.data.map((_, index) => index + 0.5) }]),
    );
    const split = stateDictInLayout(tiny, huggingFaceKey, {}, weights);
    expect(split.get('encoder.layer.0.attention.attention.key.weight')!.shape).toEqual([8, 8]);
    const mapped = mapToCanonical(split, { architecture: tiny, canonicalName: canonicalOfHuggingFace }, provenance);
    expect(Array.from(mapped.tensors.get('blocks.0.attn.qkv.weight')!.data)).toEqual(Array.from(weights.get('blocks.0.attn.qkv.weight')!.data));
    expect(mapped.tensors.get('blocks.0.attn.qkv.bias')!.shape).toEqual([24]);
  });

  it('names the part that is missing, the part of the wrong shape, and a part given twice', () => {
    const mapping = { architecture: tiny, canonicalName: canonicalOfHuggingFace };
    const withoutKey = stateDictInLayout(tiny, huggingFaceKey);
    withoutKey.delete('encoder.layer.0.attention.attention.key.weight');
    expect(() => mapToCanonical(withoutKey, mapping, provenance)).toThrow(
      'hf.safetensors: blocks.0.attn.qkv.weight is made of 3 checkpoint tensors; encoder.layer.0.attention.attention.query.weight, encoder.layer.0.attention.attention.value.weight are there, part 2 is missing',
    );
    const wrongShape = stateDictInLayout(tiny, huggingFaceKey);
    wrongShape.set('encoder.layer.0.attention.attention.value.bias', { data: new Float32Array(9), shape: [9] });
    expect(() => mapToCanonical(wrongShape, mapping, provenance)).toThrow(
      /value\.bias has shape \[9\], a ViT .* needs \[8\] for part 3 of 3 of blocks\.0\.attn\.qkv\.bias/,
    );
    const twice = stateDictInLayout(tiny, huggingFaceKey);
    twice.set('vit.blocks.0.attn.qkv.weight', { data: new Float32Array(192), shape: [24, 8] });
    expect(() => mapToCanonical(twice, mapping, provenance)).toThrow(
      /vit\.blocks\.0\.attn\.qkv\.weight and the parts .* all map to blocks\.0\.attn\.qkv\.weight/,
    );
  });

  it("names a missing key as the layout spells it, where the canonical name only ends the layout's key", () => {
    // transformers' `embeddings.cls_token` ends with `cls_token`, but `embeddings.` is no prefix of the checkpoint.
    const layoutKey = (name: string) => (name === 'cls_token' ? 'embeddings.cls_token' : name === 'norm.weight' ? 'layernorm.weight' : `other.${name}`);
    const canonical = (key: string) => (key.endsWith('embeddings.cls_token') ? 'cls_token' : undefined);
    const checkpoint = new Map([['embeddings.cls_token', { data: new Float32Array(8), shape: [1, 1, 8] }]]);
    const mapping = { architecture: tiny, canonicalName: canonical };
    expect(() => mapToCanonical(checkpoint, mapping, provenance, layoutKey)).toThrow(/checkpoint key other\.pos_embed is missing/);
    const prefixed = new Map([['vit.embeddings.cls_token', checkpoint.get('embeddings.cls_token')!]]);
    expect(() => mapToCanonical(prefixed, mapping, provenance, layoutKey)).toThrow(/checkpoint key vit\.other\.pos_embed is missing/);
  });

  it("names a missing key as the layout spells it, behind the file's own prefix", () => {
    // transformers' keys end with canonical names (`embeddings.cls_token`) without being a prefix plus the name.
    const transformersKey = (name: string) => (name === 'cls_token' ? 'embeddings.cls_token' : name === 'norm.weight' ? 'layernorm.weight' : name);
    const canonical = (key: string) => (key === 'embeddings.cls_token' ? 'cls_token' : key === 'layernorm.weight' ? 'norm.weight' : key);
    const checkpoint = stateDictInLayout(tiny, transformersKey);
    checkpoint.delete('layernorm.weight');
    expect(() => mapToCanonical(checkpoint, { architecture: tiny, canonicalName: canonical }, provenance, transformersKey)).toThrow(
      /checkpoint key layernorm\.weight is missing/,
    );
    // A classification model's base-model prefix stays.
    const prefixed = stateDictInLayout(tiny, (name) => `dinov2.${transformersKey(name)}`);
    prefixed.delete('dinov2.layernorm.weight');
    const unprefixed = (key: string) => canonical(key.slice('dinov2.'.length));
    expect(() => mapToCanonical(prefixed, { architecture: tiny, canonicalName: unprefixed }, provenance, transformersKey)).toThrow(
      /checkpoint key dinov2\.layernorm\.weight is missing/,
    );
  });

  it('keeps single-tensor layouts as they were', () => {
    const mapped = mapToCanonical(
      stateDictInLayout(architectures.resnet50, (name) => `module.${name}`),
      { architecture: architectures.resnet50, canonicalName: (key) => key.slice('module.'.length) },
      provenance,
    );
    expect(mapped.tensors.size).toBe(265);
  });
});
