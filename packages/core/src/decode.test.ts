import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile } from './decode.js';
import { encodePng } from './__fixtures__/png.js';

const samples = sharedData('xray-samples');

describe('decodeImage', () => {
  it('keeps 8-bit grey, RGB and RGBA pixels exactly', async () => {
    const pixels = Uint8Array.from({ length: 4 * 3 * 4 }, (_, i) => (i * 37) % 256);
    for (const channels of [1, 3, 4] as const) {
      const raw = pixels.subarray(0, 4 * 3 * channels);
      const encoder = sharp(raw, { raw: { width: 4, height: 3, channels } });
      const png = await (channels === 1 ? encoder.toColourspace('b-w') : encoder).png().toBuffer();
      const image = await decodeImage(png, `test-${channels}.png`);
      expect(image).toMatchObject({ width: 4, height: 3, channels });
      expect(image.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(image.data)).toEqual(Array.from(raw));
    }
  });

  it('keeps 16-bit depth', async () => {
    const values = Uint16Array.from([0, 1, 256, 4095, 65535, 30000]);
    const image = await decodeImage(encodePng({ width: 3, height: 2, colorType: 0, depth: 16, samples: values, filter: 0 }), 'deep.png');
    expect(image.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(image.data)).toEqual(Array.from(values));
  });

  it('turns grey+alpha into grey', async () => {
    const raw = Uint8Array.from([10, 255, 20, 128, 30, 0, 40, 255]);
    const png = await sharp(raw, { raw: { width: 2, height: 2, channels: 2 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const image = await decodeImage(png, 'grey-alpha.png');
    expect(image.channels).toBe(1);
    expect(Array.from(image.data)).toEqual([10, 20, 30, 40]);
  });

  it('names a truncated file and a file that is not an image', async () => {
    const png = await sharp(new Uint8Array(64 * 64 * 3).fill(90), { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    await expect(decodeImage(png.subarray(0, png.length - 40), 'cut.png')).rejects.toThrow(/^cut\.png: cannot decode image \(truncated PNG: /);
    await expect(decodeImage(new TextEncoder().encode('id,label\n'), 'labels.csv')).rejects.toThrow(/^labels\.csv: cannot decode image \(unsupported file: /);
    const folder = mkdtempSync(join(tmpdir(), 'medssl-decode-'));
    await expect(decodeImageFile(join(folder, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read image file \(ENOENT\)/);
    writeFileSync(join(folder, 'empty.png'), '');
    await expect(decodeImageFile(join(folder, 'empty.png'))).rejects.toThrow(/empty\.png: cannot decode image \(unsupported file: the file is empty\)/);
  });

  itWithSharedData('decodes the real NIH chest X-ray PNGs', ['xray-samples'], async () => {
    const image = await decodeImageFile(join(samples, '00000001_000.png'));
    expect(image).toMatchObject({ width: 512, height: 512 });
    expect([1, 3, 4]).toContain(image.channels);
    const bytes = readFileSync(join(samples, '00027426_000.png'));
    const other = await decodeImage(bytes, '00027426_000.png');
    expect(other.width * other.height * other.channels).toBe(other.data.length);
  });
});
