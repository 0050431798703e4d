import type { Architecture, Tensor } from '@medssl/spec';
import { describeEmbedding } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { canonicalTensorShapes, huggingFaceCheckpointKey, positionTableForInput, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { ibot, ibotProvider } from './index.js';

describeBackboneProvider('ibotProvider', () => ibotProvider);

const provenance = { sha256: '3'.repeat(64), source: 'checkpoint_teacher.pth' };

/**
 * Zero weights for every canonical tensor as views of one buffer: a ViT-L's tensors without allocating
 * 300M floats. Mapping only reads them.
 */
function sharedZeros(architecture: Architecture): Map<string, Tensor> {
  const shapes = canonicalTensorShapes(architecture);
  const buffer = new Float32Array(Math.max(...[...shapes.values()].map(count)));
  return new Map([...shapes].map(([name, shape]) => [name, { data: buffer.subarray(0, count(shape)), shape }]));
}

function count(shape: readonly number[]): number {
  return shape.reduce((product, extent) => product * extent, 1);
}

/** `checkpoint_teacher.pth` as extract_backbone_weights.py writes it: `{'state_dict': backbone}`, here with the iBOT head kept. */
function teacherFile(architecture: Architecture) {
  const width = architecture.family === 'vit' ? architecture.embedDim : 0;
  return stateDictInLayout(
    architecture,
    (name) => `state_dict.${name}`,
    { 'state_dict.head.mlp.0.weight': [2048, width], 'state_dict.head.last_layer.weight_g': [8192, 1], 'state_dict.head.last_layer2.weight_v': [8192, 256] },
    sharedZeros(architecture),
  );
}

/** main_ibot.py's checkpoint.pth: teacher (MultiCropWrapper), DDP student with masked_embed, both with heads, training state. */
function fullCheckpoint() {
  const { architecture } = ibot();
  const zeros = sharedZeros(architecture);
  const teacher = stateDictInLayout(architecture, (name) => `teacher.backbone.${name}`, { 'teacher.head.mlp.0.weight': [2048, 384] }, zeros);
  const student = stateDictInLayout(
    architecture,
    (name) => `student.module.backbone.${name}`,
    { 'student.module.backbone.masked_embed': [1, 384], 'student.module.head.mlp.0.weight': [2048, 384] },
    zeros,
  );
  const zerosOf = (shape: number[]): Tensor => ({ data: new Float32Array(count(shape)), shape });
  const training: [string, Tensor][] = [
    ['optimizer.state.0.exp_avg', zerosOf([384])],
    ['ibot_loss.center', zerosOf([1, 8192])],
    ['ibot_loss.center2', zerosOf([1, 1, 8192])],
  ];
  return new Map([...teacher, ...student, ...training]);
}

/** Phikon's model.safetensors: transformers' ViTModel names, with the pooler ViTModel saves by default. */
function phikonLayout(prefix: string) {
  const { architecture } = ibot({ variant: 'phikon' });
  return stateDictInLayout(
    architecture,
    (name) => [huggingFaceCheckpointKey(name, 'vit')].flat().map((key) => `${prefix}${key}`),
    prefix ? { 'classifier.weight': [9, 768], 'classifier.bias': [9] } : { 'pooler.dense.weight': [768, 768], 'pooler.dense.bias': [768] },
    sharedZeros(architecture),
  );
}

const phikonFiles = new Map<string, Map<string, Tensor>>();
/** A fresh map of Phikon's keys (tensors shared: tests replace entries, never write into them); `vit.` for ViTForImageClassification. */
function phikonFile(prefix = ''): Map<string, Tensor> {
  if (!phikonFiles.has(prefix)) phikonFiles.set(prefix, phikonLayout(prefix));
  return new Map(phikonFiles.get(prefix));
}

describeBackbone('ibot:vits16', () => ibot(), { officialStateDict: () => teacherFile(ibot().architecture), embeddingDimension: 1536 });
describeBackbone('ibot:vits16 (full checkpoint)', () => ibot(), { officialStateDict: fullCheckpoint, embeddingDimension: 1536 });
describeBackbone('ibot:vits16-cls', () => ibot({ embedding: 'cls' }), { officialStateDict: () => teacherFile(ibot().architecture), embeddingDimension: 384 });
describeBackbone('ibot:vitb16', () => ibot({ variant: 'vitb16' }), {
  officialStateDict: () => teacherFile(ibot({ variant: 'vitb16' }).architecture),
  embeddingDimension: 1536,
});
describeBackbone('ibot:vitb16-cls', () => ibot({ variant: 'vitb16', embedding: 'cls' }), { embeddingDimension: 768 });
describeBackbone('ibot:vitl16', () => ibot({ variant: 'vitl16' }), {
  officialStateDict: () => teacherFile(ibot({ variant: 'vitl16' }).architecture),
  embeddingDimension: 2048,
});
describeBackbone('ibot:phikon', () => ibot({ variant: 'phikon' }), { officialStateDict: () => phikonFile(), embeddingDimension: 768 });
describeBackbone('ibot:phikon (ViTForImageClassification)', () => ibot({ variant: 'phikon' }), {
  officialStateDict: () => phikonFile('vit.'),
  embeddingDimension: 768,
});

describe('ibot', () => {
  it('takes the teacher from a full checkpoint, not the student', () => {
    const checkpoint = fullCheckpoint();
    checkpoint.set('teacher.backbone.norm.weight', { data: new Float32Array(384).fill(7), shape: [384] });
    checkpoint.set('student.module.backbone.norm.weight', { data: new Float32Array(384).fill(5), shape: [384] });
    expect(ibot().fromStateDict(checkpoint, provenance).tensors.get('norm.weight')!.data[0]).toBe(7);
  });

  it('reads a student backbone file, ignoring its masked_embed (the ImageNet-22k checkpoint_student.pth)', () => {
    const file = teacherFile(ibot({ variant: 'vitb16' }).architecture);
    file.set('state_dict.masked_embed', { data: new Float32Array(768), shape: [1, 768] });
    expect(ibot({ variant: 'vitb16' }).fromStateDict(file, provenance).tensors.has('masked_embed')).toBe(false);
  });

  it('gives each model its linear-evaluation input: cls-last-4 for ViT-S, cls+avgpool for ViT-B and ViT-L, cls for Phikon', () => {
    expect(describeEmbedding(ibot().embedding)).toBe('cls-last-4');
    expect(ibot({ variant: 'vitb16' }).embedding).toEqual({
      kind: 'tokens',
      classTokens: 1,
      patchMean: true,
      tokenNorm: 'final',
      outputNorm: 'none',
      dimension: 1536,
    });
    expect(describeEmbedding(ibot({ variant: 'vitl16' }).embedding)).toBe('cls+avgpool');
    expect(describeEmbedding(ibot({ variant: 'phikon' }).embedding)).toBe('cls');
    expect(ibot({ variant: 'vitl16', embedding: 'cls' }).id).toBe('ibot:vitl16-cls');
    // Phikon's default is the class token already: the same id and features.
    expect(ibot({ variant: 'phikon', embedding: 'cls' }).id).toBe('ibot:phikon');
    expect(ibotProvider.variants).toEqual(['vits16', 'vits16-cls', 'vitb16', 'vitb16-cls', 'vitl16', 'vitl16-cls', 'phikon']);
    expect(ibotProvider.presets).toEqual({ foundation: ['phikon'] });
  });

  it('states each release: preprocessing, pretraining and files', () => {
    expect(ibot().preprocessing).toEqual({
      resize: { size: 256, interpolation: 'bicubic' },
      centerCrop: 224,
      normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      channels: 3,
    });
    expect(ibot({ variant: 'phikon' }).preprocessing.resize).toEqual({ size: 224, interpolation: 'bilinear' });
    expect(ibot({ variant: 'phikon' }).pretraining.domain).toBe('pathology');
    expect(ibot({ variant: 'vitb16' }).checkpoints.map((file) => file.url)).toEqual([
      'https://lf3-nlp-opensource.bytetos.com/obj/nlp-opensource/archive/2022/ibot/vitb_16/checkpoint_teacher.pth',
      'https://lf3-nlp-opensource.bytetos.com/obj/nlp-opensource/archive/2022/ibot/vitb_16/checkpoint.pth',
    ]);
    expect(ibot({ variant: 'phikon' }).checkpoints[0]).toMatchObject({
      file: 'phikon/model.safetensors',
      url: 'https://huggingface.co/owkin/phikon/resolve/main/model.safetensors',
    });
    expect(ibot({ variant: 'phikon' }).layout).toBe('Hugging Face ViTModel');
    expect(ibot({ variant: 'vitl16' }).architecture).toMatchObject({ embedDim: 1024, depth: 24, heads: 16, layerNormEpsilon: 1e-6 });
  });

  it("resamples Phikon's positions to the grid's size (transformers), iBOT's with DINO's 0.1 offset", () => {
    const width = 1;
    const positionEmbedding = Float32Array.from({ length: 197 }, (_, index) => Math.sin(index));
    const table = (variant: 'vitb16' | 'phikon') => {
      const { architecture } = ibot({ variant });
      if (architecture.family !== 'vit') throw new Error('a ViT');
      return positionTableForInput({
        positionEmbedding,
        width,
        patchSize: 16,
        imageHeight: 160,
        imageWidth: 160,
        resampling: architecture.positions.resampling,
      });
    };
    expect(ibot({ variant: 'phikon' }).architecture).toMatchObject({ positions: { grid: 14, resampling: { mode: 'bicubic', antialias: false } } });
    expect(ibot({ variant: 'vitb16' }).architecture).toMatchObject({ positions: { resampling: { offset: 0.1 } } });
    expect(table('phikon').length).toBe(101);
    expect(Array.from(table('phikon'))).not.toEqual(Array.from(table('vitb16')));
  });

  it("assembles Phikon's query, key and value into attn.qkv in that order", () => {
    const file = phikonFile();
    for (const [index, projection] of ['query', 'key', 'value'].entries()) {
      file.set(`encoder.layer.3.attention.attention.${projection}.bias`, { data: new Float32Array(768).fill(index + 1), shape: [768] });
    }
    const qkv = ibot({ variant: 'phikon' }).fromStateDict(file, provenance).tensors.get('blocks.3.attn.qkv.bias')!.data;
    expect([qkv[0], qkv[768], qkv[1536]]).toEqual([1, 2, 3]);
  });

  it('names what is wrong: the variant, a checkpoint of another size, a missing projection', () => {
    expect(() => ibot({ variant: 'vitg14' as never })).toThrow(/unknown variant "vitg14"; available: vits16, vitb16, vitl16, phikon/);
    expect(() => ibot({ embedding: 'avgpool' as never })).toThrow(/unknown embedding "avgpool"/);
    expect(() => ibot().fromStateDict(teacherFile(ibot({ variant: 'vitb16' }).architecture), provenance)).toThrow(
      /checkpoint key state_dict.cls_token has shape \[1, 1, 768\], a ViT \(patch 16, width 384, depth 12, 6 heads\) needs \[1, 1, 384\]/,
    );
    const file = phikonFile();
    file.delete('encoder.layer.0.attention.attention.value.weight');
    expect(() => ibot({ variant: 'phikon' }).fromStateDict(file, provenance)).toThrow(
      /blocks.0.attn.qkv.weight is made of 3 checkpoint tensors.*part 3 is missing/,
    );
    const noNorm = phikonFile();
    noNorm.delete('layernorm.weight');
    expect(() => ibot({ variant: 'phikon' }).fromStateDict(noNorm, provenance)).toThrow(/checkpoint key layernorm.weight is missing/);
  });
});
