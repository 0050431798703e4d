import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliRegistry } from '../packages/cli/src/registry.js';
import { documentedDependencies, kindOf, layeringViolations, readGraph, tableDifferences, withoutComments, type Graph } from './layering.js';

const root = resolve(import.meta.dirname, '..');
const graph = readGraph(root);

describe('the layering of the packages', () => {
  it('keeps the rules of docs/architecture.md', () => {
    expect(layeringViolations(graph)).toEqual([]);
  });

  it('fails on a planted forbidden import, naming the file and the rule', () => {
    // dataset-pcam importing another dataset plugin, and protocol-linear importing the command.
    const planted: Graph = {
      packages: graph.packages.map((node) =>
        node.name === 'dataset-pcam'
          ? {
              ...node,
              dependencies: [...node.dependencies, 'dataset-aptos'],
              imports: [...node.imports, { file: 'packages/dataset-pcam/src/pcam.ts', target: 'dataset-aptos', test: false }],
            }
          : node.name === 'protocol-linear'
            ? { ...node, imports: [...node.imports, { file: 'packages/protocol-linear/src/linear-probe.ts', target: 'cli', test: false }] }
            : node,
      ),
    };
    expect(layeringViolations(planted).sort()).toEqual(
      [
        'packages/dataset-pcam/src/pcam.ts: dataset-pcam depends on dataset-aptos, another dataset plugin; plugins never depend on plugins of their kind',
        'packages/dataset-pcam/package.json dependencies: dataset-pcam depends on dataset-aptos, another dataset plugin; plugins never depend on plugins of their kind',
        'packages/protocol-linear/src/linear-probe.ts: protocol-linear depends on cli; nothing depends on the command',
        'packages/protocol-linear/src/linear-probe.ts: imports @medssl/cli, which protocol-linear/package.json does not declare as a dependency',
      ].sort(),
    );
  });

  it("matches docs/architecture.md's dependency table, package by package", () => {
    const table = documentedDependencies(readFileSync(join(root, 'docs/architecture.md'), 'utf8'));
    expect(table.size).toBeGreaterThan(10);
    expect(tableDifferences(graph, table)).toEqual([]);
    // A table that lies is caught.
    const lying = new Map(table);
    lying.set('weights', ['spec']);
    expect(tableDifferences(graph, lying)).toEqual([
      `weights: the table says it depends on spec, its package.json on ${[...table.get('weights')!].join(', ')}`,
    ]);
  });

  it('names dataset ids only in dataset plugins, and backbone ids only in backbone plugins', () => {
    const registry = cliRegistry();
    const ids = [
      ...registry
        .datasetIds()
        .filter((id) => !id.includes('<'))
        .map((id) => ({ id, kind: 'dataset' as const })),
      ...registry
        .backboneIds()
        .filter((id) => !id.includes('<'))
        .map((id) => ({ id, kind: 'backbone' as const })),
    ];
    const found: string[] = [];
    for (const node of graph.packages) {
      for (const { file } of node.files.filter((entry) => !entry.test)) {
        const text = withoutComments(readFileSync(join(root, file), 'utf8'));
        for (const { id, kind } of ids) {
          if (kindOf(node.name) === kind) continue;
          if (new RegExp(`['"\`]${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`).test(text)) found.push(`${file} names the ${kind} id ${id}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});
