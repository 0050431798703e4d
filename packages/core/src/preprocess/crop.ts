import type { RawImage } from '@medssl/spec';

import { checkPositiveInteger, checkRawImage, formatSize, type ImageSize } from './image.js';

/** Where a centre crop starts, in pixels from the top-left corner. */
export interface CropOffsets {
  readonly top: number;
  readonly left: number;
}

/**
 * torchvision's `CenterCrop` offsets: `round((image - crop) / 2)` on each axis, with Python's rounding
 * of halves to the even neighbour (an odd difference of 9 starts at 4, one of 3 starts at 2).
 *
 * Throws when the crop is larger than the image: torchvision would pad with zeros, which silently feeds
 * black borders to a backbone, so medssl refuses instead.
 */
export function centerCropOffsets(image: ImageSize, crop: ImageSize): CropOffsets {
  checkPositiveInteger(crop.height, 'centre crop height');
  checkPositiveInteger(crop.width, 'centre crop width');
  if (crop.height > image.height || crop.width > image.width) {
    throw new RangeError(
      `centre crop of ${formatSize(crop)} is larger than the image it crops, ${formatSize(image)}; ` +
        'torchvision would pad with zeros, medssl refuses: resize first or crop smaller',
    );
  }
  return {
    top: roundHalfToEven((image.height - crop.height) / 2),
    left: roundHalfToEven((image.width - crop.width) / 2),
  };
}

/** Crops the centre `height` x `width` pixels of an 8- or 16-bit image (offsets as `centerCropOffsets`). */
export function centerCrop(image: RawImage, height: number, width: number): RawImage {
  checkRawImage(image);
  const { top, left } = centerCropOffsets(image, { height, width });
  const { channels } = image;
  const rowLength = width * channels;
  const length = height * rowLength;
  const data = image.data.BYTES_PER_ELEMENT === 1 ? new Uint8Array(length) : new Uint16Array(length);
  for (let row = 0; row < height; row++) {
    const start = ((top + row) * image.width + left) * channels;
    data.set(image.data.subarray(start, start + rowLength), row * rowLength);
  }
  return { data, width, height, channels };
}

/** Python 3's `round`: halves go to the even neighbour. */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}
