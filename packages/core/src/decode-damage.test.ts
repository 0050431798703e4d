// Damaged images, made in the test from intact ones: each must decode to the intact image's pixels (damage
// that changes no pixel) or throw an ImageDecodeError naming the file, its format and what is wrong. Formats
// without a checksum over their pixels (JPEG, uncompressed TIFF) cannot tell a changed pixel byte from a
// real one: those flips are asserted to decode to an image of the right size, and named here as the limit.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RawImage } from '@medssl/spec';
import { decodeImage, decodeWithSharp } from './decode.js';
import { ImageDecodeError } from './image-errors.js';
import { encodePng } from './__fixtures__/png.js';
import { encodeTiff } from './__fixtures__/tiff.js';
import { mutateBytes, mutationCount, seededRandom } from '@medssl/test-data';

const [width, height] = [48, 40];
const pixels = Uint8Array.from({ length: width * height * 3 }, (_, index) => (index * 7 + (index >> 5) * 13) & 255);

type Outcome = { kind: 'same' } | { kind: 'different'; image: RawImage } | { kind: 'error'; error: ImageDecodeError };

async function outcome(decode: () => Promise<RawImage>, intact: RawImage): Promise<Outcome> {
  let image: RawImage;
  try {
    image = await decode();
  } catch (error) {
    // Anything but the typed error fails the test here.
    if (!(error instanceof ImageDecodeError)) throw new Error(`not an ImageDecodeError: ${(error as Error).message}`, { cause: error });
    return { kind: 'error', error };
  }
  const same = image.width === intact.width && image.height === intact.height && Buffer.from(image.data).equals(Buffer.from(intact.data));
  return same ? { kind: 'same' } : { kind: 'different', image };
}

function flipped(bytes: Uint8Array, position: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[position]! ^= 0xff;
  return copy;
}

/** Cut points: 10 %, 50 %, 90 %, and the last 1, 4 and 12 bytes lost. */
function cuts(length: number): number[] {
  return [Math.floor(length * 0.1), Math.floor(length * 0.5), Math.floor(length * 0.9), length - 12, length - 4, length - 1];
}

function expectNamed(result: Outcome, file: string, format: string): asserts result is Extract<Outcome, { kind: 'error' }> {
  expect(result.kind, `${file}: ${result.kind === 'different' ? 'decoded to other pixels' : result.kind}`).toBe('error');
  const { error } = result as Extract<Outcome, { kind: 'error' }>;
  expect(error.file).toBe(file);
  expect(error.format).toBe(format);
  expect(error.message.startsWith(`${file}: cannot decode image (`)).toBe(true);
  expect(error.message).toMatch(new RegExp(`\\((truncated|damaged|unsupported|too large) ${format.toUpperCase()}: .+\\)$`, 's'));
  expect(error.message).not.toMatch(/undefined/);
}

