import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '@medssl/spec';
import { syntheticFeatureSet } from '@medssl/spec/testing';
import { writeNpyFile } from '@medssl/arrays/node';
import { writeFeatureSet } from '@medssl/store';
import { captureIo } from '@medssl/experiment/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

const task: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const SPLITS = ['train', 'val', 'test'] as const;

/** Feature folders `<root>/<split>/<backbone>` of two backbones, small enough for every command. */
async function featureFolders(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'medssl-damaged-cli-'));
  for (const split of SPLITS) {
    for (const backbone of ['a', 'b']) {
      const set = syntheticFeatureSet(task, { rows: 24, dimension: 4, seed: split.length, split });
      await writeFeatureSet(join(root, split, backbone), { ...set, manifest: { ...set.manifest, backbone: `synthetic:${backbone}` } });
    }
  }
  return root;
}

const evalLinear = (root: string, protocol = 'linear') => [
  'eval',
  protocol,
  ...SPLITS.flatMap((split) => [`--${split}`, join(root, split, 'a')]),
  '--fractions',
  '1',
  '--out',
  join(root, 'out.json'),
];
const rank = (root: string) => ['rank', '--features', `${join(root, 'train', 'a')},${join(root, 'train', 'b')}`];
const dvme = (root: string) => [
  'dvme',
  ...SPLITS.flatMap((split) => [`--${split}`, `${join(root, split, 'a')},${join(root, split, 'b')}`]),
  '--fractions',
  '1',
  '--epochs',
  '1',
  '--out',
  join(root, 'dvme.json'),
];

interface Damage {
  readonly name: string;
  /** Damages a folder under root and returns the file an error must name. */
  readonly damage: (root: string) => Promise<string> | string;
}

const manifestOf = (root: string, split: string) => join(root, split, 'a', 'manifest.json');
const damages: Damage[] = [
  {
    name: 'a manifest of null',
    damage: (root) => {
      writeFileSync(manifestOf(root, 'train'), 'null');
      return manifestOf(root, 'train');
    },
  },
  {
    name: 'a manifest without a task',
    damage: (root) => {
      const { task: _, ...rest } = JSON.parse(readFileSync(manifestOf(root, 'val'), 'utf8'));
      writeFileSync(manifestOf(root, 'val'), JSON.stringify(rest));
      return manifestOf(root, 'val');
    },
  },
  {
    name: 'a manifest without weights',
    damage: (root) => {
      const { weightsSha256: _, ...rest } = JSON.parse(readFileSync(manifestOf(root, 'test'), 'utf8'));
      writeFileSync(manifestOf(root, 'test'), JSON.stringify(rest));
      return manifestOf(root, 'test');
    },
  },
  {
    name: 'a truncated manifest',
    damage: (root) => {
      const text = readFileSync(manifestOf(root, 'train'), 'utf8');
      writeFileSync(manifestOf(root, 'train'), text.slice(0, text.length / 2));
      return manifestOf(root, 'train');
    },
  },
  {
    name: 'a truncated ids.json',
    damage: (root) => {
      const path = join(root, 'train', 'a', 'ids.json');
      writeFileSync(path, readFileSync(path, 'utf8').slice(0, 30));
      return path;
    },
  },
  {
    name: 'an ids.json of the wrong length',
    damage: (root) => {
      const path = join(root, 'train', 'a', 'ids.json');
      writeFileSync(path, JSON.stringify(['x', 'y']));
      return path;
    },
  },
  {
    name: 'a features.npy of the wrong shape',
    damage: async (root) => {
      const path = join(root, 'train', 'a', 'features.npy');
      await writeNpyFile(path, { dtype: 'float32', shape: [24, 5], data: new Float32Array(120) });
      return path;
    },
  },
  {
    name: 'a missing targets.npy',
    damage: (root) => {
      const path = join(root, 'train', 'a', 'targets.npy');
      rmSync(path);
      return path;
    },
  },
];

/** One line on stderr naming the file, exit code 1, and nothing of the engine's. */
function expectOneLine(code: number, err: readonly string[], file: string): string {
  const text = err.join('');
  const failure = text.split('\n').filter((line) => line.startsWith('medssl '));
  expect(code, text).toBe(1);
  expect(failure, text).toHaveLength(1);
  expect(failure[0]).toContain(file);
  expect(text).not.toMatch(/Cannot read properties|Unexpected (token|end)|is not valid JSON|undefined|^\s+at /m);
  return failure[0]!;
}

