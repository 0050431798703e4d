import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '@medssl/experiment/testing';
import { main } from '../main.js';
import { binaryTask, fixtureBackbones, fusionDocument, runEval } from '@medssl/experiment/testing';

let root: string;
let linearFile: string;
let knnFile: string;
let runFile: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'medssl-report-command-'));
  const linearFiles = [];
  for (const backbone of fixtureBackbones.slice(0, 2)) linearFiles.push(await runEval(root, 'linear', 'synthetic:tumour', binaryTask, backbone));
  linearFile = linearFiles[0]!;
  knnFile = await runEval(root, 'knn', 'synthetic:tumour', binaryTask, fixtureBackbones[0]);
  // A runner's document holding a DVME result, hand-built in the medssl.dvme/v1 shape (no dvme command yet).
  runFile = join(root, 'results', 'run.json');
  writeFileSync(runFile, JSON.stringify({ format: 'medssl.run/v1', results: [fusionDocument('dvme', linearFiles)] }));
});

describe('medssl report', () => {
  it('writes one HTML page from eval and run documents', async () => {
    const out = join(root, 'site', 'nested', 'report.html');
    const { io, err } = captureIo();
    expect(await main(['report', linearFile, knnFile, runFile, '--out', out, '--title', 'Transfer to tumours'], io)).toBe(0);
    expect(err.join('')).toBe(`wrote ${out}: 3 evaluations on 1 dataset from 3 files\n`);
    const page = readFileSync(out, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<title>Transfer to tumours</title>');
    expect(page).toContain('data-protocol="linear"');
    expect(page).toContain('data-protocol="knn"');
    expect(page).toContain('Protocols compared, per backbone');
    expect(page).toContain('Fusion vs best single backbone');
    expect(page).toContain('DVME attention');
    expect(page).toContain('run.json › results[0]');
  });

  it('is listed in the help and explains itself', async () => {
    const help = captureIo();
    expect(await main(['--help'], help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/report\s+render results documents to one self-contained HTML page/);
    const usage = captureIo();
    expect(await main(['report', '--help'], usage.io)).toBe(0);
    expect(usage.out.join('')).toMatch(/medssl report RESULTS\.json\.\.\. --out report\.html/);
  });

  it('names what is wrong with the call or the documents', async () => {
    const bad = (name: string, content: string) => {
      const file = join(root, name);
      writeFileSync(file, content);
      return file;
    };
    const linear = JSON.parse(readFileSync(linearFile, 'utf8'));
    const features = bad('features.json', JSON.stringify({ format: 'medssl.features/v1' }));
    const broken = bad('broken.json', '{"format": "medssl.eval/v1", ');
    const wrongShape = bad('wrong.json', JSON.stringify({ ...linear, summary: [{ fraction: 1, metrics: { auc: { mean: 'high', std: 0, count: 1 } } }] }));
    const out = join(root, 'never.html');
    const cases: [string[], RegExp, number][] = [
      [['report', '--out', out], /expected one or more results files/, 2],
      [['report', linearFile], /--out is required/, 2],
      [['report', linearFile, '--out', out, '--colour', 'red'], /Unknown option '--colour'/, 2],
      [['report', join(root, 'missing.json'), '--out', out], /missing\.json: no such file/, 1],
      [['report', linearFile, broken, '--out', out], /broken\.json: line 1, column 30: not valid JSON: expected a quoted key, found the end of the text/, 1],
      [
        ['report', features, '--out', out],
        /features\.json: \$\.format: format "medssl\.features\/v1"; expected medssl\.eval\/v1, medssl\.dvme\/v1 or medssl\.run\/v1/,
        1,
      ],
      [['report', wrongShape, '--out', out], /wrong\.json: \$\.summary\[0\]\.metrics\.auc\.mean: expected a number, found "high"/, 1],
    ];
    for (const [argv, pattern, expected] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(expected);
      expect(err.join('')).toMatch(pattern);
    }
    expect(existsSync(out)).toBe(false);
  });
});
