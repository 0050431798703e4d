import type { ResNetArchitecture } from '@medssl/spec';
import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { describe, expect, it } from 'vitest';
import { simclr, simclrProvider } from './index.js';

describeBackboneProvider('simclrProvider', () => simclrProvider);

const converted = (architecture: ResNetArchitecture = architectures.resnet50) =>
  stateDictInLayout(architecture, (name) => `state_dict.${name}`, { 'state_dict.fc.weight': [1000, 32 * architecture.width], 'state_dict.fc.bias': [1000] });

describeBackbone('simclr:resnet50-1x', () => simclr(), { officialStateDict: () => converted(), embeddingDimension: 2048 });
describeBackbone('simclr:resnet50-2x', () => simclr({ variant: 'resnet50-2x' }), {
  officialStateDict: () => converted(architectures.resnet50x2),
  embeddingDimension: 4096,
});

describe('simclr', () => {
  it('takes [0, 1] inputs without mean/std normalisation', () => {
    expect(simclr().preprocessing.normalize).toBeUndefined();
    expect(simclr().preprocessing.centerCrop).toBe(224);
  });

  it('names the state_dict key that is missing', () => {
    const stateDict = converted();
    stateDict.delete('state_dict.layer1.0.conv1.weight');
    expect(() => simclr().fromStateDict(stateDict, { sha256: '0'.repeat(64), source: 'resnet50-1x.pth' })).toThrow(
      'resnet50-1x.pth: checkpoint key state_dict.layer1.0.conv1.weight is missing; expected the layout (SimCLR v1 converted to PyTorch',
    );
  });
});
