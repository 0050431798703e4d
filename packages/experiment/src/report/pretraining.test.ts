import { describe, expect, it } from 'vitest';
import { readResultsDocument, type ReportPretraining, type ResultsDocument } from './documents.js';
import { backboneColors, groupByTask } from './model.js';
import { domainComparisons, pretrainingGroup } from './pretraining.js';
import { renderReport } from './render.js';

const IMAGENET_SUPERVISED = { supervision: 'supervised', data: 'ImageNet-1k', domain: 'natural' };
const IMAGENET_SSL = { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' };
const LVD_SSL = { supervision: 'self-supervised', data: 'LVD-142M', domain: 'natural' };
const CHEST_SSL = { supervision: 'self-supervised', data: 'MIMIC-CXR and 4 more chest X-ray sets', domain: 'chest-xray' };
const RANDOM = { supervision: 'none', data: 'none', domain: 'natural' };

/** A medssl.eval/v1 document: AUC per fraction and seed. */
function evaluation(backbone: string, protocol: string, values: Record<number, number[]>, pretraining?: ReportPretraining, seeds = [0, 1, 2]): ResultsDocument {
  const fractions = Object.keys(values).map(Number);
  const rows = fractions.flatMap((fraction) => values[fraction]!.map((auc, index) => ({ fraction, seed: seeds[index]!, metrics: { auc } })));
  const summary = fractions.map((fraction) => {
    const scores = values[fraction]!;
    const mean = scores.reduce((sum, value) => sum + value, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (scores.length - 1));
    return { fraction, metrics: { auc: { mean, std, count: scores.length } } };
  });
  const document = {
    format: 'medssl.eval/v1',
    protocol,
    created: '2026-12-08T00:00:00.000Z',
    versions: { medssl: '0.0.0' },
    task: { type: 'binary', primaryMetric: 'auc' },
    dataset: { id: 'chestxray14:pneumonia', version: '1' },
    backbone,
    weightsSha256: '0'.repeat(64),
    config: { fractions, seeds, options: {} },
    subsetFiles: [],
    rows,
    summary,
    ...(pretraining ? { pretraining } : {}),
  };
  return readResultsDocument(document, `${backbone}.${protocol}.json`)[0]!;
}

const documents = [
  evaluation('supervised:resnet50', 'linear', { 0.01: [0.7, 0.71, 0.72], 1: [0.8, 0.8, 0.81] }, IMAGENET_SUPERVISED),
  evaluation('dino:vits16', 'linear', { 0.01: [0.78, 0.79, 0.8], 1: [0.84, 0.85, 0.86] }, IMAGENET_SSL),
  evaluation('dinov2:vitb14', 'linear', { 0.01: [0.75, 0.76, 0.77], 1: [0.86, 0.84, 0.85] }, LVD_SSL),
  evaluation('dinov2:rad-dino', 'linear', { 0.01: [0.8, 0.82, 0.81], 1: [0.85, 0.86, 0.84] }, CHEST_SSL),
  evaluation('random:resnet50', 'linear', { 0.01: [0.9, 0.9, 0.9], 1: [0.9, 0.9, 0.9] }, RANDOM),
  // kNN: no in-domain model, so nothing to compare.
  evaluation('dino:vits16', 'knn', { 0.01: [0.7, 0.71, 0.72] }, IMAGENET_SSL),
];

describe('pretraining groups', () => {
  it('sorts what weights learnt from into natural-image, in-domain, random and unknown', () => {
    expect(pretrainingGroup(IMAGENET_SUPERVISED)).toBe('natural-supervised');
    expect(pretrainingGroup(LVD_SSL)).toBe('natural-self-supervised');
    expect(pretrainingGroup(CHEST_SSL)).toBe('in-domain-self-supervised');
    expect(pretrainingGroup({ supervision: 'supervised', data: 'CheXpert', domain: 'chest-xray' })).toBe('in-domain-supervised');
    expect(pretrainingGroup(RANDOM)).toBe('none');
    expect(pretrainingGroup(undefined)).toBe('unknown');
    expect(pretrainingGroup({ supervision: 'unknown', data: 'own', domain: 'unknown' })).toBe('unknown');
  });
});

describe('domainComparisons', () => {
  const [group] = groupByTask(documents, backboneColors(documents));

  it('sets the best in-domain model against the best natural-image one per protocol and fraction, seed by seed', () => {
    const comparisons = domainComparisons(group!);
    expect(comparisons.map((comparison) => [comparison.protocol, comparison.fraction])).toEqual([
      ['linear', 0.01],
      ['linear', 1],
    ]);
    const [low, full] = comparisons as [(typeof comparisons)[0], (typeof comparisons)[0]];
    // 1 %: RAD-DINO 0.80/0.82/0.81 against DINO (the best natural-image mean) 0.78/0.79/0.80, random init left out.
    expect(low.inDomain.series.label).toBe('dinov2:rad-dino');
    expect(low.natural.series.label).toBe('dino:vits16');
    expect(low.paired).toBe(true);
    expect(low.seeds).toBe(3);
    expect(low.difference).toBeCloseTo(0.02, 12);
    expect(low.spread).toBeCloseTo(0.01, 12);
    expect(low.verdict).toBe('in-domain');
    // 100 %: differences 0.01, 0.01, −0.02 against DINO: mean 0, within the spread.
    expect(full.natural.series.label).toBe('dino:vits16');
    expect(full.difference).toBeCloseTo(0, 12);
    expect(full.verdict).toBe('unclear');
  });

  it('falls back to the difference of means, with both spreads, when the seeds differ', () => {
    const unpaired = [
      evaluation('dinov2:rad-dino', 'linear', { 0.1: [0.7, 0.72] }, CHEST_SSL, [0, 1]),
      evaluation('dino:vits16', 'linear', { 0.1: [0.8, 0.82] }, IMAGENET_SSL, [5, 6]),
    ];
    const [comparison] = domainComparisons(groupByTask(unpaired, backboneColors(unpaired))[0]!);
    expect(comparison!.paired).toBe(false);
    expect(comparison!.difference).toBeCloseTo(-0.1, 12);
    expect(comparison!.spread).toBeCloseTo(Math.hypot(Math.SQRT2 * 0.01, Math.SQRT2 * 0.01), 12);
    expect(comparison!.verdict).toBe('natural');
  });
});

describe('the report, grouped by pretraining', () => {
  it('labels each backbone by pretraining, looks up documents that lack it, and states the in-domain verdicts', () => {
    const withoutPretraining = documents.map((document) =>
      document.backbones[0] === 'supervised:resnet50' ? { ...document, pretraining: undefined } : document,
    );
    const page = renderReport(withoutPretraining, {
      pretrainingOf: (id) => (id === 'supervised:resnet50' ? IMAGENET_SUPERVISED : undefined),
    });
    expect(page).toContain('<th>pretraining</th>');
    expect(page).toContain('<td class="pretraining">natural images (ImageNet-1k), supervised</td>');
    expect(page).toContain('<td class="pretraining">natural images (ImageNet-1k, LVD-142M), self-supervised</td>');
    expect(page).toContain('<td class="pretraining">in-domain (chest-xray), self-supervised</td>');
    expect(page).toContain('<td class="pretraining">random initialization</td>');
    expect(page).toContain('<h3>In-domain vs natural-image pretraining</h3>');
    expect(page.match(/<tr data-verdict="in-domain">/g)).toHaveLength(1);
    expect(page.match(/<tr data-verdict="unclear">/g)).toHaveLength(1);
    expect(page).toMatch(
      /in-domain ahead in <strong>1<\/strong>, natural images ahead in <strong>0<\/strong>, within one standard deviation over seeds in <strong>1<\/strong> of 2 comparisons/,
    );
    expect(page).toContain('+0.020</span> ± 0.010');
  });

  it('shows neither where no backbone records its pretraining', () => {
    const page = renderReport(documents.map((document) => ({ ...document, pretraining: undefined })));
    expect(page).not.toContain('<th>pretraining</th>');
    expect(page).not.toContain('In-domain vs natural-image pretraining');
  });
});
