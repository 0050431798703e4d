import { describe, expect, it } from 'vitest';
import { canonicalTensorShapes, vitArchitecture } from './canonical.js';
import { huggingFaceCanonicalName, huggingFaceCheckpointKey } from './hugging-face.js';
import { mapToCanonical, stateDictInLayout } from './mapping.js';

const provenance = { sha256: '0'.repeat(64), source: 'model.safetensors' };
/** DINOv2 ViT-g's parts, small: SwiGLU, LayerScale, 4 registers. */
const dinov2Like = vitArchitecture({ patchSize: 14, embedDim: 16, depth: 2, heads: 2, mlp: { kind: 'swiglu', hidden: 24 }, layerScale: true, registers: 4 });
const vitLike = vitArchitecture({ patchSize: 16, embedDim: 16, depth: 2, heads: 2 });

/** Every canonical tensor filled with its own index, so a tensor in the wrong place shows. */
function numbered(architecture: typeof vitLike) {
  let next = 0;
  return new Map(
    [...canonicalTensorShapes(architecture)].map(([name, shape]) => [
      name,
      { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next++), shape },
    ]),
  );
}

describe('Hugging Face ViT layouts', () => {
  it.each([
    ['dinov2', dinov2Like],
    ['vit', vitLike],
  ] as const)('%s: a transformers state dict maps back onto every canonical tensor, query, key and value joined in order', (model, architecture) => {
    const weights = numbered(architecture);
    const stateDict = stateDictInLayout(architecture, (name) => huggingFaceCheckpointKey(name, model), {}, weights);
    const canonical = mapToCanonical(stateDict, { architecture, canonicalName: (key) => huggingFaceCanonicalName(key, model) }, provenance);
    for (const [name, tensor] of weights) expect(Array.from(canonical.tensors.get(name)!.data), name).toEqual(Array.from(tensor.data));
  });

  it('spells the keys as transformers does', () => {
    expect(huggingFaceCheckpointKey('blocks.3.attn.qkv.weight', 'dinov2')).toEqual([
      'encoder.layer.3.attention.attention.query.weight',
      'encoder.layer.3.attention.attention.key.weight',
      'encoder.layer.3.attention.attention.value.weight',
    ]);
    expect(huggingFaceCheckpointKey('blocks.0.ls2.gamma', 'dinov2')).toBe('encoder.layer.0.layer_scale2.lambda1');
    expect(huggingFaceCheckpointKey('blocks.0.mlp.w12.bias', 'dinov2')).toBe('encoder.layer.0.mlp.weights_in.bias');
    expect(huggingFaceCheckpointKey('blocks.1.norm2.weight', 'vit')).toBe('encoder.layer.1.layernorm_after.weight');
    expect(huggingFaceCheckpointKey('blocks.1.mlp.fc2.bias', 'vit')).toBe('encoder.layer.1.output.dense.bias');
    expect(huggingFaceCheckpointKey('pos_embed', 'vit')).toBe('embeddings.position_embeddings');
    expect(() => huggingFaceCheckpointKey('blocks.0.ls1.gamma', 'vit')).toThrow(/no counterpart in transformers' ViTModel/);
  });

  it('drops the base-model prefix, ignores the mask token, pooler and head, and keeps unknown keys to be refused', () => {
    expect(huggingFaceCanonicalName('dinov2.encoder.layer.0.norm1.bias', 'dinov2')).toBe('blocks.0.norm1.bias');
    expect(huggingFaceCanonicalName('vit.encoder.layer.0.attention.attention.value.bias', 'vit')).toEqual({
      name: 'blocks.0.attn.qkv.bias',
      part: 2,
      parts: 3,
    });
    for (const key of ['embeddings.mask_token', 'pooler.dense.weight', 'classifier.weight', 'vit.pooler.dense.bias'])
      expect(huggingFaceCanonicalName(key, 'vit')).toBeUndefined();
    expect(huggingFaceCanonicalName('encoder.layer.0.layer_scale1.lambda1', 'vit')).toBe('encoder.layer.0.layer_scale1.lambda1');
    const stateDict = stateDictInLayout(vitLike, (name) => huggingFaceCheckpointKey(name, 'vit'), { 'encoder.layer.0.extra.weight': [16] });
    expect(() => mapToCanonical(stateDict, { architecture: vitLike, canonicalName: (key) => huggingFaceCanonicalName(key, 'vit') }, provenance)).toThrow(
      /checkpoint key encoder\.layer\.0\.extra\.weight maps to encoder\.layer\.0\.extra\.weight, which a ViT .* does not have/,
    );
  });
});
