import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { pcamProvider } from './index.js';

describeDatasetProvider('pcamProvider', () => pcamProvider);

describe('pcamProvider', () => {
  it('describes PatchCamelyon for hosts: pathology patches, its folder and the official split sizes', () => {
    const [info] = pcamProvider.datasets;
    expect([info!.id, info!.modality, info!.folder, info!.presets]).toEqual(['pcam', 'pathology', 'pcam', ['paper']]);
    expect(info!.officialSizes).toMatchObject({ train: 262_144, val: 32_768, test: 32_768 });
  });
});
