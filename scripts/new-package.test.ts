// scripts/new-package.mjs writes a package that passes the checks as written: it typechecks, keeps the
// layering, and (for plugins) its provider and backbone pass the conformance suites.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Backbone, BackboneProvider, DatasetProvider } from '../packages/spec/src/index.js';
import { backboneChecks, backboneProviderChecks, datasetProviderChecks } from '../packages/spec/src/testing/index.js';
import { architectures, stateDictInLayout } from '../packages/weights/src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layeringViolations, readGraph } from './layering.js';

const repository = resolve(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'medssl-new-package-'));

/** A workspace of its own: the generated packages, with the repository's packages linked where they depend on them. */
function generate(name: string, description: string): string {
  execFileSync('node', [join(repository, 'scripts/new-package.mjs'), name, description, '--root', root], { stdio: 'pipe' });
  const folder = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  mkdirSync(join(folder, 'node_modules', '@medssl'), { recursive: true });
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    symlinkSync(join(repository, 'packages', dependency.slice('@medssl/'.length)), join(folder, 'node_modules', dependency), 'dir');
  }
  return folder;
}

beforeAll(() => {
  mkdirSync(join(root, 'packages'));
  copyFileSync(join(repository, 'tsconfig.base.json'), join(root, 'tsconfig.base.json'));
  symlinkSync(join(repository, 'node_modules'), join(root, 'node_modules'), 'dir');
  generate('backbone-example', 'Example SSL (Someone et al. 2026)');
  generate('dataset-example', 'Example images, positive or negative');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('scripts/new-package.mjs', () => {
  it('writes packages that typecheck, keep the layering and pass the formatter and linter', () => {
    for (const name of ['backbone-example', 'dataset-example']) {
      const folder = join(root, 'packages', name);
      execFileSync(join(repository, 'node_modules/.bin/tsc'), ['-p', join(folder, 'tsconfig.build.json'), '--noEmit', '--customConditions', '@medssl/source'], {
        cwd: folder,
        stdio: 'pipe',
      });
    }
    const graph = readGraph(root);
    expect(graph.packages.map((node) => [node.name, node.dependencies])).toEqual([
      ['backbone-example', ['spec', 'weights']],
      ['dataset-example', ['core', 'spec']],
    ]);
    expect(layeringViolations(graph)).toEqual([]);
    // Formatted and linted as the repository's own code is.
    execFileSync(
      join(repository, 'node_modules/.bin/biome'),
      ['ci', '--vcs-enabled=false', `--config-path=${join(repository, 'biome.json')}`, join(root, 'packages')],
      { stdio: 'pipe' },
    );
  }, 120_000);

  it('writes a backbone plugin whose provider and backbone pass the conformance suites', async () => {
    const module = (await import(join(root, 'packages/backbone-example/src/index.ts'))) as { exampleProvider: BackboneProvider; example: () => Backbone };
    for (const check of backboneProviderChecks) await check.run(module.exampleProvider, {});
    const official = () => stateDictInLayout(architectures.resnet50, (name) => `module.${name}`);
    for (const check of backboneChecks) await check.run(module.example(), { officialStateDict: official, embeddingDimension: 2048 });
    expect(module.exampleProvider.backbone('resnet50').id).toBe('example:resnet50');
  });

  it('writes a dataset plugin whose provider passes the conformance suite', async () => {
    const module = (await import(join(root, 'packages/dataset-example/src/index.ts'))) as { exampleProvider: DatasetProvider };
    for (const check of datasetProviderChecks) await check.run(module.exampleProvider, {});
    await expect(module.exampleProvider.open('example', join(root, 'missing'))).rejects.toThrow(/train\.csv/);
  });
});
