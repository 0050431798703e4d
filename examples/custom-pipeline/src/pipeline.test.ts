import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { swav } from '@medssl/backbone-swav';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { afterAll, expect, it } from 'vitest';
import { backbones, runPipeline } from './pipeline.js';

const data = sharedData('pcam', 'data');
const store = mkdtempSync(join(tmpdir(), 'medssl-example-store-'));
afterAll(() => rmSync(store, { recursive: true, force: true }));

describeWithSharedData('the custom pipeline example, on the real PCam patches', ['pcam/data'], () => {
  it('embeds a folder dataset with two backbones and evaluates a linear probe at each fraction', async () => {
    const result = await runPipeline({ data, store, size: 32, fractions: [0.1, 1], seeds: [0] });
    expect(result.task.type).toBe('binary');
    expect(result.table.map((entry) => entry.backbone)).toEqual(['supervised:resnet50', 'dino:vits16']);
    for (const entry of result.table) {
      expect(entry.summary.map((summary) => summary.fraction)).toEqual([0.1, 1]);
      const auc = entry.summary.at(-1)!.metrics.auc!.mean;
      expect(auc).toBeGreaterThan(0.5); // random-weight features of real patches still carry signal
      expect(auc).toBeLessThanOrEqual(1);
    }
  }, 300_000);

  it('swaps a backbone in one line', async () => {
    const swapped = [swav({ variant: 'resnet50' }), backbones[1]!];
    const result = await runPipeline({ data, store, size: 32, fractions: [1], seeds: [0] }, swapped);
    expect(result.table.map((entry) => entry.backbone)).toEqual(['swav:resnet50', 'dino:vits16']);
  }, 300_000);
});
