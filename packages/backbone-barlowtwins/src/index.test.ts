import type { Tensor } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { barlowtwins, barlowtwinsProvider } from './index.js';

describeBackboneProvider('barlowtwinsProvider', () => barlowtwinsProvider);

const provenance = { sha256: '4'.repeat(64), source: 'resnet50.pth' };

/** `resnet50.pth`: the backbone's state dict, torchvision names, no fc (main.py's backbone has an Identity there). */
const release = () => stateDictInLayout(architectures.resnet50, (name) => name);

/**
 * `checkpoint.pth`: main.py's `dict(epoch, model=model.state_dict(), optimizer=...)` of the DDP-wrapped
 * BarlowTwins module: backbone, the 3-layer projector (8192 wide), the affine-free `bn`, and LARS's `mu`.
 */
function fullCheckpoint(): Map<string, Tensor> {
  return stateDictInLayout(architectures.resnet50, (name) => `model.module.backbone.${name}`, {
    'model.module.projector.0.weight': [8192, 2048],
    'model.module.projector.1.weight': [8192],
    'model.module.projector.1.bias': [8192],
    'model.module.projector.1.running_mean': [8192],
    'model.module.projector.1.running_var': [8192],
    'model.module.projector.3.weight': [8192, 8192],
    'model.module.projector.4.weight': [8192],
    'model.module.projector.4.bias': [8192],
    'model.module.projector.4.running_mean': [8192],
    'model.module.projector.4.running_var': [8192],
    'model.module.projector.6.weight': [8192, 8192],
    'model.module.bn.running_mean': [8192],
    'model.module.bn.running_var': [8192],
    'optimizer.state.0.mu': [64, 3, 7, 7],
  });
}

describeBackbone('barlowtwins:resnet50 (resnet50.pth)', () => barlowtwins(), { officialStateDict: release, embeddingDimension: 2048 });
describeBackbone('barlowtwins:resnet50 (checkpoint.pth)', () => barlowtwins(), { officialStateDict: fullCheckpoint, embeddingDimension: 2048 });
describeBackbone('barlowtwins:resnet50 (torch.hub model state dict, with fc)', () => barlowtwins(), {
  officialStateDict: () => stateDictInLayout(architectures.resnet50, (name) => name, { 'fc.weight': [1000, 2048], 'fc.bias': [1000] }),
  embeddingDimension: 2048,
});

describe('barlowtwins', () => {
  it('takes the backbone of the full checkpoint and ignores the projector', () => {
    const checkpoint = fullCheckpoint();
    checkpoint.get('model.module.backbone.bn1.weight')!.data.fill(5);
    const weights = barlowtwins().fromStateDict(checkpoint, provenance);
    expect(weights.tensors.get('bn1.weight')!.data[0]).toBe(5);
    expect([...weights.tensors.keys()].filter((name) => /projector|^bn\./.test(name))).toEqual([]);
  });

  it("uses evaluate.py's transform and lists both published runs", () => {
    const backbone = barlowtwins();
    expect(backbone.preprocessing).toEqual({
      resize: { size: 256, interpolation: 'bilinear' },
      centerCrop: 224,
      normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      channels: 3,
    });
    expect(backbone.embedding).toEqual({ kind: 'pooled', dimension: 2048 });
    expect(backbone.layout).toBe('Barlow Twins (official)');
    expect(backbone.checkpoints.map((checkpoint) => checkpoint.url)).toEqual([
      'https://dl.fbaipublicfiles.com/barlowtwins/ljng/resnet50.pth',
      'https://dl.fbaipublicfiles.com/barlowtwins/ljng/checkpoint.pth',
      'https://dl.fbaipublicfiles.com/barlowtwins/ep1000_bs2048_lrw0.2_lrb0.0048_lambd0.0051/resnet50.pth',
      'https://dl.fbaipublicfiles.com/barlowtwins/ep1000_bs2048_lrw0.2_lrb0.0048_lambd0.0051/checkpoint.pth',
    ]);
    expect(backbone.checkpoints[0]).toMatchObject({ file: 'barlowtwins/ljng/resnet50.pth', license: 'MIT (facebookresearch/barlowtwins)' });
  });

  it('refuses an unknown variant and a checkpoint of the wrong size, naming the key and both shapes', () => {
    expect(() => barlowtwins({ variant: 'resnet101' as never })).toThrow(/unknown variant "resnet101"; available: resnet50/);
    const wide = stateDictInLayout(architectures.resnet50x2, (name) => name);
    expect(() => barlowtwins().fromStateDict(wide, provenance)).toThrow(
      /checkpoint key conv1\.weight has shape \[128, 3, 7, 7\], a ResNet-50 \(1x width\) needs \[64, 3, 7, 7\]/,
    );
  });

  it('names a missing key as resnet50.pth spells it', () => {
    const checkpoint = release();
    checkpoint.delete('layer1.0.downsample.0.weight');
    expect(() => barlowtwins().fromStateDict(checkpoint, provenance)).toThrow(/checkpoint key layer1\.0\.downsample\.0\.weight is missing/);
  });
});
