import { deflateSync } from 'node:zlib';

/**
 * A little-endian baseline TIFF written by hand, laid out as scanners and Pillow write it: header, then the IFD,
 * then the strips, so that a file cut short keeps a readable header and loses pixel data (libvips writes its
 * IFD last, where a cut loses the header instead). Strips uncompressed or deflated (compression 8, zlib).
 */
export function encodeTiff(options: {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
  rowsPerStrip: number;
  compression: 'none' | 'deflate';
}): Buffer {
  const { width, height, channels, pixels, rowsPerStrip } = options;
  const strips: Buffer[] = [];
  for (let row = 0; row < height; row += rowsPerStrip) {
    const raw = pixels.subarray(row * width * channels, Math.min(height, row + rowsPerStrip) * width * channels);
    strips.push(options.compression === 'deflate' ? deflateSync(raw) : Buffer.from(raw));
  }
  const entries: [tag: number, type: 3 | 4, values: number[]][] = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, new Array(channels).fill(8)],
    [259, 3, [options.compression === 'deflate' ? 8 : 1]],
    [262, 3, [channels === 1 ? 1 : 2]],
    [273, 4, strips.map(() => 0)], // strip offsets, filled in below
    [277, 3, [channels]],
    [278, 4, [rowsPerStrip]],
    [279, 4, strips.map((strip) => strip.length)],
    [284, 3, [1]],
  ];
  const ifdBytes = 2 + entries.length * 12 + 4;
  // Values longer than 4 bytes follow the IFD; then the strips.
  let extra = 8 + ifdBytes;
  const extraAt = entries.map(([, type, values]) => {
    const bytes = values.length * (type === 3 ? 2 : 4);
    if (bytes <= 4) return -1;
    const at = extra;
    extra += bytes;
    return at;
  });
  let stripAt = extra;
  entries[5]![2] = strips.map((strip) => {
    const at = stripAt;
    stripAt += strip.length;
    return at;
  });
  const file = Buffer.alloc(stripAt);
  file.write('II', 0, 'latin1');
  file.writeUInt16LE(42, 2);
  file.writeUInt32LE(8, 4);
  file.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, values], index) => {
    const at = 10 + index * 12;
    file.writeUInt16LE(tag, at);
    file.writeUInt16LE(type, at + 2);
    file.writeUInt32LE(values.length, at + 4);
    const target = extraAt[index]! >= 0 ? extraAt[index]! : at + 8;
    if (extraAt[index]! >= 0) file.writeUInt32LE(target, at + 8);
    values.forEach((value, position) => {
      if (type === 3) file.writeUInt16LE(value, target + position * 2);
      else file.writeUInt32LE(value, target + position * 4);
    });
  });
  file.writeUInt32LE(0, 10 + entries.length * 12);
  strips.forEach((strip, index) => strip.copy(file, entries[5]![2][index]!));
  return file;
}
