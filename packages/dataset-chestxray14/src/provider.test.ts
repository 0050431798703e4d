import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { chestxray14Provider } from './index.js';

describeDatasetProvider('chestxray14Provider', () => chestxray14Provider);

describe('chestxray14Provider', () => {
  it('answers both tasks over the same folder of chest X-rays', () => {
    expect(chestxray14Provider.datasets.map((info) => [info.id, info.modality, info.folder])).toEqual([
      ['chestxray14', 'chest-xray', 'chestxray14'],
      ['chestxray14:pneumonia', 'chest-xray', 'chestxray14'],
    ]);
    expect(chestxray14Provider.answers('chestxray14:pneumonia')).toBe(true);
    expect(chestxray14Provider.answers('chestxray14:effusion')).toBe(false);
  });
});