describe('damaged images', () => {
  it('TIFF cut short (header and IFD first, as scanners write it) is an error at every cut, never a black image', async () => {
    for (const compression of ['none', 'deflate'] as const) {
      const tiff = encodeTiff({ width, height, channels: 3, pixels, rowsPerStrip: 8, compression });
      const intact = await decodeImage(tiff, 'slide.tif');
      expect(Buffer.from(intact.data).equals(Buffer.from(pixels))).toBe(true);
      for (const cut of cuts(tiff.length)) {
        const result = await outcome(() => decodeImage(tiff.subarray(0, cut), 'slide.tif'), intact);
        expectNamed(result, 'slide.tif', 'tiff');
        expect(result.error.problem, `${compression}, cut at ${cut}`).toBe('truncated');
        expect(result.error.message).toMatch(/got \d+ bytes, expected \d+/);
      }
    }
  });

  it('TIFF with a flipped byte: header and IFD damage throws or changes no pixel; deflated strips mostly throw', async () => {
    for (const compression of ['none', 'deflate'] as const) {
      const tiff = encodeTiff({ width, height, channels: 3, pixels, rowsPerStrip: 8, compression });
      const intact = await decodeImage(tiff, 'slide.tif');
      const { firstStrip, offsetsAt } = stripLayout(tiff);
      let errors = 0;
      for (let position = 0; position < firstStrip; position++) {
        const result = await outcome(() => decodeImage(flipped(tiff, position), 'slide.tif'), intact);
        if (result.kind === 'error') errors++;
        // Uncompressed, a strip offset moved to other bytes of the file reads them as pixels: nothing can tell.
        const inStripOffsets = position >= offsetsAt && position < offsetsAt + 4 * 5;
        if (compression === 'none' && inStripOffsets) continue;
        expect(result.kind, `${compression}: byte ${position} of the header or IFD flipped`).not.toBe('different');
      }
      expect(errors).toBeGreaterThan(firstStrip / 2);
      // In the strips: zlib checks deflated data (libtiff stops before the Adler-32 of a strip, so not all of it).
      let stripErrors = 0;
      const stripPositions = Array.from({ length: 40 }, (_, index) => firstStrip + Math.floor(((tiff.length - firstStrip) * index) / 40));
      for (const position of stripPositions) {
        const result = await outcome(() => decodeImage(flipped(tiff, position), 'slide.tif'), intact);
        if (result.kind === 'error') stripErrors++;
        else expect(result.kind === 'different' ? result.image.data.length : intact.data.length).toBe(intact.data.length);
      }
      if (compression === 'deflate') expect(stripErrors).toBeGreaterThanOrEqual(30);
      else expect(stripErrors).toBe(0); // uncompressed pixels carry no check: the limit of the format
    }
  });

  it('PNG through the JavaScript decoder: every cut and every flipped byte throws', async () => {
    const png = encodePng({ width, height, colorType: 2, depth: 8, samples: pixels, filter: 'cycle' });
    const intact = await decodeImage(png, 'fundus.png');
    for (let cut = 0; cut < png.length; cut += cut < 64 ? 1 : 7) {
      const result = await outcome(() => decodeImage(png.subarray(0, cut), 'fundus.png'), intact);
      expect(result.kind, `cut at ${cut}`).toBe('error');
    }
    for (const cut of cuts(png.length)) expectNamed(await outcome(() => decodeImage(png.subarray(0, cut), 'fundus.png'), intact), 'fundus.png', 'png');
    for (let position = 8; position < png.length; position++) {
      expectNamed(await outcome(() => decodeImage(flipped(png, position), 'fundus.png'), intact), 'fundus.png', 'png');
    }
    // The signature flipped: no longer a PNG, nor any format read here.
    const unsigned = await outcome(() => decodeImage(flipped(png, 1), 'fundus.png'), intact);
    expect(unsigned.kind === 'error' && unsigned.error.problem).toBe('unsupported');
  });

  it('PNG through libvips: every flip throws but in IEND, which holds no pixel; cuts into IEND decode whole', async () => {
    const png = encodePng({ width, height, colorType: 2, depth: 8, samples: pixels, filter: 'cycle' });
    const intact = await decodeWithSharp(png, 'fundus.png');
    const iend = png.length - 12;
    for (let position = 8; position < png.length; position += position < iend ? 3 : 1) {
      const result = await outcome(() => decodeWithSharp(flipped(png, position), 'fundus.png'), intact);
      if (position >= iend) expect(result.kind, `byte ${position} (IEND) flipped`).not.toBe('different');
      else expectNamed(result, 'fundus.png', 'png');
    }
    for (const cut of cuts(png.length)) {
      const result = await outcome(() => decodeWithSharp(png.subarray(0, cut), 'fundus.png'), intact);
      if (cut >= iend) expect(result.kind, `cut at ${cut}, in IEND`).toBe('same');
      else expectNamed(result, 'fundus.png', 'png');
    }
  });

  it('JPEG cut short throws at every cut; a flipped byte throws or decodes to an image of the same size (JPEG has no checksum over its pixels)', async () => {
    const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    const intact = await decodeImage(jpeg, 'eye.jpg');
    for (const cut of cuts(jpeg.length)) {
      const result = await outcome(() => decodeImage(jpeg.subarray(0, cut), 'eye.jpg'), intact);
      expectNamed(result, 'eye.jpg', 'jpeg');
      expect(result.error.problem).toBe('truncated');
    }
    const kinds = { same: 0, different: 0, error: 0 };
    for (let position = 2; position < jpeg.length; position += 13) {
      const result = await outcome(() => decodeImage(flipped(jpeg, position), 'eye.jpg'), intact);
      kinds[result.kind]++;
      if (result.kind === 'different') expect([result.image.width, result.image.height, result.image.data.length]).toEqual([width, height, intact.data.length]);
      if (result.kind === 'error') expect(result.error.file).toBe('eye.jpg');
    }
    expect(kinds.error).toBeGreaterThan(0);
  });

  // The same seeded mutator as the checkpoint and array readers' tests: 100 per format in `pnpm test`,
  // MEDSSL_MUTATIONS for a long run. Every mutation decodes or throws the typed error (outcome() fails on
  // anything else); PNG's checksums leave no mutation that changes pixels silently.
  const mutations = mutationCount(100);
  it.each([
    ['fundus.png', 'png', 'javascript', 31],
    ['fundus.png', 'png', 'libvips', 32],
    ['slide.tif', 'tiff', 'libvips', 33],
    ['eye.jpg', 'jpeg', 'libvips', 34],
  ] as const)(`%s (%s) through %s: ${mutations} seeded mutations each decode or throw the typed error`, async (file, format, decoder, seed) => {
    const original =
      format === 'png'
        ? encodePng({ width, height, colorType: 2, depth: 8, samples: pixels, filter: 'cycle' })
        : format === 'tiff'
          ? encodeTiff({ width, height, channels: 3, pixels, rowsPerStrip: 8, compression: 'deflate' })
          : new Uint8Array(
              await sharp(pixels, { raw: { width, height, channels: 3 } })
                .jpeg({ quality: 90 })
                .toBuffer(),
            );
    const decode = (bytes: Uint8Array) => (decoder === 'javascript' ? decodeImage(bytes, file) : decodeWithSharp(bytes, file));
    const intact = await decode(original);
    const random = seededRandom(seed);
    for (let trial = 0; trial < mutations; trial++) {
      const bytes = mutateBytes(original, random, [0x00, 0xff, 0x49, 0x44, 0x41, 0x54, 0xd8, 0xd9]);
      const started = performance.now();
      const result = await outcome(() => decode(bytes), intact);
      expect(performance.now() - started, `${file}, mutation ${trial}`).toBeLessThan(1000);
      if (format === 'png') expect(result.kind, `${file}, mutation ${trial}`).not.toBe('different');
      if (result.kind === 'error') expect(result.error.file).toBe(file);
    }
  });

  it('a file that is no image is unsupported; an empty file too', async () => {
    const text = new TextEncoder().encode('id,label\n1,0\n');
    await expect(decodeImage(text, 'labels.csv')).rejects.toMatchObject({ name: 'ImageDecodeError', problem: 'unsupported', format: 'unknown' });
    await expect(decodeImage(new Uint8Array(0), 'empty.png')).rejects.toThrow(/^empty\.png: cannot decode image \(unsupported file: the file is empty\)$/);
  });
});

/** Where the first strip starts, and where the StripOffsets values (tag 273, one LONG per strip, after the IFD here) lie. */
function stripLayout(tiff: Buffer): { firstStrip: number; offsetsAt: number } {
  const entries = tiff.readUInt16LE(8);
  for (let index = 0; index < entries; index++) {
    const at = 10 + index * 12;
    if (tiff.readUInt16LE(at) !== 273) continue;
    const offsetsAt = tiff.readUInt32LE(at + 8);
    return { firstStrip: tiff.readUInt32LE(offsetsAt), offsetsAt };
  }
  throw new Error('no StripOffsets tag');
}
