import { describe, expect, it } from 'vitest';
import { captureIo } from '@medssl/experiment/testing';
import { main } from '../main.js';
import { cliRegistry } from '../registry.js';
import type { BackboneListing, BackbonePatternListing } from './backbones.js';

describe('medssl backbones list', () => {
  it('shows every id of every provider with its width, the layout it reads and its official files', async () => {
    const json = captureIo();
    expect(await main(['backbones', 'list', '--json'], json.io)).toBe(0);
    const listings = JSON.parse(json.out.join('')) as (BackboneListing | BackbonePatternListing)[];
    const registry = cliRegistry();
    const expected = registry.backbones.flatMap((provider) =>
      provider.variantPattern !== undefined
        ? [`${provider.method}:${provider.variantPattern}`]
        : provider.variants.map((variant) => `${provider.method}:${variant}`),
    );
    expect(listings.map((listing) => listing.id)).toEqual(expected);

    const text = captureIo();
    expect(await main(['backbones', 'list'], text.io)).toBe(0);
    const printed = text.out.join('');
    for (const listing of listings) {
      if ('pattern' in listing) continue;
      expect(listing.dimension, listing.id).toBe(registry.backbone(listing.id).embedding.dimension);
      expect(printed).toContain(`  ${listing.id}  ${listing.architecture}, ${listing.embedding} (${listing.dimension}-d)\n`);
      if (listing.weights !== 'checkpoint') continue;
      expect(listing.layout, listing.id).toBeTruthy();
      expect(listing.files.length, listing.id).toBeGreaterThan(0);
      for (const file of listing.files) {
        expect(file.url, listing.id).toMatch(/^https:\/\//);
        expect(file.license, listing.id).not.toBe('');
        expect(printed).toContain(`      file: ${file.file} (${file.url}); license: ${file.license}\n`);
      }
    }
  });
});
