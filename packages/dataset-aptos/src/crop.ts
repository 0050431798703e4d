import { checkRawImage } from '@medssl/core';
import type { RawImage } from '@medssl/spec';

export interface BlackBorderOptions {
  /** A pixel is bright when its grey intensity is above this, on the 0..255 scale; default 7. */
  readonly threshold?: number;
  /**
   * A row (column) belongs to the fundus when at least this share of its pixels is bright; default 0.01.
   * Above one pixel, so that specks of JPEG noise in the border do not stretch the box.
   */
  readonly minimumBrightFraction?: number;
}

export const DEFAULT_BLACK_BORDER: Required<BlackBorderOptions> = { threshold: 7, minimumBrightFraction: 0.01 };

export function checkBlackBorderOptions(options: BlackBorderOptions): Required<BlackBorderOptions> {
  const threshold = options.threshold ?? DEFAULT_BLACK_BORDER.threshold;
  const minimumBrightFraction = options.minimumBrightFraction ?? DEFAULT_BLACK_BORDER.minimumBrightFraction;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0 || threshold >= 255) {
    throw new RangeError(`cropBlackBorder.threshold must be a number in [0, 255), got ${String(threshold)}`);
  }
  if (typeof minimumBrightFraction !== 'number' || !(minimumBrightFraction >= 0 && minimumBrightFraction <= 1)) {
    throw new RangeError(`cropBlackBorder.minimumBrightFraction must be a number in [0, 1], got ${String(minimumBrightFraction)}`);
  }
  return { threshold, minimumBrightFraction };
}

/** Integer luma weights (ITU-R BT.601, as OpenCV's RGB-to-grey), scaled by 1000. */
const RED = 299;
const GREEN = 587;
const BLUE = 114;

/**
 * Crops a fundus photograph to the bounding box of its bright rows and columns: grey intensity (BT.601
 * luma of R, G, B; alpha ignored) above `threshold`, in at least `minimumBrightFraction` of the row's or
 * column's pixels (and at least one). 16-bit images scale the threshold by 257. An image with no bright
 * row or column is returned whole: cropping it to nothing would only hide the problem.
 */
export function cropBlackBorder(image: RawImage, options: BlackBorderOptions = {}): RawImage {
  checkRawImage(image);
  const { threshold, minimumBrightFraction } = checkBlackBorderOptions(options);
  const { width, height, channels, data } = image;
  const scaledThreshold = (data.BYTES_PER_ELEMENT === 2 ? threshold * 257 : threshold) * 1000;
  const brightInRow = new Int32Array(height);
  const brightInColumn = new Int32Array(width);
  for (let row = 0; row < height; row++) {
    let offset = row * width * channels;
    for (let column = 0; column < width; column++, offset += channels) {
      const grey = channels === 1 ? data[offset]! * 1000 : RED * data[offset]! + GREEN * data[offset + 1]! + BLUE * data[offset + 2]!;
      if (grey > scaledThreshold) {
        brightInRow[row]!++;
        brightInColumn[column]!++;
      }
    }
  }
  const rowMinimum = Math.max(1, Math.ceil(minimumBrightFraction * width));
  const columnMinimum = Math.max(1, Math.ceil(minimumBrightFraction * height));
  const top = brightInRow.findIndex((count) => count >= rowMinimum);
  const bottom = brightInRow.findLastIndex((count) => count >= rowMinimum);
  const left = brightInColumn.findIndex((count) => count >= columnMinimum);
  const right = brightInColumn.findLastIndex((count) => count >= columnMinimum);
  if (top < 0 || left < 0) return image;
  if (top === 0 && left === 0 && bottom === height - 1 && right === width - 1) return image;

  const croppedWidth = right - left + 1;
  const croppedHeight = bottom - top + 1;
  const rowLength = croppedWidth * channels;
  const cropped = data.BYTES_PER_ELEMENT === 1 ? new Uint8Array(croppedHeight * rowLength) : new Uint16Array(croppedHeight * rowLength);
  for (let row = 0; row < croppedHeight; row++) {
    const start = ((top + row) * width + left) * channels;
    cropped.set(data.subarray(start, start + rowLength), row * rowLength);
  }
  return { data: cropped, width: croppedWidth, height: croppedHeight, channels };
}

/** How the crop appears in the dataset version: preprocessing inside decode() changes feature-cache keys. */
export function describeBlackBorder(options: Required<BlackBorderOptions> | undefined): string {
  return options === undefined ? 'crop=none' : `crop=black-border(grey>${options.threshold},share>=${options.minimumBrightFraction})`;
}
