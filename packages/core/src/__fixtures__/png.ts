import { crc32, deflateSync } from 'node:zlib';

export const COLOR_TYPES = { grey: 0, rgb: 2, greyAlpha: 4, rgba: 6 } as const;
export const STORED_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * A PNG written by hand from the specification (independent of both decoders): every row with the given
 * filter (or filters cycling 0..4), the image data split over several IDAT chunks, extra chunks as given.
 */
export function encodePng(options: {
  width: number;
  height: number;
  colorType: number;
  depth: 8 | 16;
  samples: Uint16Array | Uint8Array;
  filter: number | 'cycle';
  extra?: [string, Uint8Array][];
  interlace?: boolean;
}): Buffer {
  const { width, height, colorType, depth, samples } = options;
  const channels = STORED_CHANNELS[colorType]!;
  const pixelBytes = (channels * depth) / 8;
  const rowBytes = width * pixelBytes;
  const raw = new Uint8Array(rowBytes * height);
  for (let index = 0; index < width * height * channels; index++) {
    if (depth === 8) raw[index] = samples[index]!;
    else {
      raw[index * 2] = samples[index]! >> 8;
      raw[index * 2 + 1] = samples[index]! & 255;
    }
  }
  const filtered = Buffer.alloc((rowBytes + 1) * height);
  for (let row = 0; row < height; row++) {
    const filter = options.filter === 'cycle' ? row % 5 : options.filter;
    filtered[row * (rowBytes + 1)] = filter;
    for (let index = 0; index < rowBytes; index++) {
      const value = raw[row * rowBytes + index]!;
      const left = index >= pixelBytes ? raw[row * rowBytes + index - pixelBytes]! : 0;
      const up = row > 0 ? raw[(row - 1) * rowBytes + index]! : 0;
      const upLeft = row > 0 && index >= pixelBytes ? raw[(row - 1) * rowBytes + index - pixelBytes]! : 0;
      const paeth = () => {
        const estimate = left + up - upLeft;
        const [a, b, c] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
        return a <= b && a <= c ? left : b <= c ? up : upLeft;
      };
      const predicted = [0, left, up, Math.floor((left + up) / 2), paeth()][filter]!;
      filtered[row * (rowBytes + 1) + 1 + index] = (value - predicted) & 255;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([depth, colorType, 0, 0, options.interlace ? 1 : 0], 8);
  const compressed = deflateSync(filtered);
  const third = Math.ceil(compressed.length / 3);
  const parts = [0, 1, 2].map((part) => chunk('IDAT', compressed.subarray(part * third, (part + 1) * third)));
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    ...(options.extra ?? []).map(([type, body]) => chunk(type, body)),
    ...parts,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One chunk: length, type, body and a correct CRC (so that damage placed in the body passes the CRC check). */
export function chunk(type: string, body: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(body.length, 0);
  header.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), body])), 0);
  return Buffer.concat([header, body, crc]);
}

/** An IHDR body: size, depth and colour type, no interlace. */
export function headerBody(width: number, height: number, depth: number, colorType: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([depth, colorType, 0, 0, 0], 8);
  return header;
}

/** A PNG of the given IHDR and one IDAT body, every CRC correct. */
export function pngWithData(header: Uint8Array, data: Uint8Array): Buffer {
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', data), chunk('IEND', new Uint8Array(0))]);
}