describe('commands on damaged feature folders and configs', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(damages)('eval linear reports $name as one line naming the file', async ({ damage }) => {
    const root = await featureFolders();
    const file = await damage(root);
    const { io, err } = captureIo();
    const line = expectOneLine(await main(evalLinear(root), io), err, file);
    expect(line).toMatch(/^medssl eval: /);
    expect(err.join('')).toBe(`${line}\n`);
  });

  it.each(damages.slice(0, 5))('eval knn, rank and dvme report $name as one line naming the file', async ({ damage }) => {
    const root = await featureFolders();
    const file = await damage(root);
    for (const argv of [evalLinear(root, 'knn'), rank(root), dvme(root)]) {
      if (argv[0] === 'rank' && !file.includes(`${join('train', 'a')}`)) continue;
      const { io, err } = captureIo();
      expectOneLine(await main(argv, io), err, file);
    }
  });

  it('names the field of a damaged manifest', async () => {
    const root = await featureFolders();
    const file = await damages[1]!.damage(root);
    const { io, err } = captureIo();
    await main(evalLinear(root), io);
    expect(err.join('')).toBe(`medssl eval: ${file}: $.task: expected a task object { type, classes or labels, primaryMetric }, found nothing\n`);
  });

  it('features verify reports a damaged manifest on its FAILED line, without engine messages', async () => {
    const root = await featureFolders();
    const file = await damages[0]!.damage(root);
    const { io, out, err } = captureIo();
    expect(await main(['features', 'verify', join(root, 'train', 'a')], io)).toBe(1);
    expect(out.join('')).toContain(`${file}: $: expected a feature-set manifest object, found null`);
    expect(`${out.join('')}${err.join('')}`).not.toMatch(/Cannot read properties|Unexpected|undefined|^\s+at /m);
  });

  it('run reports a config that is not JSON as one line naming the file and the place', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-damaged-config-'));
    const config = join(root, 'config.json');
    writeFileSync(config, '{\n  "name": "grid",\n  "datasets": [\n');
    const { io, err } = captureIo();
    const line = expectOneLine(await main(['run', config, '--out', join(root, 'out')], io), err, config);
    expect(line).toBe(`medssl run: ${config}: line 4, column 1: not valid JSON: expected a JSON value, found the end of the text (is the file cut short?)`);
  });

  it('report names a results document that is not JSON', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-damaged-report-'));
    const results = join(root, 'results.json');
    writeFileSync(results, '{"format": "medssl.eval/v1", "rows": [}');
    const { io, err } = captureIo();
    expectOneLine(await main(['report', results, '--out', join(root, 'report.html')], io), err, 'results.json');
  });

  it.each([
    ['--debug first', (argv: string[]) => ['--debug', ...argv]],
    ['--debug last', (argv: string[]) => [...argv, '--debug']],
    [
      'MEDSSL_DEBUG=1',
      (argv: string[]) => {
        vi.stubEnv('MEDSSL_DEBUG', '1');
        return argv;
      },
    ],
  ])('with %s, prints the stack and causes after the one line', async (_, withDebug) => {
    const root = await featureFolders();
    const file = await damages[3]!.damage(root);
    const { io, err } = captureIo();
    expect(await main(withDebug(evalLinear(root)), io)).toBe(1);
    const [line, ...stack] = err.join('').trimEnd().split('\n');
    expect(line).toMatch(/^medssl eval: .*manifest\.json: line \d+, column \d+: expected/);
    expect(line).toContain(file);
    expect(stack[0]).toMatch(/^FeatureSetError: /);
    expect(stack.some((entry) => /^\s+at /.test(entry))).toBe(true);
  });

  it('with --debug, prints the causes of an error below its stack', async () => {
    const root = await featureFolders();
    const file = await damages[7]!.damage(root);
    const { io, err } = captureIo();
    expect(await main(['--debug', ...evalLinear(root)], io)).toBe(1);
    const text = err.join('');
    expect(text.split('\n')[0]).toContain(file);
    expect(text).toMatch(/\ncaused by: Error: ENOENT/);
  });
});
