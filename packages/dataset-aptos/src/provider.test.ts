import { describeDatasetProvider } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { aptosProvider } from './index.js';

describeDatasetProvider('aptosProvider', () => aptosProvider);

describe('aptosProvider', () => {
  it('describes APTOS 2019 for hosts: fundus photographs, its folder and the split sizes it makes', () => {
    expect(aptosProvider.datasets.map((info) => [info.id, info.modality, info.folder, info.presets])).toEqual([['aptos', 'fundus', 'aptos', ['paper']]]);
    expect(aptosProvider.datasets[0]!.officialSizes).toMatchObject({ train: 2_563, val: 366, test: 733 });
  });

  it('reads its options from text, and refuses ones of the wrong kind', async () => {
    await expect(aptosProvider.open('aptos', '/nonexistent', { seed: 'three' })).rejects.toThrow(/aptos: option seed must be an integer, got "three"/);
    await expect(aptosProvider.open('aptos', '/nonexistent', { onError: 'ignore' })).rejects.toThrow(/option onError must be one of throw, skip, got "ignore"/);
    await expect(aptosProvider.open('aptos', '/nonexistent', { seed: '3' })).rejects.toThrow(/nonexistent/);
  });
});
