// Every package as users get it: packed, checked by publint and arethetypeswrong, installed alone into an
// empty project (with only the @medssl packages it depends on), and imported through every entry point.
// Needs `pnpm build` first; the README's test command runs it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  publishConfig?: { exports?: Record<string, unknown> };
}

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir)
  .filter((name) => existsSync(join(packagesDir, name, 'package.json')))
  .map((name) => ({ name, manifest: JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8')) as Manifest }))
  .filter(({ manifest }) => !manifest.private);
const byName = new Map(packages.map((entry) => [entry.manifest.name, entry]));

/** Packages whose main entry must load in a browser (ARCHITECTURE.md: no Node built-ins there). */
const browserSafe = (name: string) => ['spec', 'arrays', 'core', 'metrics', 'training', 'dvme', 'runtime-tfjs'].includes(name) || name.startsWith('protocol-');

const work = mkdtempSync(join(tmpdir(), 'medssl-packaging-'));
const tarballs = new Map<string, string>();

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
}

/** The package and every @medssl package it needs, transitively. */
function closure(name: string, seen = new Set<string>()): Set<string> {
  seen.add(name);
  for (const dependency of Object.keys(byName.get(name)!.manifest.dependencies ?? {})) {
    if (dependency.startsWith('@medssl/') && !seen.has(dependency)) closure(dependency, seen);
  }
  return seen;
}

/** Relative and bare specifiers imported by an ES module's source text. */
function importsOf(source: string): string[] {
  const pattern = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s*['"]([^'"]+)['"]/g;
  return Array.from(source.matchAll(pattern), (match) => match[1] ?? match[2] ?? match[3]!);
}

/** Node built-ins reachable from a built entry file through relative imports. */
function nodeBuiltinsReachable(entry: string): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const visit = (file: string) => {
    if (visited.has(file)) return;
    visited.add(file);
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!))
        found.add(`${specifier} (in ${file.slice(root.length + 1)})`);
    }
  };
  visit(entry);
  return [...found];
}

beforeAll(() => {
  const packDir = join(work, 'tarballs');
  mkdirSync(packDir);
  for (const { name, manifest } of packages) {
    const dir = join(packagesDir, name);
    if (!existsSync(join(dir, 'dist'))) throw new Error(`${manifest.name} has no dist/: run "pnpm build" before this test`);
    run('pnpm', ['pack', '--pack-destination', packDir], dir);
    const file = join(packDir, `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack did not write ${file}`);
    tarballs.set(manifest.name, file);
  }
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(packages)('$manifest.name', ({ name, manifest }) => {
  const entryPoints = () => Object.keys(manifest.publishConfig?.exports ?? {}).filter((entry) => entry !== './package.json');

  it('publishes only built files behind its exports (publint --strict)', () => {
    const output = run('pnpm', ['exec', 'publint', 'run', tarballs.get(manifest.name)!, '--strict'], root);
    expect(output).toMatch(/All good!/);
  });

  it('resolves types for ESM consumers in node16 and bundlers (arethetypeswrong)', () => {
    run('pnpm', ['exec', 'attw', tarballs.get(manifest.name)!, '--profile', 'esm-only', '--format', 'ascii'], root);
  });

  it('installs alone into an empty project and imports every entry point', () => {
    const project = join(work, `project-${name}`);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `try-${name}`, private: true, type: 'module' }));
    const needed = [...closure(manifest.name)].map((dependency) => tarballs.get(dependency)!);
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...needed], project);
    // Peer dependencies (vitest for the conformance suites) come from the host project, as for users.
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      symlinkSync(join(root, 'node_modules', peer), join(project, 'node_modules', peer), 'dir');
    }
    expect(entryPoints().length).toBeGreaterThan(0);
    for (const entry of entryPoints()) {
      const specifier = entry === '.' ? manifest.name : `${manifest.name}/${entry.slice(2)}`;
      const names = run(
        'node',
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).join(','))`],
        project,
      );
      expect(names.trim().length, `${specifier} exports nothing`).toBeGreaterThan(0);
    }
    for (const command of Object.keys(manifest.bin ?? {})) {
      expect(run(join(project, 'node_modules', '.bin', command), ['--version'], project).trim()).toBe(manifest.version);
    }
    if (manifest.name === '@medssl/store') {
      // The preprocessing workers load a file of their own: it must be in the tarball and start from dist.
      const script = `import { createPreprocessPool } from '@medssl/store';
        const pool = createPreprocessPool({ workers: 1, preprocessing: { channels: 3 }, slots: 1, slotImages: 1, imageValues: 12 });
        await pool.preprocess(0, 0, { data: new Uint8Array(12).fill(255), width: 2, height: 2, channels: 3 }, 'x');
        await pool.close();
        console.log('worker ok');`;
      expect(run('node', ['--input-type=module', '-e', script], project).trim()).toBe('worker ok');
    }
  });

  it.runIf(browserSafe(name))('imports no Node built-in from its main entry (browser-safe)', () => {
    const exportsMap = manifest.publishConfig?.exports as Record<string, { default: string }>;
    const main = join(packagesDir, name, exportsMap['.']!.default);
    expect(nodeBuiltinsReachable(main)).toEqual([]);
  });
});
