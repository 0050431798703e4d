import { readFile } from 'node:fs/promises';
import type { RawImage } from '@medssl/spec';
import { decodePng, isPng } from './png.js';

type Sharp = typeof import('sharp')['default'];

let sharpModule: Promise<Sharp> | undefined;

/** sharp is loaded on first use, so the rest of `@medssl/core/node` works where it is not installed. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (module) => module.default,
    (error: Error) => {
      sharpModule = undefined;
      throw new Error(`decoding images needs the "sharp" package (npm install sharp): ${error.message}`);
    },
  );
  return sharpModule;
}

/**
 * Decodes PNG, JPEG, TIFF (and the other formats libvips reads) to interleaved pixels, keeping 16-bit
 * depth (common in X-rays). Grey+alpha becomes grey; palette images become RGB(A); CMYK becomes sRGB.
 * A truncated or corrupt file is an error naming it. The common PNGs are decoded by `decodePng` on the
 * calling thread (the same values, half the CPU time); the rest go through sharp.
 */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<RawImage> {
  if (isPng(bytes)) {
    let image: RawImage | undefined;
    try {
      image = decodePng(bytes);
    } catch (error) {
      throw new Error(`${name}: cannot decode image (${(error as Error).message})`);
    }
    if (image !== undefined) return image;
  }
  return decodeWithSharp(bytes, name);
}

/** `decodeImage` through libvips only, for every format it reads. */
export async function decodeWithSharp(bytes: Uint8Array, name: string): Promise<RawImage> {
  const sharp = await loadSharp();
  try {
    const input = sharp(bytes, { failOn: 'truncated', limitInputPixels: 1 << 28 });
    const metadata = await input.metadata();
    const sixteenBit = ['ushort', 'short', 'uint', 'int'].includes(metadata.depth ?? '');
    const grey = metadata.channels === 1 || metadata.channels === 2;
    let pipeline = input;
    if (metadata.channels === 2) pipeline = pipeline.removeAlpha();
    // libvips otherwise converts to its default 8-bit sRGB interpretation on raw output.
    if (sixteenBit) pipeline = pipeline.toColourspace(grey ? 'grey16' : 'rgb16');
    else if (grey) pipeline = pipeline.toColourspace('b-w');
    else if (metadata.space === 'cmyk') pipeline = pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: sixteenBit ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const channels = info.channels;
    if (channels !== 1 && channels !== 3 && channels !== 4) {
      throw new Error(`decoded to ${channels} channels, expected 1, 3 or 4`);
    }
    const pixels = sixteenBit
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = info.width * info.height * channels;
    if (pixels.length !== expected) throw new Error(`decoded ${pixels.length} values, expected ${expected}`);
    return { data: pixels, width: info.width, height: info.height, channels };
  } catch (error) {
    throw new Error(`${name}: cannot decode image (${(error as Error).message.trim()})`);
  }
}

/** Reads an image file's bytes (a sample's `encoded()`); errors name the path. */
export async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read image file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Reads and decodes an image file; errors name the path. */
export async function decodeImageFile(path: string): Promise<RawImage> {
  return decodeImage(await readImageFile(path), path);
}
