import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFeatureSet } from '@medssl/core/node';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../__fixtures__/io.js';

const shared = join(import.meta.dirname, '../../../../../shared/data');
const medmnist = join(shared, 'medmnist');
const haveData = existsSync(join(medmnist, 'retinamnist.npz'));
if (!haveData) console.warn(`skipping "medssl embed" on real images: ${shared} is absent`);


describe('medssl embed', () => {
  it.skipIf(!haveData)('embeds real fundus images with a random ResNet-50 into a feature-set folder', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'medssl-embed-')), 'retina', 'train', 'random_resnet50');
    const { io, err } = captureIo();
    const code = await main(
      ['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'random:resnet50', '--out', out, '--limit', '12', '--batch', '5', '--resize', '28', '--crop', '28', '--threads', '1'],
      io,
    );
    expect(err.join('')).toMatch(/wrote 12 x 2048 features/);
    expect(code).toBe(0);
    const set = await readFeatureSet(out);
    expect(set.features.shape).toEqual([12, 2048]);
    expect(set.ids.slice(0, 2)).toEqual(['train/000000', 'train/000001']);
    expect(set.manifest).toMatchObject({
      dataset: { id: 'medmnist:retinamnist' },
      split: 'train',
      backbone: 'random:resnet50',
      runtime: { id: 'onnx', provider: 'cpu', precision: 'float32' },
      preprocessing: { resize: { size: 28, interpolation: 'bilinear' }, centerCrop: 28 },
      count: 12,
      dimension: 2048,
    });
    expect(set.features.data.every(Number.isFinite)).toBe(true);
    // The same images in other batch sizes give the same features: batches never mix images.
    const again = join(mkdtempSync(join(tmpdir(), 'medssl-embed-')), 'again');
    expect(await main(['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'random:resnet50', '--out', again, '--limit', '12', '--batch', '12', '--resize', '28', '--crop', '28'], captureIo().io)).toBe(0);
    const other = await readFeatureSet(again);
    let largest = 0;
    other.features.data.forEach((value, index) => (largest = Math.max(largest, Math.abs(value - set.features.data[index]!))));
    expect(largest).toBeLessThan(1e-4);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names what is missing or wrong', async () => {
    const root = mkdtempSync(join(tmpdir(), 'medssl-embed-'));
    const cases: [string[], RegExp][] = [
      [['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'dino:vits16', '--out', root], /dino:vits16 needs --weights FILE: dino_deitsmall16_pretrain\.pth/],
      [['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'mae:vitb16', '--out', root], /unknown backbone "mae:vitb16"/],
      [['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'random:resnet50', '--out', root, '--batch', '0'], /--batch must be a positive integer, got "0"/],
      [['embed', '--dataset', 'medmnist:retinamnist', '--root', medmnist, '--split', 'train', '--backbone', 'random:resnet50', '--weights', 'x.pth', '--out', root], /random:resnet50 takes no --weights/],
    ];
    for (const [argv, pattern] of cases) {
      const { io, err } = captureIo();
      expect(await main(argv, io)).toBe(2);
      expect(err.join('')).toMatch(pattern);
    }
  });
});
