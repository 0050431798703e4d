import { describe, expect, it } from 'vitest';
import { architectures, canonicalTensorShapes, checkCanonicalTensors, randomCanonicalWeights } from './canonical.js';

const count = (shapes: Map<string, readonly number[]>, filter: (name: string) => boolean = () => true) =>
  [...shapes].filter(([name]) => filter(name)).reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);

describe('canonical tensor shapes', () => {
  it('has the parameter counts of torchvision ResNet-50 and DINO ViTs', () => {
    // torchvision resnet50: 25,557,032 parameters, of which the fc layer holds 2048 * 1000 + 1000.
    const resnet = canonicalTensorShapes(architectures.resnet50);
    expect(count(resnet, (name) => !name.includes('running_'))).toBe(25_557_032 - 2_049_000);
    expect(resnet.size).toBe(265); // 53 conv/bn pairs x 5 tensors
    expect(resnet.get('layer4.2.conv3.weight')).toEqual([2048, 512, 1, 1]);
    // SimCLR's ResNet-50 (2x) and (4x): 94 M and 375 M parameters without a head (SimCLR paper, table 8).
    expect(Math.round(count(canonicalTensorShapes(architectures.resnet50x2), (name) => !name.includes('running_')) / 1e6)).toBe(94);
    expect(Math.round(count(canonicalTensorShapes(architectures.resnet50x4), (name) => !name.includes('running_')) / 1e6)).toBe(375);
    // DINO ViT-S/16 and ViT-B/16 without head: 21.7 M and 85.8 M parameters (the DINO paper rounds to 21 M and 85 M).
    expect(Math.round(count(canonicalTensorShapes(architectures.vits16)) / 1e6)).toBe(22);
    expect(Math.round(count(canonicalTensorShapes(architectures.vitb16)) / 1e6)).toBe(86);
    expect(canonicalTensorShapes(architectures.vits8).get('pos_embed')).toEqual([1, 785, 384]);
  });

  it('makes seeded random weights that pass the shape check, the same for the same seed', async () => {
    const first = await randomCanonicalWeights(architectures.vits16, 3);
    const again = await randomCanonicalWeights(architectures.vits16, 3);
    const other = await randomCanonicalWeights(architectures.vits16, 4);
    checkCanonicalTensors(architectures.vits16, first.tensors, first.source);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.sha256).toBe(again.sha256);
    expect(first.sha256).not.toBe(other.sha256);
    expect(first.tensors.get('blocks.3.attn.qkv.weight')!.data.slice(0, 4)).toEqual(again.tensors.get('blocks.3.attn.qkv.weight')!.data.slice(0, 4));
  });

  it('names the tensor and both shapes when one does not fit', async () => {
    const weights = await randomCanonicalWeights(architectures.resnet50, 0);
    const tensors = new Map(weights.tensors);
    tensors.set('layer2.0.conv2.weight', { data: new Float32Array(10), shape: [10] });
    expect(() => checkCanonicalTensors(architectures.resnet50, tensors, 'x.pth')).toThrow('x.pth: tensor layer2.0.conv2.weight should have shape [128, 128, 3, 3], got [10]');
    tensors.delete('layer2.0.conv2.weight');
    expect(() => checkCanonicalTensors(architectures.resnet50, tensors, 'x.pth')).toThrow(/1 canonical tensor\(s\) missing, first layer2\.0\.conv2\.weight/);
    tensors.set('fc.weight', { data: new Float32Array(1), shape: [1] });
  });
});
