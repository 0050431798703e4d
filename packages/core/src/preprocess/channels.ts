import type { RawImage } from '@medssl/spec';

import { checkRawImage } from './image.js';

/**
 * Drops the alpha channel of an RGBA image, like Pillow's `convert('RGB')`: colours are kept as they
 * are, not composited on a background. Grey and RGB images come back unchanged (the same object).
 */
export function dropAlpha(image: RawImage): RawImage {
  checkRawImage(image);
  if (image.channels !== 4) return image;
  const pixelCount = image.width * image.height;
  const source = image.data;
  const data = source.BYTES_PER_ELEMENT === 1 ? new Uint8Array(pixelCount * 3) : new Uint16Array(pixelCount * 3);
  for (let pixel = 0; pixel < pixelCount; pixel++) {
    data[pixel * 3] = source[pixel * 4]!;
    data[pixel * 3 + 1] = source[pixel * 4 + 1]!;
    data[pixel * 3 + 2] = source[pixel * 4 + 2]!;
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

/**
 * Three-channel version of an image, like Pillow's `convert('RGB')`: grey replicated to red, green and
 * blue, alpha dropped. RGB images come back unchanged (the same object).
 */
export function toRgb(image: RawImage): RawImage {
  const withoutAlpha = dropAlpha(image);
  if (withoutAlpha.channels === 3) return withoutAlpha;
  const pixelCount = image.width * image.height;
  const source = withoutAlpha.data;
  const data = source.BYTES_PER_ELEMENT === 1 ? new Uint8Array(pixelCount * 3) : new Uint16Array(pixelCount * 3);
  for (let pixel = 0; pixel < pixelCount; pixel++) {
    const grey = source[pixel]!;
    data[pixel * 3] = grey;
    data[pixel * 3 + 1] = grey;
    data[pixel * 3 + 2] = grey;
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}
