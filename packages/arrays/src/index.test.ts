import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import * as arrays from './index.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('the browser-safe entry', () => {
  it('imports no Node.js built-ins outside node.ts', () => {
    const sources = readdirSync(here).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'node.ts' && name !== 'files.ts');
    expect(sources).toContain('index.ts');
    for (const name of sources) {
      const text = readFileSync(join(here, name), 'utf8');
      expect(text, name).not.toMatch(/from '(node:|fs|path|zlib|crypto|stream)/);
      expect(text, name).not.toMatch(/\bBuffer\b/);
    }
  });

  it('exports the public API', () => {
    for (const name of ['parseNpy', 'parseNpyHeader', 'encodeNpy', 'encodeNpyHeader', 'readNpz', 'openNpz', 'crc32', 'convertInt64', 'createNdArray']) {
      expect(typeof (arrays as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
