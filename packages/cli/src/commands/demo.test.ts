import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from '../../../../scripts/chromium.js';
import { captureIo } from '@medssl/experiment/testing';
import { cliRegistry } from '../registry.js';
import { runDemo } from './demo.js';

const root = mkdtempSync(join(tmpdir(), 'medssl-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('medssl demo --small', () => {
  it('runs the whole flow offline and writes a report that Chromium renders with its plots', async () => {
    const { io, err } = captureIo();
    const report = await runDemo(cliRegistry(), { out: root, small: true, io });
    const log = err.join('');
    expect(log).toContain("they are not the paper's");
    expect(log).toMatch(/generated 160 synthetic patches/);
    expect(log).toMatch(/5 units computed, 0 reused/);
    const run = JSON.parse(readFileSync(join(root, 'run.json'), 'utf8')) as { results: { protocol: string; summary: { fraction: number }[] }[] };
    expect(run.results.map((result) => result.protocol)).toEqual(['linear', 'knn', 'linear', 'knn', 'dvme']);
    for (const result of run.results) expect(result.summary.map((entry) => entry.fraction)).toEqual([0.05, 0.2, 1]);

    if (chromiumSkipReason) {
      console.warn(`skipping the browser half: ${chromiumSkipReason}`);
      return;
    }
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(`file://${report}`);
      expect(await page.locator('.notice').textContent()).toMatch(/not the paper's/);
      // Per backbone: one mean line in each of the two protocol panels (linear, kNN), and the DVME heatmap.
      expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(4);
      expect(await page.getByText('random:resnet50').count()).toBeGreaterThan(0);
      expect(await page.getByText('DVME attention').count()).toBe(1);
      expect(requests.every((url) => url.startsWith('file://'))).toBe(true);
    } finally {
      await chromium.close();
    }

    // A second run reuses the data, the stored features and the results.
    const again = captureIo();
    await runDemo(cliRegistry(), { out: root, small: true, io: again.io });
    expect(again.err.join('')).toMatch(/0 units computed, 5 reused/);
  }, 600_000);
});
