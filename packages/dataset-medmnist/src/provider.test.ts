import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { medmnistModality, medmnistProvider } from './index.js';

describeDatasetProvider('medmnistProvider', () => medmnistProvider, { answers: ['medmnist:pathmnist', 'medmnist:retinamnist'] });

describe('medmnistProvider', () => {
  it('answers every flag by its id, each with the modality of its images', () => {
    expect(medmnistProvider.answers('medmnist:chestmnist')).toBe(true);
    expect(medmnistProvider.answers('pathmnist')).toBe(false);
    expect(['pathmnist', 'retinamnist', 'pneumoniamnist', 'chestmnist', 'dermamnist'].map(medmnistModality)).toEqual([
      'pathology',
      'fundus',
      'chest-xray',
      'chest-xray',
      'natural',
    ]);
  });

  it('names an unknown flag when opened', async () => {
    await expect(medmnistProvider.open('medmnist:nosuchmnist', '/nonexistent')).rejects.toThrow(/nosuchmnist/);
  });
});
