import { describeEmbedding } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { onnxModel, onnxProvider } from './index.js';

const example = { variant: '/models/my-net.onnx', options: { output: 'features', mean: '0.5,0.5,0.5', std: '0.25,0.25,0.25' } };

describeBackboneProvider('onnxProvider', () => onnxProvider, { example });
describeBackbone('onnx:<path>', () => onnxModel({ path: '/models/my-net.onnx', output: 'features' }));

describe('onnx model files as backbones', () => {
  it('reads its options as a config or the command line gives them', () => {
    const backbone = onnxProvider.backbone(example.variant, example.options);
    expect(backbone.id).toBe('onnx:/models/my-net.onnx');
    expect(backbone.architecture).toEqual({ family: 'model-file', format: 'onnx', path: '/models/my-net.onnx' });
    expect(describeEmbedding(backbone.embedding)).toBe('output:features');
    expect(backbone.preprocessing).toEqual({
      resize: { size: 256, interpolation: 'bilinear' },
      centerCrop: 224,
      normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      channels: 3,
    });
    expect(backbone.weightSource).toBe('model-file');
    expect(onnxProvider.backbone('m.onnx', { output: 'y', resize: 64, crop: '48', interpolation: 'bicubic' }).preprocessing).toMatchObject({
      resize: { size: 64, interpolation: 'bicubic' },
      centerCrop: 48,
    });
  });

  it('names what is missing or wrong', () => {
    expect(() => onnxProvider.backbone('m.onnx')).toThrow(/onnx:m\.onnx: name the output that holds the embedding \(option output\)/);
    expect(() => onnxProvider.backbone('m.onnx', { output: 'y', mean: '0.5,0.5' })).toThrow(/option mean needs 3 values \(R,G,B\), got 2/);
    expect(() => onnxProvider.backbone('m.onnx', { output: 'y', mean: '0.5,0.5,0.5' })).toThrow(/give mean and std together/);
    expect(() => onnxProvider.backbone('m.onnx', { output: 'y', colour: 'red' })).toThrow(
      /unknown option "colour"; it takes output, input, mean, std, resize, crop, interpolation/,
    );
    expect(() => onnxModel({ path: 'm.onnx', output: 'y' }).fromStateDict(new Map(), { sha256: '0'.repeat(64), source: 'm.onnx' })).toThrow(
      /holds its own weights/,
    );
  });
});
