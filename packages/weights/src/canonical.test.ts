import { describe, expect, it } from 'vitest';
import {
  architectures,
  canonicalTensorShapes,
  checkCanonicalTensors,
  multiplyAdds,
  randomCanonicalWeights,
  sameArchitecture,
  vitArchitecture,
} from './canonical.js';

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
    // Pinned: random backbones (the demo's) must keep their weights and hashes as the architecture grows.
    expect(first.sha256).toBe('2a6e77d6cc0bf85bcfc56c16d22e4cd86e59236399e75c731377a5cb887353d8');
    expect(Array.from(first.tensors.get('blocks.3.attn.qkv.weight')!.data.slice(0, 3))).toEqual([
      -0.0064065963961184025, -0.017261475324630737, 0.01459953747689724,
    ]);
    expect(Array.from(first.tensors.get('norm.weight')!.data.slice(0, 2))).toEqual([0.95268315076828, 1.1877204179763794]);
  });

  it('draws LayerScale like norm weights and register tokens like the other tokens', async () => {
    const registers = vitArchitecture({
      patchSize: 14,
      embedDim: 48,
      depth: 2,
      heads: 3,
      mlp: { kind: 'swiglu', hidden: 64 },
      layerScale: true,
      registers: 4,
      positions: { grid: 5, resampling: { mode: 'bicubic', antialias: true } },
    });
    const weights = await randomCanonicalWeights(registers, 0);
    checkCanonicalTensors(registers, weights.tensors, weights.source);
    expect(weights.tensors.get('blocks.0.mlp.w12.weight')!.shape).toEqual([128, 48]);
    expect(weights.tensors.get('blocks.1.ls2.gamma')!.data.every((value) => value >= 0.75 && value <= 1.25)).toBe(true);
    expect(weights.tensors.get('register_tokens')!.data.every((value) => Math.abs(value) <= 0.04)).toBe(true);
  });

  it('names the tensor and both shapes when one does not fit', async () => {
    const weights = await randomCanonicalWeights(architectures.resnet50, 0);
    const tensors = new Map(weights.tensors);
    tensors.set('layer2.0.conv2.weight', { data: new Float32Array(10), shape: [10] });
    expect(weights.sha256).toBe('f9543432f2c0f5192aa60acec4e2f0a70653599f41ffe68c5faf2322b38fefb9');
    expect(Array.from(weights.tensors.get('layer2.0.conv2.weight')!.data.slice(0, 2))).toEqual([-0.04296131432056427, -0.07799746096134186]);
    expect(() => checkCanonicalTensors(architectures.resnet50, tensors, 'x.pth')).toThrow(
      'x.pth: tensor layer2.0.conv2.weight should have shape [128, 128, 3, 3], got [10]',
    );
    tensors.delete('layer2.0.conv2.weight');
    expect(() => checkCanonicalTensors(architectures.resnet50, tensors, 'x.pth')).toThrow(/1 canonical tensor\(s\) missing, first layer2\.0\.conv2\.weight/);
    tensors.set('fc.weight', { data: new Float32Array(1), shape: [1] });
  });
});

describe('sameArchitecture', () => {
  it('compares descriptions field by field, nested fields too', () => {
    const written = JSON.parse(JSON.stringify(architectures.vits16)) as typeof architectures.vits16;
    expect(sameArchitecture(written, architectures.vits16)).toBe(true);
    expect(sameArchitecture({ ...written, positions: { ...written.positions, resampling: { mode: 'bicubic', antialias: true } } }, architectures.vits16)).toBe(
      false,
    );
    expect(sameArchitecture({ family: 'resnet', blocks: [3, 4, 6, 3], width: 64 }, architectures.resnet50)).toBe(true);
    expect(sameArchitecture(architectures.resnet101, architectures.resnet50)).toBe(false);
  });
});

describe('multiplyAdds', () => {
  it('counts the published costs: ResNet-50 4.1 G, ViT-S/16 4.6 G, ViT-B/16 17.6 G at 224', () => {
    expect(multiplyAdds(architectures.resnet50, 224, 224)! / 1e9).toBeCloseTo(4.09, 2);
    expect(multiplyAdds(architectures.vits16, 224, 224)! / 1e9).toBeCloseTo(4.6, 1);
    expect(multiplyAdds(architectures.vitb16, 224, 224)! / 1e9).toBeCloseTo(17.6, 1);
    // DINOv2 ViT-B/14 at its native 518: 1,369 patches, quadratic attention.
    const vitb14 = vitArchitecture({
      patchSize: 14,
      embedDim: 768,
      depth: 12,
      heads: 12,
      layerScale: true,
      positions: { grid: 37, resampling: { mode: 'bicubic', antialias: false } },
    });
    expect(multiplyAdds(vitb14, 518, 518)! / multiplyAdds(vitb14, 224, 224)!).toBeGreaterThan(5);
    expect(multiplyAdds({ family: 'model-file', format: 'onnx', path: 'x.onnx' }, 224, 224)).toBeUndefined();
  });
});
