import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryTask, fixtureBackbones, fusionDocument, runEval, sha256 } from '../testing/results.js';
import { readResultsDocument } from './documents.js';

let evalDocument: Record<string, unknown>;
let dvme: Record<string, unknown>;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'medssl-report-documents-'));
  const files = [];
  for (const backbone of fixtureBackbones.slice(0, 2)) files.push(await runEval(root, 'linear', 'synthetic:tumour', binaryTask, backbone));
  evalDocument = JSON.parse(readFileSync(files[0]!, 'utf8'));
  dvme = fusionDocument('dvme', files, { blocks: 2, heads: 3 }) as Record<string, unknown>;
});

/** A deep copy with one change, for the error cases (the change reaches into the document freely). */
// biome-ignore lint/suspicious/noExplicitAny: the cases damage documents in ways their types forbid.
function edited(document: Record<string, unknown>, change: (copy: any) => void): unknown {
  const copy = structuredClone(document);
  change(copy);
  return copy;
}

describe('readResultsDocument', () => {
  it('reads a medssl.eval/v1 document written by medssl eval', () => {
    const [document, ...more] = readResultsDocument(evalDocument, 'results/linear.json');
    expect(more).toEqual([]);
    expect(document).toMatchObject({
      source: 'results/linear.json',
      format: 'medssl.eval/v1',
      kind: 'single',
      protocol: 'linear',
      backbones: ['dino:vits16'],
      weightsSha256: [sha256('dino:vits16')],
      dataset: { id: 'synthetic:tumour', version: 'synthetic-1' },
      task: { type: 'binary', primaryMetric: 'auc', classes: ['normal', 'tumour'] },
      config: { fractions: [0.05, 0.2, 1], seeds: [0, 1, 2], options: {} },
    });
    expect(document!.rows).toHaveLength(9);
    expect(document!.summary.map((entry) => entry.metrics.auc!.count)).toEqual([3, 3, 3]);
    expect(document!.inputs.map((input) => [input.split, input.count])).toEqual([
      ['train', 240],
      ['val', 80],
      ['test', 80],
    ]);
    expect(document!.subsetFiles).toHaveLength(9);
  });

  it('reads a medssl.dvme/v1 document with attention, and flattens a medssl.run/v1 document', () => {
    const [fusion] = readResultsDocument(dvme, 'dvme.json');
    expect(fusion).toMatchObject({ kind: 'fusion', protocol: 'dvme', backbones: ['dino:vits16', 'simclr:resnet50-1x'] });
    const attention = fusion!.rows[0]!.attention!;
    expect(attention.map((block) => [block.block, block.heads, block.weights.length, block.weights[0]!.length])).toEqual([
      [0, 3, 3, 2],
      [1, 3, 3, 2],
    ]);
    const run = { format: 'medssl.run/v1', results: [evalDocument, dvme] };
    expect(readResultsDocument(run, 'run.json').map((entry) => [entry.source, entry.kind])).toEqual([
      ['run.json › results[0]', 'single'],
      ['run.json › results[1]', 'fusion'],
    ]);
  });

  it('accepts attention weights written flat (heads × K × K, row-major) and without a block number', () => {
    const flat = edited(dvme, (copy) => {
      for (const block of copy.rows[0].attention) {
        block.weights = block.weights.flat(2);
        delete block.block;
      }
    });
    const [nested] = readResultsDocument(dvme, 'nested.json');
    const [read] = readResultsDocument(flat, 'flat.json');
    expect(read!.rows[0]!.attention).toEqual(nested!.rows[0]!.attention);
  });

  it('leaves out metrics that were written as null (NaN)', () => {
    const document = edited(evalDocument, (copy) => {
      copy.summary[0].metrics.auc = { mean: null, std: null, count: 3 };
      copy.rows[0].metrics.auc = null;
    });
    const [read] = readResultsDocument(document, 'x.json');
    expect(read!.summary[0]!.metrics.auc).toBeUndefined();
    expect(read!.summary[1]!.metrics.auc).toBeDefined();
    expect(read!.rows[0]!.metrics.auc).toBeUndefined();
  });

  it('names the file, the JSON path and what was expected', () => {
    const cases: [unknown, RegExp][] = [
      [
        { ...evalDocument, format: 'medssl.features/v1' },
        /^a\.json: \$\.format: format "medssl\.features\/v1"; expected medssl\.eval\/v1, medssl\.dvme\/v1 or medssl\.run\/v1$/,
      ],
      [{ ...evalDocument, format: undefined }, /^a\.json: \$\.format: no "format" field/],
      [[1, 2], /^a\.json: \$: expected an object, found an array$/],
      [
        edited(evalDocument, (copy) => (copy.summary[1].metrics.auc.mean = 'high')),
        /^a\.json: \$\.summary\[1\]\.metrics\.auc\.mean: expected a number, found "high"$/,
      ],
      [edited(evalDocument, (copy) => delete copy.backbone), /^a\.json: \$\.backbone: expected a string, found nothing$/],
      [edited(evalDocument, (copy) => (copy.rows[4].fraction = 2)), /^a\.json: \$\.rows\[4\]\.fraction: expected a label fraction in \(0, 1\], found 2$/],
      [edited(evalDocument, (copy) => (copy.summary = [])), /^a\.json: \$\.summary: expected at least one label fraction$/],
      [edited(dvme, (copy) => copy.weightsSha256.pop()), /^a\.json: \$\.weightsSha256: expected one hash per source \(2\), found 1 entries$/],
      [
        edited(dvme, (copy) => copy.rows[2].attention[1].weights[0][1].pop()),
        /^a\.json: \$\.rows\[2\]\.attention\[1\]\.weights\[0\]\[1\]: expected 2 columns \(one per source\), found 1$/,
      ],
      [
        edited(dvme, (copy) => (copy.rows[0].attention[0].heads = 4)),
        /^a\.json: \$\.rows\[0\]\.attention\[0\]\.weights: expected \[heads = 4\]\[2\]\[2\] \(or flat, 16 numbers\), found 3 heads$/,
      ],
      [
        edited(dvme, (copy) => (copy.rows[0].attention[0].weights = [0.5, 0.5, 1])),
        /^a\.json: \$\.rows\[0\]\.attention\[0\]\.weights: expected .* \(or flat, 12 numbers\), found 3 numbers$/,
      ],
      [
        edited(dvme, (copy) => (copy.rows[0].attention[0].weights = { 0: 0.5 })),
        /^a\.json: \$\.rows\[0\]\.attention\[0\]\.weights: expected an array, found an object$/,
      ],
      [
        edited(dvme, (copy) => (copy.rows[0].sourceWeights = { 'swav:resnet50': 1 })),
        /^a\.json: \$\.rows\[0\]\.sourceWeights\["swav:resnet50"\]: expected one of the sources \(dino:vits16, simclr:resnet50-1x\), found "swav:resnet50"$/,
      ],
      [
        { format: 'medssl.run/v1', results: [evalDocument, { ...evalDocument, protocol: 7 }] },
        /^a\.json: \$\.results\[1\]\.protocol: expected a string, found 7$/,
      ],
      [
        { format: 'medssl.run/v1', results: [{ format: 'medssl.run/v1', results: [] }] },
        /^a\.json: \$\.results\[0\]\.format: expected a results document .*run documents do not nest$/,
      ],
      [{ format: 'medssl.run/v1' }, /^a\.json: \$\.results: expected an array, found nothing$/],
    ];
    for (const [document, pattern] of cases) expect(() => readResultsDocument(document, 'a.json')).toThrow(pattern);
  });
});
