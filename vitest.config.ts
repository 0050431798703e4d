import { defineConfig } from 'vitest/config';

// Tests run on TypeScript source: the `@medssl/source` export condition points every workspace
// package at its `src/index.ts`, so no build is needed between an edit and a test.
const conditions = ['@medssl/source', 'module', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@medssl/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
