// The layering of the house, checked rather than hoped for: which package may depend on which, read from
// every package.json and every import, against the rules and the dependency table of docs/architecture.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One workspace package as the checks see it. */
export interface PackageNode {
  /** The folder name under packages/, e.g. `dataset-pcam`. */
  readonly name: string;
  readonly private: boolean;
  /** `@medssl/*` production dependencies, by folder name. */
  readonly dependencies: readonly string[];
  /** `@medssl/*` development dependencies, by folder name. */
  readonly devDependencies: readonly string[];
  /** Its source files (relative to the repository), and whether each is a test or a fixture. */
  readonly files: readonly { readonly file: string; readonly test: boolean }[];
  /** Every `@medssl/*` import of its sources: the importing file, the package imported, whether the file is a test or fixture. */
  readonly imports: readonly { readonly file: string; readonly target: string; readonly test: boolean }[];
}

export interface Graph {
  readonly packages: readonly PackageNode[];
}

/** A package's kind: plugins of one kind never depend on each other. */
export function kindOf(name: string): 'backbone' | 'dataset' | 'protocol' | 'runtime' | undefined {
  const prefix = /^(backbone|dataset|protocol|runtime)-/.exec(name)?.[1];
  return prefix as ReturnType<typeof kindOf>;
}

const IMPORT = /(?:from\s*|import\s*\(\s*|import\s+)['"]@medssl\/([a-z0-9-]+)(?:\/[^'"]*)?['"]/g;

function sourceFiles(folder: string, found: string[] = []): string[] {
  if (!existsSync(folder)) return found;
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'node_modules' && entry !== 'dist') sourceFiles(path, found);
    } else if (/\.(ts|mts|js|mjs)$/.test(entry)) found.push(path);
  }
  return found;
}

/** Tests, their fixtures, and the `testing` entries that packages publish for other packages' tests. */
function isTestFile(file: string): boolean {
  return /\.test\.ts$/.test(file) || /[\\/](__fixtures__|testing)[\\/]/.test(file);
}

/** Source text without its comments, for checks that concern code only. */
export function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** The real graph of the repository at `root`. */
export function readGraph(root: string): Graph {
  const packagesFolder = join(root, 'packages');
  const names = readdirSync(packagesFolder).filter((name) => existsSync(join(packagesFolder, name, 'package.json')));
  const local = (dependencies: Record<string, string> | undefined) =>
    Object.keys(dependencies ?? {})
      .filter((dependency) => dependency.startsWith('@medssl/'))
      .map((dependency) => dependency.slice('@medssl/'.length))
      .sort();
  return {
    packages: names.map((name) => {
      const manifest = JSON.parse(readFileSync(join(packagesFolder, name, 'package.json'), 'utf8')) as {
        private?: boolean;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      const files = sourceFiles(join(packagesFolder, name, 'src')).map((file) => ({ file: relative(root, file), test: isTestFile(file) }));
      const imports = files.flatMap(({ file, test }) =>
        Array.from(readFileSync(join(root, file), 'utf8').matchAll(IMPORT), (match) => ({ file, target: match[1]!, test })).filter(
          (entry) => entry.target !== name,
        ),
      );
      return {
        name,
        private: manifest.private === true,
        dependencies: local(manifest.dependencies),
        devDependencies: local(manifest.devDependencies),
        files,
        imports,
      };
    }),
  };
}

/**
 * The rules of docs/architecture.md, as violations (empty when the graph keeps them):
 * - a plugin (backbone-*, dataset-*, protocol-*, runtime-*) depends on no other plugin of its kind, in its
 *   sources or its tests;
 * - nothing depends on `cli`; only `cli` depends on `experiment` (tests of a plugin may run the runner);
 * - a published package depends on no private one, except in its tests;
 * - every import of a package's sources is a declared dependency (tests: a dependency or a devDependency).
 */
export function layeringViolations(graph: Graph): string[] {
  const violations: string[] = [];
  for (const node of graph.packages) {
    const kind = kindOf(node.name);
    const privateNames = new Set(graph.packages.filter((other) => other.private).map((other) => other.name));
    const edges = [
      ...node.dependencies.map((target) => ({ target, where: `packages/${node.name}/package.json dependencies`, test: false })),
      ...node.devDependencies.map((target) => ({ target, where: `packages/${node.name}/package.json devDependencies`, test: true })),
      ...node.imports.map(({ file, target, test }) => ({ target, where: file, test })),
    ];
    for (const { target, where, test } of edges) {
      if (kind !== undefined && kindOf(target) === kind)
        violations.push(`${where}: ${node.name} depends on ${target}, another ${kind} plugin; plugins never depend on plugins of their kind`);
      if (target === 'cli' && node.name !== 'cli') violations.push(`${where}: ${node.name} depends on cli; nothing depends on the command`);
      if (target === 'experiment' && !test && node.name !== 'cli') violations.push(`${where}: ${node.name} depends on experiment; only cli does`);
      if (!test && !node.private && privateNames.has(target)) violations.push(`${where}: published ${node.name} depends on private ${target}`);
    }
    for (const { file, target, test } of node.imports) {
      const declared = node.dependencies.includes(target) || (test && node.devDependencies.includes(target));
      if (!declared)
        violations.push(
          `${file}: imports @medssl/${target}, which ${node.name}/package.json does not declare${test ? ' (as a dependency or devDependency)' : ' as a dependency'}`,
        );
    }
  }
  return violations;
}

/** The dependency table of docs/architecture.md: each package (folder name) and the packages it depends on. */
export function documentedDependencies(markdown: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    const names = Array.from(cells[1]!.matchAll(/`([a-z0-9-]+)`/g), (match) => match[1]!);
    const dependsOn = cells[cells.length - 2]!;
    const dependencies = dependsOn === 'nothing' ? [] : Array.from(dependsOn.matchAll(/`([a-z0-9-]+)`/g), (match) => match[1]!).sort();
    for (const name of names) table.set(name, dependencies);
  }
  return table;
}

/** Where the document's table and the real graph of published packages disagree. */
export function tableDifferences(graph: Graph, table: ReadonlyMap<string, readonly string[]>): string[] {
  const differences: string[] = [];
  const published = graph.packages.filter((node) => !node.private);
  for (const node of published) {
    const documented = table.get(node.name);
    if (documented === undefined) {
      differences.push(`${node.name} is not in docs/architecture.md's table`);
      continue;
    }
    const actual = [...node.dependencies].sort();
    if (documented.join() !== actual.join()) {
      differences.push(
        `${node.name}: the table says it depends on ${documented.join(', ') || 'nothing'}, its package.json on ${actual.join(', ') || 'nothing'}`,
      );
    }
  }
  for (const name of table.keys()) {
    if (!published.some((node) => node.name === name)) differences.push(`docs/architecture.md's table lists ${name}, which is not a published package`);
  }
  return differences;
}
