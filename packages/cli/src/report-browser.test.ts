// Opens the report in headless Chromium: the plots must be drawn, nothing fetched, nothing injected.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium, type HeadlessChromium } from '../../../scripts/chromium.js';
import { captureIo } from '@medssl/experiment/testing';
import { main } from './main.js';
import { reportFixtures, type ReportFixtures } from '@medssl/experiment/testing';

let fixtures: ReportFixtures;
let chromium: HeadlessChromium;
let page: Page;
let pageUrl: string;
const requests: string[] = [];

async function report(files: readonly string[], out: string): Promise<string> {
  const { io, err } = captureIo();
  const code = await main(['report', ...files, '--out', out, '--title', 'Synthetic report'], io);
  if (code !== 0) throw new Error(err.join(''));
  return pathToFileURL(out).href;
}

describe.skipIf(chromiumSkipReason !== undefined)('the report in headless Chromium', () => {
  beforeAll(async () => {
    fixtures = await reportFixtures();
    pageUrl = await report([...fixtures.evalFiles, fixtures.dvmeFile, fixtures.runFile], join(fixtures.root, 'report', 'report.html'));
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pageUrl, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await chromium?.close();
  });

  const task = (dataset: string) => page.locator('section.task').filter({ has: page.locator('h2', { hasText: dataset }) });

  it('draws a chart per protocol with a line, band and seed dots per backbone, and a legend', async () => {
    expect(await page.locator('section.task').count()).toBe(2);
    const tumour = task('synthetic:tumour');
    const linear = tumour.locator('figure[data-protocol="linear"] svg.fraction-chart');
    const box = await linear.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(180);
    const backbones = ['dino:vits16', 'simclr:resnet50-1x', 'supervised:resnet50'];
    expect(await linear.locator('path.mean-line').count()).toBe(3);
    expect(await linear.locator('path.std-band').count()).toBe(3);
    expect(await linear.locator('circle.seed-point').count()).toBe(3 * 9);
    for (const backbone of backbones) {
      const line = await linear.locator(`path.mean-line[data-series="synthetic:tumour|linear|${backbone}"]`).boundingBox();
      expect(line!.width).toBeGreaterThan(200);
    }
    expect(await tumour.locator('ul.legend').first().locator('.legend-entry').allTextContents()).toEqual(backbones);
    expect(await tumour.locator('figure[data-protocol="knn"] path.mean-line').count()).toBe(3);
    expect(await tumour.locator('figure[data-backbone] svg.fraction-chart').count()).toBe(3);
    expect(await tumour.locator('figure[data-figure="fusion"] path.mean-line').count()).toBe(4);
    expect(await task('synthetic:grades').locator('svg.fraction-chart').count()).toBe(1);
  });

  it('draws the DVME attention heatmaps with every cell and its value, and the DME weights', async () => {
    const dvme = JSON.parse(readFileSync(fixtures.dvmeFile, 'utf8'));
    const { heads, sources } = dvme.rows[0].attention[0];
    const size = sources.length;
    const blocks = dvme.rows[0].attention.length;
    expect(await page.locator('rect.heat-cell').count()).toBe(blocks * (1 + heads) * size * size);
    expect(await page.locator('text.cell-value').count()).toBe(blocks * (1 + heads) * size * size);
    const firstMean = page.locator('.attention-mean svg.heatmap').first();
    expect(await firstMean.locator('text.heat-label').allTextContents()).toEqual([...sources, ...sources]);
    const value = Number(await firstMean.locator('rect.heat-cell').first().getAttribute('data-value'));
    expect(await firstMean.locator('text.cell-value').first().textContent()).toBe(value.toFixed(2));
    expect((await firstMean.locator('rect.heat-cell').first().boundingBox())!.width).toBeGreaterThan(30);
    expect(await page.locator('svg.stacked-bars rect.bar-segment').count()).toBe(3 * size);
  });

  it('makes no request beyond the page itself', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => url !== pageUrl)).toEqual([]);
  });

  it('takes a screenshot', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'medssl-report-screenshot-')), 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(50_000);
    console.log(`report screenshot: ${file}`);
  });

  it('runs nothing injected through a document', async () => {
    const hostile = JSON.parse(readFileSync(fixtures.evalFiles[0]!, 'utf8'));
    hostile.dataset.id = '<img src=x onerror="window.__pwned=1">';
    hostile.backbone = '"><script>window.__pwned=1</script><svg onload="window.__pwned=1">';
    hostile.subsetFiles = ['<iframe src="https://example.com"></iframe>'];
    const file = join(fixtures.root, 'hostile.json');
    writeFileSync(file, JSON.stringify(hostile));
    const hostileUrl = await report([file], join(fixtures.root, 'report', 'hostile.html'));
    const hostileRequests: string[] = [];
    const hostilePage = await chromium.browser.newPage();
    hostilePage.on('request', (request) => hostileRequests.push(request.url()));
    await hostilePage.goto(hostileUrl, { waitUntil: 'load' });
    expect(await hostilePage.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await hostilePage.locator('script, img, iframe').count()).toBe(0);
    expect(await hostilePage.locator('section.task h2').first().textContent()).toContain('<img src=x onerror="window.__pwned=1">');
    expect(hostileRequests).toEqual([hostileUrl]);
    await hostilePage.close();
  });
});
