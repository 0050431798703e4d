import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, canonicalTensorShapes, checkCanonicalTensors, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { random, randomProvider, randomWeights, supervised, supervisedProvider } from './index.js';

describeBackboneProvider('supervisedProvider', () => supervisedProvider);
describeBackboneProvider('randomProvider', () => randomProvider);

const provenance = { sha256: 'f'.repeat(64), source: 'resnet50-19c8e357.pth' };

// torchvision's file: canonical keys, the fc classifier, and (newer files) batch counters.
const torchvisionLayout = () =>
  stateDictInLayout(architectures.resnet50, (name) => name, { 'fc.weight': [1000, 2048], 'fc.bias': [1000], 'bn1.num_batches_tracked': [] });

describeBackbone('supervised:resnet50', () => supervised(), { officialStateDict: torchvisionLayout, embeddingDimension: 2048 });
describeBackbone('supervised:resnet50-v2', () => supervised({ variant: 'resnet50-v2' }), { officialStateDict: torchvisionLayout, embeddingDimension: 2048 });
describeBackbone('random:resnet50', () => random(), {
  officialStateDict: () => stateDictInLayout(architectures.resnet50, (name) => name),
  embeddingDimension: 2048,
});
describeBackbone('random:vits16', () => random({ architecture: 'vits16' }), {
  officialStateDict: () => stateDictInLayout(architectures.vits16, (name) => name),
  embeddingDimension: 384,
});

describe('supervised', () => {
  it('uses the ImageNet evaluation transform and ignores the classifier', () => {
    const backbone = supervised();
    expect(backbone.id).toBe('supervised:resnet50');
    expect(backbone.preprocessing).toEqual({
      resize: { size: 256, interpolation: 'bilinear' },
      centerCrop: 224,
      normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      channels: 3,
    });
    const weights = backbone.fromStateDict(torchvisionLayout(), provenance);
    expect(weights.tensors.size).toBe(canonicalTensorShapes(architectures.resnet50).size);
    expect(weights.tensors.has('fc.weight')).toBe(false);
  });

  it('names a missing key and a wrong shape', () => {
    const missing = torchvisionLayout();
    missing.delete('layer3.2.bn2.running_var');
    expect(() => supervised().fromStateDict(missing, provenance)).toThrow('resnet50-19c8e357.pth: checkpoint key layer3.2.bn2.running_var is missing');
    const wide = stateDictInLayout(architectures.resnet50x2, (name) => name);
    expect(() => supervised().fromStateDict(wide, provenance)).toThrow(
      'checkpoint key conv1.weight has shape [128, 3, 7, 7], a ResNet-50 (1x width) needs [64, 3, 7, 7] for conv1.weight',
    );
  });

  it("reads torchvision's V1 files as supervised:resnet50 and its V2 file as supervised:resnet50-v2, at V2's resize 232", () => {
    expect(supervised().checkpoints.map((checkpoint) => checkpoint.file)).toEqual(['resnet50-0676ba61.pth', 'resnet50-19c8e357.pth']);
    for (const checkpoint of supervised().checkpoints) expect(checkpoint.license).toContain('IMAGENET1K_V1');
    const v2 = supervised({ variant: 'resnet50-v2' });
    expect(v2.id).toBe('supervised:resnet50-v2');
    expect(v2.checkpoints).toEqual([
      expect.objectContaining({
        file: 'resnet50-11ad3fa6.pth',
        url: 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
        license: expect.stringContaining('IMAGENET1K_V2'),
      }),
    ]);
    // torchvision's ResNet50_Weights.IMAGENET1K_V2.transforms(): resize 232 (bilinear), crop 224.
    expect(v2.preprocessing).toEqual({ ...supervised().preprocessing, resize: { size: 232, interpolation: 'bilinear' } });
    expect(supervisedProvider.variants).toEqual(['resnet50', 'resnet50-v2']);
  });

  it('refuses unknown variants', () => {
    expect(() => supervised({ variant: 'resnet101' as never })).toThrow(/unknown variant "resnet101"; available: resnet50, resnet50-v2/);
  });
});

describe('random', () => {
  it('gives seeded canonical weights', async () => {
    const backbone = random({ architecture: 'vits16' });
    const weights = await randomWeights(backbone, 1);
    checkCanonicalTensors(backbone.architecture, weights.tensors, weights.source);
    expect(weights.source).toBe('random(seed=1)');
    expect((await randomWeights(backbone, 1)).sha256).toBe(weights.sha256);
  });
});
