import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { folderProvider } from './index.js';

describeDatasetProvider('folderProvider', () => folderProvider);

describe('folderProvider', () => {
  it('takes every folder option, modality included, and lists them when one is unknown', async () => {
    await expect(folderProvider.open('folder', '/nonexistent', { modality: 'x-ray' })).rejects.toThrow(
      /option modality must be one of pathology, fundus, chest-xray, natural, got "x-ray"/,
    );
    await expect(folderProvider.open('folder', '/nonexistent', { colour: 'red' })).rejects.toThrow(
      /unknown option "colour"; it takes pathColumn, labelColumn, .*modality/,
    );
    expect(folderProvider.datasets[0]!.presets).toEqual(['demo']);
  });
});
