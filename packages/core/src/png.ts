import { crc32, inflateSync } from 'node:zlib';
import type { RawImage } from '@medssl/spec';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Colour types by PNG number: channels per pixel as stored. */
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Whether the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((byte, index) => bytes[index] === byte);
}

/**
 * Decodes the common PNGs (non-interlaced grey, grey+alpha, RGB and RGBA at 8 or 16 bits, as chest X-rays and
 * fundus photographs are stored) on this thread with Node's zlib: about half the CPU time of going through
 * libvips for a 1024x1024 grey image. The result is what `decodeImage` returns through sharp, value for value:
 * grey+alpha becomes grey, RGBA keeps its alpha, 16-bit samples stay 16-bit.
 *
 * Returns undefined for the PNGs it leaves to libvips: interlaced, palette, fewer than 8 bits, a transparency
 * chunk (libvips adds an alpha channel) or an embedded colour profile. Every chunk's CRC is checked; a
 * damaged or truncated file is an error.
 */
export function decodePng(bytes: Uint8Array): RawImage | undefined {
  if (!isPng(bytes)) throw new Error('not a PNG file (no PNG signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  const data: Uint8Array[] = [];
  let dataBytes = 0;
  let ended = false;
  for (let position = 8; !ended; ) {
    if (position + 12 > bytes.length) throw new Error(`truncated PNG: the chunk at byte ${position} is cut off (the file has ${bytes.length} bytes)`);
    const length = view.getUint32(position);
    const type = String.fromCharCode(bytes[position + 4]!, bytes[position + 5]!, bytes[position + 6]!, bytes[position + 7]!);
    const end = position + 8 + length;
    if (end + 4 > bytes.length) throw new Error(`truncated PNG: chunk ${type} at byte ${position} needs ${length} bytes, the file ends first`);
    const stored = view.getUint32(end);
    const computed = crc32(bytes.subarray(position + 4, end));
    if (stored !== computed) throw new Error(`damaged PNG: chunk ${type} at byte ${position} fails its CRC (stored ${hex(stored)}, computed ${hex(computed)})`);
    const body = bytes.subarray(position + 8, end);
    if (position === 8 && type !== 'IHDR') throw new Error(`invalid PNG: the first chunk is ${type}, expected IHDR`);
    switch (type) {
      case 'IHDR': {
        if (length !== 13) throw new Error(`invalid PNG: IHDR holds ${length} bytes, expected 13`);
        width = view.getUint32(position + 8);
        height = view.getUint32(position + 12);
        depth = body[8]!;
        colorType = body[9]!;
        const interlace = body[12]!;
        if (width === 0 || height === 0) throw new Error(`invalid PNG: size ${width}x${height}`);
        if (body[10] !== 0 || body[11] !== 0) throw new Error('invalid PNG: unknown compression or filter method');
        if (interlace !== 0 || (depth !== 8 && depth !== 16) || CHANNELS[colorType] === undefined) return undefined;
        if (width * height > 1 << 28) return undefined;
        break;
      }
      case 'IDAT':
        data.push(body);
        dataBytes += length;
        break;
      case 'tRNS':
      case 'iCCP':
        return undefined;
      case 'IEND':
        ended = true;
        break;
      default:
        // Ancillary chunks (text, time, gamma, physical size) change no stored value; an unknown critical one does.
        if ((bytes[position + 4]! & 0x20) === 0) return undefined;
    }
    position = end + 4;
  }
  if (data.length === 0) throw new Error('invalid PNG: no image data (IDAT)');

  const stored = CHANNELS[colorType]!;
  const sampleBytes = depth / 8;
  const pixelBytes = stored * sampleBytes;
  const rowBytes = width * pixelBytes;
  const expected = (rowBytes + 1) * height;
  let filtered: Uint8Array;
  try {
    // Bounded, so that a small file cannot inflate without limit.
    filtered = inflateSync(data.length === 1 ? data[0]! : concatenate(data, dataBytes), { maxOutputLength: expected + 65536 });
  } catch (error) {
    throw new Error(`damaged PNG: its image data does not inflate (${(error as Error).message})`);
  }
  if (filtered.length < expected) {
    throw new Error(`truncated PNG: the image data holds ${filtered.length} bytes, ${width}x${height} needs ${expected}`);
  }
  const raw = unfilter(filtered, height, rowBytes, pixelBytes);

  // Grey+alpha loses its alpha; every other colour type keeps its channels.
  const channels = (colorType === 4 ? 1 : stored) as RawImage['channels'];
  const values = width * height * channels;
  if (sampleBytes === 1) {
    if (colorType !== 4) return { data: raw, width, height, channels };
    const grey = new Uint8Array(values);
    for (let index = 0; index < values; index++) grey[index] = raw[index * 2]!;
    return { data: grey, width, height, channels };
  }
  // 16-bit samples are big-endian.
  const samples = new Uint16Array(values);
  const step = colorType === 4 ? 4 : 2;
  for (let index = 0, offset = 0; index < values; index++, offset += step) samples[index] = (raw[offset]! << 8) | raw[offset + 1]!;
  return { data: samples, width, height, channels };
}

/**
 * Reverses the PNG row filters (none, sub, up, average, Paeth) into the bare samples, rows back to back; the
 * first row reads a row of zeros above it. Indexes into both buffers directly (no per-row views); one-byte
 * pixels (8-bit grey) carry their left neighbour in a local, and Paeth chooses its predictor without branches:
 * on noisy images the branches are unpredictable and made it several times slower than the other filters.
 */
function unfilter(filtered: Uint8Array, height: number, rowBytes: number, pixelBytes: number): Uint8Array {
  const out = new Uint8Array(rowBytes * height);
  for (let row = 0; row < height; row++) {
    const start = row * rowBytes;
    const end = start + rowBytes;
    // filtered[index + shift] is the filtered byte of out[index]; each row is preceded by its filter type.
    const shift = row + 1;
    const filter = filtered[start + row]!;
    if (filter > 4) throw new Error(`damaged PNG: row ${row} has filter type ${filter}, expected 0 to 4`);
    if (filter === 0) out.set(filtered.subarray(start + shift, end + shift), start);
    else if (row === 0) unfilterFirstRow(filtered, shift, out, end, pixelBytes, filter);
    else if (filter === 1) unfilterSub(filtered, shift, out, start, end, pixelBytes);
    else if (filter === 2) for (let index = start; index < end; index++) out[index] = filtered[index + shift]! + out[index - rowBytes]!;
    else if (filter === 3) unfilterAverage(filtered, shift, out, start, end, pixelBytes, rowBytes);
    else unfilterPaeth(filtered, shift, out, start, end, pixelBytes, rowBytes);
  }
  return out;
}

/** The first row, with zeros above it: up adds nothing, average halves the left neighbour, Paeth predicts the left one (as sub). */
function unfilterFirstRow(filtered: Uint8Array, shift: number, out: Uint8Array, end: number, pixelBytes: number, filter: number): void {
  if (filter === 2) out.set(filtered.subarray(shift, end + shift), 0);
  else if (filter === 3)
    for (let index = 0; index < end; index++) out[index] = filtered[index + shift]! + (index < pixelBytes ? 0 : out[index - pixelBytes]! >> 1);
  else unfilterSub(filtered, shift, out, 0, end, pixelBytes);
}

function unfilterSub(filtered: Uint8Array, shift: number, out: Uint8Array, start: number, end: number, pixelBytes: number): void {
  const first = start + pixelBytes;
  for (let index = start; index < first; index++) out[index] = filtered[index + shift]!;
  if (pixelBytes === 1) {
    let left = out[start]!;
    for (let index = first; index < end; index++) {
      left = (filtered[index + shift]! + left) & 255;
      out[index] = left;
    }
  } else {
    for (let index = first; index < end; index++) out[index] = filtered[index + shift]! + out[index - pixelBytes]!;
  }
}

function unfilterAverage(filtered: Uint8Array, shift: number, out: Uint8Array, start: number, end: number, pixelBytes: number, rowBytes: number): void {
  const first = start + pixelBytes;
  for (let index = start; index < first; index++) out[index] = filtered[index + shift]! + (out[index - rowBytes]! >> 1);
  if (pixelBytes === 1) {
    let left = out[start]!;
    for (let index = first; index < end; index++) {
      left = (filtered[index + shift]! + ((left + out[index - rowBytes]!) >> 1)) & 255;
      out[index] = left;
    }
  } else {
    for (let index = first; index < end; index++) out[index] = filtered[index + shift]! + ((out[index - pixelBytes]! + out[index - rowBytes]!) >> 1);
  }
}

/**
 * Paeth: of left (a), up (b) and up-left (c), the one closest to a + b - c; ties go to a, then b. The distances
 * |b - c|, |a - c| and |a + b - 2c| and the choice are computed with sign masks (all values are within +-510).
 */
function unfilterPaeth(filtered: Uint8Array, shift: number, out: Uint8Array, start: number, end: number, pixelBytes: number, rowBytes: number): void {
  const first = start + pixelBytes;
  // The first pixel has no left or up-left neighbour: Paeth predicts up.
  for (let index = start; index < first; index++) out[index] = filtered[index + shift]! + out[index - rowBytes]!;
  let left = out[start]!;
  let upLeft = out[start - rowBytes]!;
  for (let index = first; index < end; index++) {
    const a = pixelBytes === 1 ? left : out[index - pixelBytes]!;
    const b = out[index - rowBytes]!;
    const c = pixelBytes === 1 ? upLeft : out[index - rowBytes - pixelBytes]!;
    const towardsA = b - c;
    const towardsB = a - c;
    const towardsC = towardsA + towardsB;
    const signA = towardsA >> 31;
    const signB = towardsB >> 31;
    const signC = towardsC >> 31;
    const distanceA = (towardsA ^ signA) - signA;
    const distanceB = (towardsB ^ signB) - signB;
    const distanceC = (towardsC ^ signC) - signC;
    // All ones where a loses (to b or to c), and where c beats b.
    const notA = ((distanceB - distanceA) | (distanceC - distanceA)) >> 31;
    const cOverB = (distanceC - distanceB) >> 31;
    const bOrC = b ^ ((b ^ c) & cOverB);
    left = (filtered[index + shift]! + (a ^ ((a ^ bOrC) & notA))) & 255;
    out[index] = left;
    upLeft = b;
  }
}

function concatenate(parts: readonly Uint8Array[], length: number): Uint8Array {
  const whole = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
