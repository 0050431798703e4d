// Image decoding in the page: the browser's own decoders, read back as RGB bytes through a canvas.
import type { RawImage } from '@medssl/spec';
import type { ImageFile } from '../src/labels.js';

/**
 * Decodes a PNG, JPEG, WebP, GIF or BMP file to RGB pixels. Colour-space conversion and alpha
 * premultiplication are off, so the pixels are the file's own (for PCam's JPEGs, byte for byte what
 * libjpeg-turbo gives in Node). Alpha is dropped, as Pillow's `convert('RGB')` does.
 */
export async function decodeImageBlob(blob: Blob, name: string): Promise<RawImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (error) {
    throw new Error(`${name}: the browser cannot decode this image (${(error as Error).message})`, { cause: error });
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (context === null) throw new Error('this browser gives no 2D canvas to read pixels from');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let pixel = 0, source = 0; pixel < rgb.length; pixel += 3, source += 4) {
    rgb[pixel] = rgba[source]!;
    rgb[pixel + 1] = rgba[source + 1]!;
    rgb[pixel + 2] = rgba[source + 2]!;
  }
  return { data: rgb, width, height, channels: 3 };
}

/** File extensions the page treats as images when a folder is chosen. */
const IMAGE_EXTENSION = /\.(png|jpe?g|webp|gif|bmp)$/i;

/** The images of a chosen folder, keyed by their path inside it. */
export function imageFilesOfFolder(files: Iterable<File>, pathOf: (file: File) => string): Map<string, ImageFile> {
  const images = new Map<string, ImageFile>();
  for (const file of files) {
    if (!IMAGE_EXTENSION.test(file.name)) continue;
    const path = pathOf(file);
    images.set(path, { path, decode: () => decodeImageBlob(file, path) });
  }
  return images;
}
