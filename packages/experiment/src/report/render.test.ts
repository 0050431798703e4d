import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportFixtures, sha256, type ReportFixtures } from '../testing/results.js';
import { readResultsDocument, type ResultsDocument } from './documents.js';
import { escapeHtml } from './html.js';
import { formatFraction, formatMeanStd } from './format.js';
import { niceTicks } from './plots.js';
import { renderReport } from './render.js';

let fixtures: ReportFixtures;
let documents: ResultsDocument[];
let page: string;

function read(file: string): ResultsDocument[] {
  return readResultsDocument(JSON.parse(readFileSync(file, 'utf8')), file);
}

beforeAll(async () => {
  fixtures = await reportFixtures();
  documents = [...fixtures.evalFiles, fixtures.dvmeFile, fixtures.runFile].flatMap(read);
  page = renderReport(documents, { title: 'Synthetic report', generated: '2026-01-02T03:04:05.000Z' });
});

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
}

/** The HTML of one task's section, by dataset id. */
function section(dataset: string): string {
  const sections = page.split('<section class="task"').slice(1);
  const found = sections.find((candidate) => candidate.includes(`<h2>${escapeHtml(dataset)} `));
  if (!found) throw new Error(`no section for ${dataset}`);
  return found.split('</section>')[0]!;
}

