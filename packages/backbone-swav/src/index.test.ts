import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { swav, swavProvider } from './index.js';

describeBackboneProvider('swavProvider', () => swavProvider);

// The release's keys: module.<torchvision name>, plus the projection head and 3000 prototypes.
const release = () =>
  stateDictInLayout(architectures.resnet50, (name) => `module.${name}`, {
    'module.projection_head.0.weight': [2048, 2048],
    'module.projection_head.0.bias': [2048],
    'module.projection_head.3.weight': [128, 2048],
    'module.prototypes.weight': [3000, 128],
  });

describeBackbone('swav:resnet50', () => swav(), { officialStateDict: release, embeddingDimension: 2048 });

describe('swav', () => {
  it('ignores the projection head and prototypes, and normalises with ImageNet statistics', () => {
    const weights = swav().fromStateDict(release(), { sha256: '1'.repeat(64), source: 'swav_800ep_pretrain.pth.tar' });
    expect([...weights.tensors.keys()].some((name) => name.includes('prototypes') || name.includes('projection'))).toBe(false);
    expect(swav().preprocessing.normalize?.mean).toEqual([0.485, 0.456, 0.406]);
  });
});
