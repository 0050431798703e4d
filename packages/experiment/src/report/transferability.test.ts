import { describe, expect, it } from 'vitest';
import { readResultsDocument, ResultsDocumentError, type ResultsDocument } from './documents.js';
import { backboneColors, groupByTask } from './model.js';
import { renderReport } from './render.js';
import { readTransferabilityDocuments, transferabilityAgreement } from './transferability.js';

/** A medssl.eval/v1 linear-probe document with one seed: the AUC per fraction. */
function linear(backbone: string, values: Record<number, number>): ResultsDocument {
  const fractions = Object.keys(values).map(Number);
  return readResultsDocument(
    {
      format: 'medssl.eval/v1',
      protocol: 'linear',
      created: '2026-12-08T00:00:00.000Z',
      versions: {},
      task: { type: 'binary', primaryMetric: 'auc' },
      dataset: { id: 'pcam', version: '1' },
      backbone,
      weightsSha256: '0'.repeat(64),
      config: { fractions, seeds: [0], options: {} },
      subsetFiles: [],
      rows: fractions.map((fraction) => ({ fraction, seed: 0, metrics: { auc: values[fraction] } })),
      summary: fractions.map((fraction) => ({ fraction, metrics: { auc: { mean: values[fraction], std: 0, count: 1 } } })),
    },
    `${backbone}.json`,
  )[0]!;
}

const documents = [linear('a', { 0.1: 0.7, 1: 0.9 }), linear('b', { 0.1: 0.8, 1: 0.85 }), linear('c', { 0.1: 0.6, 1: 0.8 })];
const estimates = {
  format: 'medssl.transferability/v1',
  dataset: { id: 'pcam', version: '1' },
  estimators: ['logme', 'knn'],
  backbones: ['a', 'b', 'c'],
  summary: [
    // At 10 %, LogME orders b > a > c as the probe does; kNN reverses it.
    { fraction: 0.1, scores: { a: { logme: 1, knn: 0.5 }, b: { logme: 2, knn: 0.4 }, c: { logme: 0, knn: 0.6 } } },
    // At 100 %, LogME picks b (the probe's best is a); kNN cannot score c.
    { fraction: 1, scores: { a: { logme: 1, knn: 0.9 }, b: { logme: 3, knn: 0.8 }, c: { logme: 0, knn: null } } },
  ],
  rows: [{ fraction: 0.01, seed: 0, skipped: 'transferability: needs at least 3 rows, got 2' }],
};

describe('transferability in the report', () => {
  it('reads the documents, alone or inside a run document, naming what is wrong', () => {
    expect(readTransferabilityDocuments(estimates, 't.json')).toHaveLength(1);
    const run = { format: 'medssl.run/v1', results: [], transferability: [estimates, estimates] };
    expect(readTransferabilityDocuments(run, 'run.json').map((document) => document.source)).toEqual([
      'run.json › transferability[0]',
      'run.json › transferability[1]',
    ]);
    expect(readTransferabilityDocuments({ format: 'medssl.eval/v1' }, 'e.json')).toEqual([]);
    const broken = { ...estimates, summary: [{ fraction: 0.1, scores: { a: { logme: 'high' } } }] };
    expect(() => readTransferabilityDocuments(broken, 't.json')).toThrow(ResultsDocumentError);
    expect(() => readTransferabilityDocuments(broken, 't.json')).toThrow(/t\.json: \$\.summary\[0\]\.scores\["a"\]\.logme: expected a number or null/);
  });

  it("sets each estimator's ranking against the linear probe's: weighted tau and the first choice", () => {
    const [group] = groupByTask(documents, backboneColors(documents));
    const agreement = transferabilityAgreement(group!, readTransferabilityDocuments(estimates, 't.json'))!;
    expect(agreement.measuredBest).toEqual(
      new Map([
        [0.1, 'b'],
        [1, 'a'],
      ]),
    );
    const at = (estimator: string, fraction: number) => agreement.agreements.find((entry) => entry.estimator === estimator && entry.fraction === fraction);
    expect(at('logme', 0.1)).toMatchObject({ tau: 1, pick: 'b', pickedBest: true });
    expect(at('knn', 0.1)).toMatchObject({ tau: -1, pick: 'c', pickedBest: false });
    expect(at('knn', 0.1)!.ranking).toEqual([...agreement.measuredRanking.get(0.1)!].reverse());
    expect(at('logme', 1)).toMatchObject({ pick: 'b', pickedBest: false });
    expect(at('knn', 1)).toBeUndefined();

    const page = renderReport(documents, { transferability: readTransferabilityDocuments(estimates, 't.json') });
    expect(page).toContain('<h3>Transferability estimates against the linear probe</h3>');
    expect(page).toContain('<td class="number" data-picked-best="true" title="first choice: b">τw 1.00 · best picked</td>');
    expect(page).toContain('τw -1.00 · picked c');
    expect(page).toContain(`<tr data-ranking="linear"><td>linear probe (measured)</td><td>${agreement.measuredRanking.get(0.1)!.join(' › ')}</td>`);
    expect(page).toContain('Not scored: 1\u00a0% (seed 0): transferability: needs at least 3 rows, got 2.');
    expect(renderReport(documents)).not.toContain('Transferability estimates');
  });
});
