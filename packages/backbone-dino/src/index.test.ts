import { describeEmbedding } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { dino, dinoProvider } from './index.js';

describeBackboneProvider('dinoProvider', () => dinoProvider);

const provenance = { sha256: '2'.repeat(64), source: 'dino_deitsmall16_pretrain_full_checkpoint.pth' };
const backboneOnly = () => stateDictInLayout(architectures.vits16, (name) => name);

/** The full training checkpoint: teacher and student (DDP-wrapped), both with DINO heads. */
function fullCheckpoint() {
  const teacher = stateDictInLayout(architectures.vits16, (name) => `teacher.backbone.${name}`, {
    'teacher.head.mlp.0.weight': [2048, 384],
    'teacher.head.last_layer.weight_g': [1, 256],
  });
  const student = stateDictInLayout(architectures.vits16, (name) => `student.module.backbone.${name}`, { 'student.module.head.mlp.0.weight': [2048, 384] });
  return new Map([...teacher, ...student, ['epoch', { data: new Float32Array([100]), shape: [] }]]);
}

describeBackbone('dino:vits16', () => dino(), { officialStateDict: backboneOnly, embeddingDimension: 1536 });
describeBackbone('dino:vits16 (full checkpoint)', () => dino(), { officialStateDict: fullCheckpoint, embeddingDimension: 1536 });
describeBackbone('dino:vits16-cls', () => dino({ embedding: 'cls' }), { officialStateDict: backboneOnly, embeddingDimension: 384 });
describeBackbone('dino:resnet50', () => dino({ variant: 'resnet50' }), {
  officialStateDict: () => stateDictInLayout(architectures.resnet50, (name) => name),
  embeddingDimension: 2048,
});

describe('dino', () => {
  it('takes the teacher from a full checkpoint', () => {
    const checkpoint = fullCheckpoint();
    checkpoint.get('teacher.backbone.norm.weight')!.data.fill(7);
    const weights = dino().fromStateDict(checkpoint, provenance);
    expect(weights.tensors.get('norm.weight')!.data[0]).toBe(7);
  });

  it('uses bicubic resizing and names the variants and embeddings', () => {
    expect(dino().preprocessing.resize?.interpolation).toBe('bicubic');
    expect(dino({ variant: 'vitb8' }).embedding).toEqual({
      kind: 'tokens',
      classTokens: 4,
      patchMean: false,
      tokenNorm: 'final',
      outputNorm: 'none',
      dimension: 3072,
    });
    expect(describeEmbedding(dino({ variant: 'vitb8' }).embedding)).toBe('cls-last-4');
    expect(dino({ embedding: 'cls' }).id).toBe('dino:vits16-cls');
    expect(() => dino({ variant: 'vitl16' as never })).toThrow(/unknown variant "vitl16"; available: vits16, vits8, vitb16, vitb8, resnet50/);
    expect(() => dino({ variant: 'resnet50', embedding: 'cls' })).toThrow(/applies to ViTs/);
  });

  it('refuses a ViT-B checkpoint for ViT-S, naming the key and shapes', () => {
    const base = stateDictInLayout(architectures.vitb16, (name) => name);
    expect(() => dino().fromStateDict(base, provenance)).toThrow(
      /checkpoint key cls_token has shape \[1, 1, 768\], a ViT \(patch 16, width 384, depth 12, 6 heads\) needs \[1, 1, 384\]/,
    );
  });
});
