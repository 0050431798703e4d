import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddingCost } from '@medssl/experiment';
import { captureIo } from '@medssl/experiment/testing';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { cliRegistry } from '../registry.js';

const scratch = mkdtempSync(join(tmpdir(), 'medssl-estimate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the estimate printed before embedding', () => {
  it("names a backbone's cost at its input size against 224x224: RAD-DINO at its native 518 costs 6.5x", () => {
    const radDino = cliRegistry().backbone('dinov2:rad-dino');
    expect(embeddingCost(radDino, radDino.preprocessing)).toMatch(/^dinov2:rad-dino at 518x518: \d+\.\d G multiply-adds per image, 6\.5x its cost at 224x224$/);
    const dino = cliRegistry().backbone('dino:vits16');
    expect(embeddingCost(dino, dino.preprocessing)).toBe('dino:vits16 at 224x224: 4.6 G multiply-adds per image');
  });

  it('says the cost and the time per image, measured before the run, in medssl embed', async () => {
    for (const [label, shade] of [
      ['dark', 40],
      ['light', 200],
    ] as const) {
      mkdirSync(join(scratch, 'images', 'test', label), { recursive: true });
      for (let index = 0; index < 2; index++) {
        await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: shade, g: shade + index, b: shade } } })
          .png()
          .toFile(join(scratch, 'images', 'test', label, `${index}.png`));
      }
    }
    const { io, err } = captureIo();
    const args = ['embed', '--dataset', 'folder', '--root', join(scratch, 'images'), '--split', 'test', '--backbone', 'random:vits16'];
    args.push('--resize', '64', '--crop', '64', '--store', join(scratch, 'store'), '--threads', '1', '--workers', '1');
    expect(await main(args, io), err.join('')).toBe(0);
    expect(err.join('')).toMatch(
      /estimate: random:vits16 at 64x64: 0\.\d G multiply-adds per image, 0\.\dx its cost at 224x224; \d+ ms per image on one image here, at most about \d+s for 4\n/,
    );
  });
});
