import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { itWithSharedData, sharedData } from '@medssl/test-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeWithSharp } from './decode.js';
import { deflateSync } from 'node:zlib';
import { ImageDecodeError } from './image-errors.js';
import { decodePng } from './png.js';
import { COLOR_TYPES, encodePng, headerBody, pngWithData, STORED_CHANNELS } from './__fixtures__/png.js';

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

  it('names a damaged or truncated file with an ImageDecodeError', async () => {
    const png = encodePng({ width: 16, height: 16, colorType: 0, depth: 8, samples: randomSamples(256, 8, 3), filter: 'cycle' });
    const flipped = Buffer.from(png);
    flipped[png.length - 30] = flipped[png.length - 30]! ^ 0xff;
    expect(() => decodePng(flipped, { file: 'scan.png' })).toThrow(
      /^scan\.png: cannot decode image \(damaged PNG: chunk IDAT at byte \d+ fails its CRC \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\)$/,
    );
    await expect(decodeImage(flipped, 'scan.png')).rejects.toMatchObject({ name: 'ImageDecodeError', file: 'scan.png', format: 'png', problem: 'damaged' });
    expect(() => decodePng(png.subarray(0, png.length - 20))).toThrow(
      /\(truncated PNG: (chunk IDAT at byte \d+ needs \d+ bytes, the file ends first|the chunk at byte \d+ is cut off)/,
    );
    const badFilter = encodePng({ width: 4, height: 2, colorType: 0, depth: 8, samples: randomSamples(8, 8, 1), filter: 7 as 0 });
    expect(() => decodePng(badFilter)).toThrow(/\(damaged PNG: row 0 has filter type 7, expected 0 to 4/);
    const noEnd = png.subarray(0, png.length - 12);
    expect(() => decodePng(noEnd)).toThrow(ImageDecodeError);
    expect(() => decodePng(noEnd)).toThrow(/\(truncated PNG: the chunk at byte \d+ is cut off/);
  });

  it('tells image data short of the image, and a zlib stream that fails, from each other, with every CRC correct', () => {
    const header = headerBody(32, 8, 8, 0);
    const filtered = Buffer.alloc(33 * 8, 5);
    for (let row = 0; row < 8; row++) filtered[row * 33] = 0;
    const whole = deflateSync(filtered);
    expect(decodePng(pngWithData(header, whole))!.data[0]).toBe(5);
    // A complete zlib stream of 5 rows: the data ends short of the 8 the header promises.
    expect(() => decodePng(pngWithData(header, deflateSync(filtered.subarray(0, 33 * 5))), { file: 'short.png' })).toThrow(
      /^short\.png: cannot decode image \(truncated PNG: the image data inflates to 165 bytes, 32x8 needs 264\)$/,
    );
    // A zlib stream cut in the middle (CRC recomputed over the cut data).
    expect(() => decodePng(pngWithData(header, whole.subarray(0, whole.length - 6)))).toThrow(
      /\(truncated PNG: its image data does not inflate \(unexpected end of file\)/,
    );
    // A bad deflate block type, and a wrong Adler-32: the stream is damaged.
    const badBlock = Buffer.from(whole);
    badBlock[2] = 0xff;
    expect(() => decodePng(pngWithData(header, badBlock))).toThrow(/\(damaged PNG: its image data does not inflate \(invalid block type\)/);
    const badAdler = Buffer.from(whole);
    badAdler[badAdler.length - 1]! ^= 0x01;
    expect(() => decodePng(pngWithData(header, badAdler))).toThrow(/\(damaged PNG: its image data does not inflate \(incorrect data check\)/);
  });

  it('refuses an image above the pixel limit from its header, before inflating anything', () => {
    // The header says 70000 x 70000; the image data is 8 bytes that would not inflate.
    const huge = pngWithData(headerBody(70000, 70000, 8, 0), new Uint8Array(8));
    expect(() => decodePng(huge, { file: 'slide.png' })).toThrow(
      /^slide\.png: cannot decode image \(too large PNG: 70000x70000 is 4900000000 pixels, above the limit of 268435456; raise the maxPixels option/,
    );
    expect(() => decodePng(pngWithData(headerBody(64, 64, 8, 0), new Uint8Array(8)), { maxPixels: 4095 })).toThrow(
      /64x64 is 4096 pixels, above the limit of 4095/,
    );
    // Raised, the limit lets it through to the image data, which fails as damage, not as size.
    expect(() => decodePng(pngWithData(headerBody(64, 64, 8, 0), new Uint8Array(8)), { maxPixels: 4096 })).toThrow(/\((damaged|truncated) PNG: /);
    expect(() => decodePng(huge, { maxPixels: 0 })).toThrow(/maxPixels must be a positive integer, got 0/);
  });

  it('reports an image no buffer can hold as out of memory, not as a damaged file', () => {
    // 70000 x 70000 RGBA at 16 bits is 39 GB: above the largest buffer, with the limit raised for it.
    const huge = pngWithData(headerBody(70000, 70000, 16, 6), new Uint8Array(8));
    const error = (() => {
      try {
        decodePng(huge, { file: 'slide.png', maxPixels: 2 ** 40 });
      } catch (caught) {
        return caught as ImageDecodeError;
      }
    })();
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect(error!.problem).toBe('out-of-memory');
    expect(error!.isFileFault).toBe(false);
    expect(error!.message).toMatch(/^slide\.png: cannot decode image \(out of memory for PNG: not enough memory to decode 70000x70000/);
  });

  it('decodes into one buffer the size of the image: no copies of the pixels', () => {
    for (const [colorType, depth] of [
      [0, 8],
      [0, 16],
      [4, 8],
      [4, 16],
      [6, 16],
    ] as const) {
      const [width, height] = [300, 200];
      const channels = STORED_CHANNELS[colorType]!;
      const samples = randomSamples(width * height * channels, depth, 7);
      const image = decodePng(encodePng({ width, height, colorType, depth, samples, filter: 'cycle' }))!;
      const filteredBytes = (width * channels * (depth / 8) + 1) * height;
      // The pixels are a view of the buffer zlib inflated into (one byte over the filtered size), not a new array.
      expect(image.data.buffer.byteLength, `colour type ${colorType}, ${depth} bits`).toBeLessThanOrEqual(filteredBytes + 1);
      const kept = colorType === 4 ? 1 : channels;
      expect(Array.from(image.data.subarray(0, 6)), `colour type ${colorType}, ${depth} bits`).toEqual(
        Array.from({ length: 6 }, (_, index) => samples[Math.floor(index / kept) * channels + (index % kept)]),
      );
    }
  });
});
