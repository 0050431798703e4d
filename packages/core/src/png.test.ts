import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeWithSharp } from './decode.js';
import { decodePng } from './png.js';
import { COLOR_TYPES, encodePng, STORED_CHANNELS } from './__fixtures__/png.js';

const realPngs = [sharedData('chestxray14', 'images'), sharedData('xray-samples')];

function randomSamples(count: number, depth: 8 | 16, seed: number): Uint16Array {
  let state = seed >>> 0 || 1;
  return Uint16Array.from({ length: count }, (_, index) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    // Smooth plus noise, so that every filter predicts something and the extremes occur.
    const smooth = (index * 7) % 251;
    return depth === 8 ? (smooth + (state >>> 28)) & 255 : ((smooth << 8) + (state >>> 20)) & 65535;
  });
}

describe('decodePng', () => {
  it("gives sharp's values for every colour type, bit depth and row filter", async () => {
    const [width, height] = [13, 11];
    for (const [name, colorType] of Object.entries(COLOR_TYPES)) {
      for (const depth of [8, 16] as const) {
        for (const filter of [0, 1, 2, 3, 4, 'cycle'] as const) {
          const png = encodePng({
            width,
            height,
            colorType,
            depth,
            samples: randomSamples(width * height * STORED_CHANNELS[colorType]!, depth, colorType * 97 + depth),
            filter,
          });
          const ours = decodePng(png);
          const reference = await decodeWithSharp(png, `${name}-${depth}-${filter}.png`);
          expect(ours, `${name}, ${depth} bits, filter ${filter}`).toBeDefined();
          expect({ ...ours!, data: Array.from(ours!.data) }, `${name}, ${depth} bits, filter ${filter}`).toEqual({
            ...reference,
            data: Array.from(reference.data),
          });
          expect(ours!.data.constructor).toBe(reference.data.constructor);
        }
      }
    }
  });

  itWithSharedData(
    "gives sharp's values for the real ChestX-ray14 PNGs (grey with gamma and text chunks, RGB, RGBA)",
    ['chestxray14/images', 'xray-samples'],
    async () => {
      let fast = 0;
      for (const folder of realPngs) {
        for (const file of readdirSync(folder).filter((name) => name.endsWith('.png'))) {
          const bytes = readFileSync(join(folder, file));
          const ours = decodePng(bytes);
          const reference = await decodeWithSharp(bytes, file);
          if (ours === undefined) continue;
          fast++;
          expect(ours.channels, file).toBe(reference.channels);
          expect(
            Buffer.from(ours.data.buffer, ours.data.byteOffset, ours.data.byteLength).equals(
              Buffer.from(reference.data.buffer, reference.data.byteOffset, reference.data.byteLength),
            ),
            file,
          ).toBe(true);
        }
      }
      expect(fast).toBe(252); // all of them: 247 RGB, 3 RGBA, 2 grey 512x512
    },
  );

  it('leaves interlaced, palette, transparent and colour-managed PNGs to sharp, which decodes them', async () => {
    const samples = randomSamples(8 * 6 * 3, 8, 5);
    const interlaced = encodePng({ width: 8, height: 6, colorType: 2, depth: 8, samples, filter: 0, interlace: true });
    expect(decodePng(interlaced)).toBeUndefined();
    const palette = await sharp(Uint8Array.from(samples), { raw: { width: 8, height: 6, channels: 3 } })
      .png({ palette: true })
      .toBuffer();
    expect(decodePng(palette)).toBeUndefined();
    expect(await decodeImage(palette, 'palette.png')).toMatchObject({ width: 8, height: 6, channels: 3 });
    const transparent = encodePng({ width: 8, height: 6, colorType: 2, depth: 8, samples, filter: 1, extra: [['tRNS', Uint8Array.from([0, 0, 0, 0, 0, 0])]] });
    expect(decodePng(transparent)).toBeUndefined();
    expect(await decodeImage(transparent, 'transparent.png')).toMatchObject({ channels: 4 });
    const text = encodePng({
      width: 8,
      height: 6,
      colorType: 2,
      depth: 8,
      samples,
      filter: 4,
      extra: [
        ['tEXt', new TextEncoder().encode('Comment\0x')],
        ['gAMA', Uint8Array.from([0, 0, 0xb1, 0x8f])],
      ],
    });
    expect(decodePng(text)).toBeDefined();
  });

  it('undoes Paeth for every choice and tie of its predictor, in one- and three-byte pixels', () => {
    // Pixel (1, 2k + 1) has left a, up b and up-left c: row 0 holds the pairs [c, b], row 1 the pairs [a, x].
    // Every tie is a linear relation between a, b and c, so small values meet all of them; the top ones the extremes.
    const levels = [...Array.from({ length: 13 }, (_, value) => value), 127, 128, 250, 251, 252, 253, 254, 255];
    const triples = levels.flatMap((a) => levels.flatMap((b) => levels.map((c) => [a, b, c] as const)));
    const width = 2 * triples.length;
    for (const [colorType, channels] of [
      [0, 1],
      [2, 3],
    ] as const) {
      const samples = new Uint16Array(2 * width * channels);
      triples.forEach(([a, b, c], index) => {
        for (let channel = 0; channel < channels; channel++) {
          const at = (column: number) => column * channels + channel;
          samples[at(2 * index)] = c;
          samples[at(2 * index + 1)] = b;
          samples[width * channels + at(2 * index)] = a;
          samples[width * channels + at(2 * index + 1)] = (a + b + c + index + channel) & 255;
        }
      });
      const decoded = decodePng(encodePng({ width, height: 2, colorType, depth: 8, samples, filter: 4 }));
      expect(Array.from(decoded!.data), `${channels} channels`).toEqual(Array.from(samples));
    }
  });

  it('names a damaged or truncated file', async () => {
    const png = encodePng({ width: 16, height: 16, colorType: 0, depth: 8, samples: randomSamples(256, 8, 3), filter: 'cycle' });
    const flipped = Buffer.from(png);
    flipped[png.length - 30] = flipped[png.length - 30]! ^ 0xff;
    expect(() => decodePng(flipped)).toThrow(/damaged PNG: chunk IDAT at byte \d+ fails its CRC \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
    await expect(decodeImage(flipped, 'scan.png')).rejects.toThrow(/^scan\.png: cannot decode image \(damaged PNG: chunk IDAT/);
    expect(() => decodePng(png.subarray(0, png.length - 20))).toThrow(
      /truncated PNG: chunk IDAT at byte \d+ needs \d+ bytes, the file ends first|truncated PNG: the chunk at byte/,
    );
    const badFilter = encodePng({ width: 4, height: 2, colorType: 0, depth: 8, samples: randomSamples(8, 8, 1), filter: 7 as 0 });
    expect(() => decodePng(badFilter)).toThrow(/row 0 has filter type 7, expected 0 to 4/);
    const noEnd = png.subarray(0, png.length - 12);
    expect(() => decodePng(noEnd)).toThrow(/truncated PNG: the chunk at byte \d+ is cut off/);
  });
});
