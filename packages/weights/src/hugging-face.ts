// Hugging Face transformers' names for the ViTs medssl builds: `ViTModel` (Phikon) and `Dinov2Model` /
// `Dinov2WithRegistersModel` (DINOv2 on the Hub, RAD-DINO), as `model.safetensors` stores them. Written from
// the module attributes of transformers' modeling_vit.py and modeling_dinov2.py.
import type { CanonicalTarget } from './mapping.js';

/** Which transformers class saved the checkpoint. */
export type HuggingFaceVisionModel = 'vit' | 'dinov2';

const PROJECTIONS = ['query', 'key', 'value'] as const;

/** Per-block module names of each class, canonical name last. */
const BLOCK_NAMES: Readonly<Record<HuggingFaceVisionModel, Readonly<Record<string, string>>>> = {
  vit: {
    layernorm_before: 'norm1',
    'attention.output.dense': 'attn.proj',
    layernorm_after: 'norm2',
    'intermediate.dense': 'mlp.fc1',
    'output.dense': 'mlp.fc2',
  },
  dinov2: {
    norm1: 'norm1',
    'attention.output.dense': 'attn.proj',
    'layer_scale1.lambda1': 'ls1.gamma',
    norm2: 'norm2',
    'mlp.fc1': 'mlp.fc1',
    'mlp.fc2': 'mlp.fc2',
    // SwiGLU (ViT-g): transformers' weights_in/weights_out are DINOv2's w12/w3.
    'mlp.weights_in': 'mlp.w12',
    'mlp.weights_out': 'mlp.w3',
    'layer_scale2.lambda1': 'ls2.gamma',
  },
};

const EMBEDDING_NAMES: Readonly<Record<string, string>> = {
  'embeddings.cls_token': 'cls_token',
  'embeddings.position_embeddings': 'pos_embed',
  'embeddings.register_tokens': 'register_tokens',
  'embeddings.patch_embeddings.projection.weight': 'patch_embed.proj.weight',
  'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
  'layernorm.weight': 'norm.weight',
  'layernorm.bias': 'norm.bias',
};

/** Keys a feature extractor does not use: the masked-image token, ViT's pooler, a classification head. */
function ignored(key: string): boolean {
  return key === 'embeddings.mask_token' || key.startsWith('pooler.') || key.startsWith('classifier.');
}

/**
 * Where a key of a transformers checkpoint goes in the canonical layout: query, key and value become the
 * three parts of `attn.qkv`; the base-model prefix of a checkpoint saved with a head (`vit.`, `dinov2.`) is
 * dropped; the mask token, pooler and classifier are ignored (`undefined`). A key neither class has is
 * returned as it is, so the mapping names it as a tensor the network lacks.
 */
export function huggingFaceCanonicalName(key: string, model: HuggingFaceVisionModel): CanonicalTarget | undefined {
  const base = `${model}.`;
  const name = key.startsWith(base) ? key.slice(base.length) : key;
  if (ignored(name)) return undefined;
  const embedding = EMBEDDING_NAMES[name];
  if (embedding !== undefined) return embedding;
  const block = /^encoder\.layer\.(\d+)\.(.+)\.(weight|bias|lambda1)$/.exec(name);
  if (!block) return name;
  const [, index, module, parameter] = block;
  const projection = /^attention\.attention\.(query|key|value)$/.exec(module!);
  if (projection) {
    return { name: `blocks.${index}.attn.qkv.${parameter}`, part: PROJECTIONS.indexOf(projection[1] as (typeof PROJECTIONS)[number]), parts: 3 };
  }
  const canonical = BLOCK_NAMES[model][parameter === 'lambda1' ? `${module}.lambda1` : module!];
  if (canonical === undefined) return name;
  return parameter === 'lambda1' ? `blocks.${index}.${canonical}` : `blocks.${index}.${canonical}.${parameter}`;
}

/** The transformers key (or the three keys, for `attn.qkv`) that holds a canonical tensor. */
export function huggingFaceCheckpointKey(canonicalName: string, model: HuggingFaceVisionModel): string | readonly string[] {
  const embedding = Object.entries(EMBEDDING_NAMES).find(([, canonical]) => canonical === canonicalName);
  if (embedding) return embedding[0];
  const block = /^blocks\.(\d+)\.(.+)$/.exec(canonicalName);
  if (!block) throw new Error(`${canonicalName} is not a canonical ViT tensor name`);
  const [, index, rest] = block;
  const qkv = /^attn\.qkv\.(weight|bias)$/.exec(rest!);
  if (qkv) return PROJECTIONS.map((projection) => `encoder.layer.${index}.attention.attention.${projection}.${qkv[1]}`);
  for (const [module, canonical] of Object.entries(BLOCK_NAMES[model])) {
    if (module.endsWith('.lambda1') && rest === canonical) return `encoder.layer.${index}.${module}`;
    if (rest === `${canonical}.weight` || rest === `${canonical}.bias`) return `encoder.layer.${index}.${module}${rest.slice(canonical.length)}`;
  }
  throw new Error(`${canonicalName} has no counterpart in transformers' ${model === 'vit' ? 'ViTModel' : 'Dinov2Model'}`);
}