describe('renderReport', () => {
  it('draws one section per task with a chart per protocol and a line, band and seed dots per backbone', () => {
    expect(count(page, /<section class="task"/)).toBe(2);
    const tumour = section('synthetic:tumour');
    const linearPanel = tumour.split('<figure class="panel" data-protocol="linear">')[1]!.split('</figure>')[0]!;
    const linearDocuments = documents.filter((document) => document.dataset.id === 'synthetic:tumour' && document.protocol === 'linear');
    expect(count(linearPanel, /<path class="mean-line"/)).toBe(linearDocuments.length);
    expect(count(linearPanel, /<path class="std-band"/)).toBe(linearDocuments.length);
    expect(count(linearPanel, /<circle class="seed-point"/)).toBe(linearDocuments.reduce((sum, document) => sum + document.rows.length, 0));
    for (const document of linearDocuments) expect(linearPanel).toContain(`data-series="synthetic:tumour|linear|${document.backbones[0]}"`);
    expect(tumour).toContain('data-protocol="knn"');
    // linear + kNN panels, one protocol comparison per backbone (3), and the fusion chart.
    expect(count(tumour, /<svg class="plot fraction-chart"/)).toBe(2 + 3 + 1);
    expect(count(section('synthetic:grades'), /<svg class="plot fraction-chart"/)).toBe(1);
  });

  it('tabulates mean ± std per fraction from the documents, with the fractions on a log axis', () => {
    const tumour = section('synthetic:tumour');
    for (const document of documents.filter((candidate) => candidate.dataset.id === 'synthetic:tumour')) {
      for (const entry of document.summary) expect(tumour).toContain(formatMeanStd(entry.metrics.auc!.mean, entry.metrics.auc!.std));
    }
    for (const fraction of [0.05, 0.2, 1]) expect(tumour).toContain(`>${formatFraction(fraction)}</text>`);
    expect(tumour).toContain('label fraction (log scale)');
    // Ticks at 5 %, 20 % and 100 % are spaced by log10 of their ratios: log(4) : log(5).
    const tickX = [...tumour.split('<svg class="plot fraction-chart"')[1]!.matchAll(/<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">/g)].map(
      (match) => Number(match[1]),
    );
    expect(tickX).toHaveLength(3);
    expect((tickX[1]! - tickX[0]!) / (tickX[2]! - tickX[1]!)).toBeCloseTo(Math.log10(4) / Math.log10(5), 1);
  });

  it('compares the fusions with the best single backbone', () => {
    const tumour = section('synthetic:tumour');
    const linear = documents.filter((document) => document.dataset.id === 'synthetic:tumour' && document.protocol === 'linear');
    const average = (document: ResultsDocument) => document.summary.reduce((sum, entry) => sum + entry.metrics.auc!.mean, 0) / document.summary.length;
    const best = linear.reduce((a, b) => (average(b) > average(a) ? b : a));
    expect(tumour).toContain(`Best single backbone: <strong>${best.backbones[0]}</strong> (linear probe)`);
    const fusionChart = tumour.split('data-figure="fusion">')[1]!.split('</figure>')[0]!;
    for (const key of [`linear|${best.backbones[0]}|best`, 'dvme|DVME', 'dme|DME', 'concat|concat'])
      expect(fusionChart).toContain(`data-series="synthetic:tumour|${key}"`);
    const dvme = documents.find((document) => document.protocol === 'dvme')!;
    const delta = dvme.summary[0]!.metrics.auc!.mean - best.summary[0]!.metrics.auc!.mean;
    expect(tumour).toContain(`${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(3)}</span>`);
  });

  it('draws a K×K attention heatmap per block (mean over heads) and one per head, and DME weights per fraction', () => {
    const dvme = documents.find((document) => document.protocol === 'dvme')!;
    const blocks = dvme.rows[0]!.attention!;
    const size = dvme.backbones.length;
    const heads = blocks[0]!.heads;
    expect(count(page, /<rect class="heat-cell"/)).toBe(blocks.length * (size * size + heads * size * size));
    expect(count(page, /<svg class="plot heatmap compact"/)).toBe(blocks.length * heads);
    // Block 0, first cell, mean over heads and over the seeds at the largest fraction, computed here.
    const largest = Math.max(...dvme.rows.map((row) => row.fraction));
    const rows = dvme.rows.filter((row) => row.fraction === largest);
    const expected = rows.reduce((sum, row) => sum + row.attention![0]!.weights.reduce((headSum, head) => headSum + head[0]![0]!, 0) / heads, 0) / rows.length;
    const firstCell = page.split('<svg class="plot heatmap"')[1]!.match(/<rect class="heat-cell" data-value="([^"]+)"/)!;
    expect(Number(firstCell[1])).toBeCloseTo(expected, 12);
    const mainHeatmap = page.split('<svg class="plot heatmap"')[1]!.split('</svg>')[0]!;
    for (const source of dvme.backbones) expect(count(mainHeatmap, new RegExp(`<text class="heat-label"[^>]*>${source}</text>`))).toBe(2);
    const dme = documents.find((document) => document.protocol === 'dme')!;
    expect(count(page, /<rect class="bar-segment"/)).toBe(dme.summary.length * dme.backbones.length);
  });

  it('records provenance: versions, hashes short with the full one in a title, config and subset files', () => {
    const provenance = page.split('<section class="provenance"')[1]!;
    for (const backbone of ['dino:vits16', 'simclr:resnet50-1x', 'supervised:resnet50']) {
      const hash = sha256(backbone);
      expect(provenance).toContain(`<code title="${hash}">${hash.slice(0, 12)}</code>`);
    }
    const first = documents[0]!;
    expect(provenance).toContain(`medssl ${first.versions.medssl}`);
    expect(provenance).toContain(`node ${first.versions.node}`);
    for (const file of first.subsetFiles) expect(provenance).toContain(`<li><code>${file}</code></li>`);
    expect(provenance).toContain('seeds 0, 1, 2');
    expect(provenance).toContain('rows <span title=');
    expect(provenance).toContain('options blocks: 2, heads: 4, epochs: 30');
    expect(count(provenance.split('<tbody>')[1]!, /<tr>/)).toBe(documents.length);
    expect(page).toContain('generated 2026-01-02 03:04:05 UTC');
  });

  it('is self-contained: no scripts, links, remote URLs or external resources', () => {
    expect(page).not.toMatch(/<script|<link|<img|<iframe|https?:\/\/|url\(|@import|src=/i);
  });

  it('escapes everything taken from a document', () => {
    const hostile = structuredClone(JSON.parse(readFileSync(fixtures.evalFiles[0]!, 'utf8')));
    hostile.dataset.id = '<img src=x onerror="window.__pwned=1">';
    hostile.backbone = '"><script>window.__pwned=1</script>';
    hostile.config.options = { note: '</style><script>window.__pwned=1</script>' };
    hostile.versions.medssl = "1.0' onmouseover='window.__pwned=1";
    hostile.subsetFiles = ['<b>subset</b>.json'];
    const hostilePage = renderReport(readResultsDocument(hostile, '<i>file</i>.json'), { title: '<title>x</title>' });
    expect(hostilePage).not.toMatch(/<script|<img|<b>|<i>|<title>x|' onmouseover/);
    expect(hostilePage).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;');
    expect(hostilePage).toContain('&quot;&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(hostilePage).toContain('&lt;b&gt;subset&lt;/b&gt;.json');
  });

  it('copes with a fusion alone, one fraction, and the same evaluation twice', () => {
    const dvme = documents.find((document) => document.protocol === 'dvme')!;
    const alone = renderReport([dvme]);
    expect(alone).toContain('No single-backbone results for this task to compare with.');
    expect(count(alone, /<svg class="plot fraction-chart"/)).toBe(1);
    const linear = documents.find((document) => document.protocol === 'linear')!;
    const oneFraction = { ...linear, summary: linear.summary.slice(-1), rows: linear.rows.filter((row) => row.fraction === 1) };
    const twice = renderReport([oneFraction, { ...oneFraction, source: 'again.json' }]);
    expect(twice).toContain(`data-series="${linear.dataset.id}|linear|${linear.backbones[0]} #2"`);
    expect(twice).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('needs at least one document', () => {
    expect(() => renderReport([])).toThrow(/at least one results document/);
  });
});

describe('report helpers', () => {
  it('chooses round y ticks that cover the values', () => {
    expect(niceTicks(0.612, 0.981)).toEqual({ domain: [0.6, 1], ticks: [0.6, 0.7, 0.8, 0.9, 1] });
    expect(niceTicks(0.95, 0.95).ticks.length).toBeGreaterThan(1);
    // Seeds equal but for rounding error: a readable range, not one tick per ulp.
    expect(niceTicks(0.979, 0.979 + 1e-16).ticks).toEqual([0.95, 0.96, 0.97, 0.98, 0.99, 1]);
    expect(formatFraction(0.125)).toBe('12.5\u00a0%');
  });

  it('keeps the renderer free of Node built-ins, so it runs in a browser', () => {
    const folder = import.meta.dirname;
    const sources = readdirSync(folder).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(sources).toContain('render.ts');
    for (const file of sources) {
      const imports = [...readFileSync(join(folder, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((match) => match[1]!);
      // Besides its own modules, only @medssl/transferability, browser-safe by its own test.
      for (const specifier of imports) expect(specifier, `${file} imports ${specifier}`).toMatch(/^(\.\/[\w-]+\.js|@medssl\/transferability)$/);
      expect(readFileSync(join(folder, file), 'utf8'), file).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
    }
  });
});
