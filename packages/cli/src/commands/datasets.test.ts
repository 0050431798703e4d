import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';

describe('medssl datasets', () => {
  it('lists every plugin with its layout', async () => {
    const { io, out } = captureIo();
    expect(await main(['datasets', 'list'], io)).toBe(0);
    for (const id of ['pcam', 'aptos', 'chestxray14', 'chestxray14:pneumonia', 'pneumonia', 'medmnist:<flag>', 'folder']) {
      expect(out.join('')).toContain(`  ${id}  `);
    }
    expect(out.join('')).toContain('camelyonpatch_level_2_split_');
    const json = captureIo();
    expect(await main(['datasets', 'list', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join('')).map((info: { id: string }) => info.id)).toContain('chestxray14:pneumonia');
  });

  itWithSharedData('counts samples per split and class of the real PneumoniaMNIST file', ['medmnist/pneumoniamnist.npz'], async () => {
    const { io, out } = captureIo();
    expect(await main(['datasets', 'stats', 'medmnist:pneumoniamnist', '--root', sharedData('medmnist'), '--json'], io)).toBe(0);
    const statistics = JSON.parse(out.join(''));
    expect(statistics.dataset).toBe('medmnist:pneumoniamnist');
    expect(statistics.task.type).toBe('binary');
    const counts = Object.fromEntries(Object.entries(statistics.splits as Record<string, { count: number }>).map(([split, value]) => [split, value.count]));
    expect(counts).toEqual({ train: 4708, val: 524, test: 624 });
    for (const split of Object.values(statistics.splits as Record<string, { count: number; classes: Record<string, number> }>)) {
      expect(Object.values(split.classes).reduce((a, b) => a + b, 0)).toBe(split.count);
    }
  });

  it('prints a table for a folder dataset, and names unknown ids and missing options', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-datasets-'));
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000a4944415478da63600000000200013a6f2c480000000049454e44ae426082',
      'hex',
    );
    for (const split of ['train', 'val', 'test']) {
      for (const [label, count] of [
        ['benign', 3],
        ['malignant', 2],
      ] as const) {
        mkdirSync(join(root, split, label), { recursive: true });
        for (let index = 0; index < count; index++) writeFileSync(join(root, split, label, `${index}.png`), png);
      }
    }
    const { io, out } = captureIo();
    expect(await main(['datasets', 'stats', 'folder', '--root', root], io)).toBe(0);
    expect(out.join('')).toMatch(/\| benign \| 3 \| 3 \| 3 \|\n\| malignant \| 2 \| 2 \| 2 \|\n\| \*\*samples\*\* \| 5 \| 5 \| 5 \|/);
    const unknown = captureIo();
    expect(await main(['datasets', 'stats', 'imagenet', '--root', root], unknown.io)).toBe(2);
    expect(unknown.err.join('')).toMatch(/unknown dataset "imagenet"; known: pcam, aptos/);
    const noRoot = captureIo();
    expect(await main(['datasets', 'stats', 'pcam'], noRoot.io)).toBe(2);
    expect(noRoot.err.join('')).toMatch(/--root is required/);
  });
});
