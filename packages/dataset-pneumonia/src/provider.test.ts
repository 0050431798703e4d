import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { pneumoniaProvider } from './index.js';

describeDatasetProvider('pneumoniaProvider', () => pneumoniaProvider);

describe('pneumoniaProvider', () => {
  it('reads a list of splits from text', async () => {
    await expect(pneumoniaProvider.open('pneumonia', '/nonexistent', { splits: 'train,test' })).rejects.toThrow(/nonexistent/);
    expect(pneumoniaProvider.datasets[0]!.modality).toBe('chest-xray');
  });
});
