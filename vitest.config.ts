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
    // Two files at a time even on 2 cores: the longest ones (packing and installing every package,
    // Chromium on SwiftShader) wait on I/O and on other processes much of the time.
    maxWorkers: 2,
  },
});
