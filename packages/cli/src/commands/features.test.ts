import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { afterAll, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '@medssl/experiment/testing';
import { writeSmallConvnet } from './__fixtures__/small-convnet.js';

const pcamJpegs = sharedData('pcam', 'data');

const scratch = mkdtempSync(join(tmpdir(), 'medssl-features-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const model = join(scratch, 'small-convnet.onnx');
writeSmallConvnet(model, 3);
const store = join(scratch, 'store');

async function embed(...more: string[]): Promise<string> {
  const { io, out, err } = captureIo();
  const args = [
    'embed',
    '--dataset',
    'folder',
    '--root',
    pcamJpegs,
    '--split',
    'val',
    '--backbone',
    `onnx:${model}`,
    '--output-name',
    'features',
    '--resize',
    '40',
    '--crop',
    '32',
    '--chunk-rows',
    '10',
    '--batch',
    '5',
    '--workers',
    '1',
    '--threads',
    '1',
    '--store',
    store,
  ];
  expect(await main([...args, ...more], io), err.join('')).toBe(0);
  return out.join('').trim();
}

describeWithSharedData('medssl features', ['pcam/data/train'], () => {
  it('lists the store, verifies it, and names a damaged file', async () => {
    const whole = await embed();
    const firstTwenty = await embed('--limit', '20');
    const listed = captureIo();
    expect(await main(['features', 'list', '--store', store], listed.io)).toBe(0);
    const table = listed.out.join('');
    expect(table).toMatch(/key +dataset\/split +rows +backbone +state +size +created/);
    expect(table).toMatch(/folder\/val +rows 0\.\.99 +onnx:.*small-convnet\.onnx +100 x 32/);
    expect(table).toMatch(/folder\/val +rows 0\.\.19 +onnx:.*small-convnet\.onnx +20 x 32/);

    const verified = captureIo();
    expect(await main(['features', 'verify', '--store', store], verified.io)).toBe(0);
    expect(verified.out.join('').match(/^ok /gm)).toHaveLength(2);

    const path = join(firstTwenty, 'features.npy');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0x01;
    writeFileSync(path, bytes);
    const damaged = captureIo();
    expect(await main(['features', 'verify', whole, firstTwenty], damaged.io)).toBe(1);
    expect(damaged.out.join('')).toMatch(new RegExp(`FAILED  ${firstTwenty}\\n +${path}: SHA-256 [0-9a-f]{64}, the manifest records [0-9a-f]{64}`));
    expect(damaged.err.join('')).toMatch(/1 of 2 failed/);
    // The next embed of those rows notices, and computes them again.
    const again = captureIo();
    expect(
      await main(
        [
          'embed',
          '--dataset',
          'folder',
          '--root',
          pcamJpegs,
          '--split',
          'val',
          '--backbone',
          `onnx:${model}`,
          '--output-name',
          'features',
          '--resize',
          '40',
          '--crop',
          '32',
          '--chunk-rows',
          '10',
          '--limit',
          '20',
          '--store',
          store,
        ],
        again.io,
      ),
    ).toBe(0);
    expect(again.err.join('')).toMatch(/stored features in .* fail their checks \(.*features\.npy: SHA-256 .*\); computing them again/);
  });

  it('merges shards, and refuses repeated rows or a repeated shard with the rows and folders named', async () => {
    const shards = [await embed('--shard', '0/3'), await embed('--shard', '1/3'), await embed('--shard', '2/3')];
    const whole = await embed();
    const merged = captureIo();
    expect(await main(['features', 'merge', shards[2]!, shards[0]!, shards[1]!, '--store', store], merged.io)).toBe(0);
    expect(merged.err.join('')).toMatch(/the store already holds these 100 x 32 features \(rows 0\.\.99, key [0-9a-f]{16}\); nothing written/);
    expect(merged.out.join('').trim()).toBe(whole);

    const twice = captureIo();
    expect(await main(['features', 'merge', shards[0]!, shards[1]!, shards[1]!, shards[2]!, '--out', join(scratch, 'bad')], twice.io)).toBe(1);
    expect(twice.err.join('')).toMatch(/cannot merge: shard 1\/3 appears twice, in .* and /);
    const overlapping = captureIo();
    expect(await main(['features', 'merge', await embed('--limit', '20'), whole, '--out', join(scratch, 'bad')], overlapping.io)).toBe(1);
    expect(overlapping.err.join('')).toMatch(/cannot merge into rows 0\.\.99: rows 0\.\.19 appear twice \(in .* and .*\)/);
    const usage = captureIo();
    expect(await main(['features', 'merge', shards[0]!], usage.io)).toBe(2);
    expect(usage.err.join('')).toMatch(/features merge needs --out DIR, --store DIR, or both/);
  });
});
