import type { Preprocessing } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import { canonicalJson, featureKey, featureKeyInputs, type FeatureKeyFields } from './key.js';

const imagenet: Preprocessing = {
  resize: { size: 256, interpolation: 'bilinear' },
  centerCrop: 224,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

const base: FeatureKeyFields = {
  dataset: { id: 'chestxray14', version: 'nih-v2020+abc' },
  split: 'train',
  rows: { start: 0, end: 86524 },
  backbone: { id: 'dino:vits16', embedding: 'cls-last-4/1536' },
  weightsSha256: 'a'.repeat(64),
  preprocessing: imagenet,
  runtime: { id: 'onnx', precision: 'float32' },
};

describe('feature keys', () => {
  it('are the SHA-256 of canonical JSON: field order does not matter', async () => {
    const key = await featureKey(featureKeyInputs(base));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const reordered: Preprocessing = {
      channels: 3,
      normalize: { std: [0.229, 0.224, 0.225], mean: [0.485, 0.456, 0.406] },
      centerCrop: 224,
      resize: { interpolation: 'bilinear', size: 256 },
    };
    expect(await featureKey(featureKeyInputs({ ...base, preprocessing: reordered }))).toBe(key);
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: null }] })).toBe('{"a":[2,{"c":null}],"b":1}');
  });

  it('change with every input, each field of the preprocessing included', async () => {
    const key = await featureKey(featureKeyInputs(base));
    const variants: [string, FeatureKeyFields][] = [
      ['resize size', { ...base, preprocessing: { ...imagenet, resize: { size: 224, interpolation: 'bilinear' } } }],
      ['interpolation', { ...base, preprocessing: { ...imagenet, resize: { size: 256, interpolation: 'bicubic' } } }],
      ['exact resize', { ...base, preprocessing: { ...imagenet, resize: { size: [256, 256], interpolation: 'bilinear' } } }],
      ['crop', { ...base, preprocessing: { ...imagenet, centerCrop: 192 } }],
      ['one mean value', { ...base, preprocessing: { ...imagenet, normalize: { mean: [0.485, 0.456, 0.407], std: [0.229, 0.224, 0.225] } } }],
      ['no normalisation (SimCLR)', { ...base, preprocessing: { resize: imagenet.resize!, centerCrop: 224, channels: 3 } }],
      ['dataset version', { ...base, dataset: { id: 'chestxray14', version: 'nih-v2020+abd' } }],
      ['split', { ...base, split: 'val' }],
      ['rows (a shard)', { ...base, rows: { start: 0, end: 43262 } }],
      ['backbone', { ...base, backbone: { id: 'dino:vits16-cls', embedding: 'cls/384' } }],
      ['weights', { ...base, weightsSha256: 'b'.repeat(64) }],
      ['precision', { ...base, runtime: { id: 'onnx', precision: 'float16' } }],
      ['runtime', { ...base, runtime: { id: 'tfjs-wasm', precision: 'float32' } }],
    ];
    const keys = new Set([key]);
    for (const [what, fields] of variants) {
      const other = await featureKey(featureKeyInputs(fields));
      expect(other, what).not.toBe(key);
      keys.add(other);
    }
    expect(keys.size).toBe(variants.length + 1);
  });

  it('refuses inputs that cannot name stored features', () => {
    expect(() => featureKeyInputs({ ...base, weightsSha256: 'ABC' })).toThrow(/weightsSha256 must be 64 lowercase hex digits, got "ABC"/);
    expect(() => featureKeyInputs({ ...base, rows: { start: 10, end: 5 } })).toThrow(/0 <= start <= end, got \[10, 5\)/);
    expect(() => canonicalJson({ value: Number.NaN })).toThrow(/NaN has no JSON form/);
  });
});
