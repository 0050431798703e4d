// APTOS decoding and the black-border crop, against references measured in the same run on the same data:
//  - decode: all 1,600 RetinaMNIST images laid out as APTOS (28x28 PNG) through sample.decode(), plain and
//    with cropBlackBorder, against Pillow + numpy (np.asarray(Image.open(path))) on the same files.
//  - crop: cropBlackBorder on a synthetic fundus the size of a typical APTOS photograph (2416x1736 RGB, a
//    bright disc on black), against the same rule in numpy (BT.601 grey > 7, rows and columns with at
//    least 1 % bright pixels, bounding box) on the same bytes.
// Rounds alternate medssl and the reference (Debian's /usr/bin/python3), so that load from other work on
// the machine hits both alike. Prints medians and ratios; never quote one absolute time.
//
//   pnpm exec tsx --conditions=@medssl/source bench/dataset-aptos.ts
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpzFile } from '@medssl/arrays/node';
import { aptos, cropBlackBorder } from '@medssl/dataset-aptos';

// sharp is a dependency of the dataset package, not of the bench: load it from there, to encode the PNGs.
type PngEncoder = (
  input: Uint8Array,
  options: { raw: { width: number; height: number; channels: 3 } },
) => { png(): { toFile(path: string): Promise<unknown> } };
const sharp = createRequire(join(import.meta.dirname, '../packages/dataset-aptos/package.json'))('sharp') as PngEncoder;

const retinaPath = join(import.meta.dirname, '../../shared/data/medmnist/retinamnist.npz');
const python = '/usr/bin/python3';
const ROUNDS = 7;
const FUNDUS = { width: 2416, height: 1736 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function syntheticFundus(): Uint8Array {
  const { width, height } = FUNDUS;
  const pixels = new Uint8Array(width * height * 3);
  const radius = height * 0.55; // the disc is cut at top and bottom, as in many APTOS photographs
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const distance = Math.hypot(row - height / 2, column - width / 2);
      const offset = (row * width + column) * 3;
      if (distance < radius) {
        pixels[offset] = 120 + ((row + column) & 63);
        pixels[offset + 1] = 60 + (row & 31);
        pixels[offset + 2] = 20;
      } else {
        pixels[offset] = (row * 7 + column) % 5; // dark noise in the border
      }
    }
  }
  return pixels;
}

function referenceScript(folder: string): string {
  return `
import json, time
result = {}
try:
    import numpy as np
    from PIL import Image
except ImportError:
    print(json.dumps(result)); raise SystemExit
paths = open(${JSON.stringify(join(folder, 'paths.txt'))}).read().splitlines()
def crop(image):
    grey = image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114
    bright = grey > 7
    rows = np.flatnonzero(bright.sum(1) >= max(1, int(np.ceil(0.01 * image.shape[1]))))
    columns = np.flatnonzero(bright.sum(0) >= max(1, int(np.ceil(0.01 * image.shape[0]))))
    if rows.size == 0 or columns.size == 0: return image
    return image[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1].copy()
started = time.perf_counter()
for path in paths:
    with Image.open(path) as picture: np.asarray(picture)
result["decode_ms"] = (time.perf_counter() - started) * 1000
started = time.perf_counter()
for path in paths:
    with Image.open(path) as picture: crop(np.asarray(picture))
result["decode_crop_ms"] = (time.perf_counter() - started) * 1000
fundus = np.fromfile(${JSON.stringify(join(folder, 'fundus.rgb'))}, dtype=np.uint8).reshape(${FUNDUS.height}, ${FUNDUS.width}, 3)
started = time.perf_counter()
cropped = crop(fundus)
result["crop_ms"] = (time.perf_counter() - started) * 1000
result["crop_shape"] = list(cropped.shape)
print(json.dumps(result))
`;
}

if (!existsSync(retinaPath)) {
  console.log(`no ${retinaPath}: nothing to measure`);
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'medssl-bench-aptos-'));
try {
  const arrays = await readNpzFile(retinaPath);
  mkdirSync(join(root, 'train_images'));
  const lines = ['id_code,diagnosis'];
  const paths: string[] = [];
  for (const part of ['train', 'val', 'test']) {
    const images = arrays.get(`${part}_images`)!;
    const labels = arrays.get(`${part}_labels`)!;
    for (let index = 0; index < images.shape[0]!; index++) {
      const id = `retina_${String(paths.length + 1).padStart(4, '0')}`;
      const path = join(root, 'train_images', `${id}.png`);
      const raw = (images.data as Uint8Array).subarray(index * 28 * 28 * 3, (index + 1) * 28 * 28 * 3);
      await sharp(raw, { raw: { width: 28, height: 28, channels: 3 } })
        .png()
        .toFile(path);
      lines.push(`${id},${Number(labels.data[index])}`);
      paths.push(path);
    }
  }
  writeFileSync(join(root, 'train.csv'), `${lines.join('\n')}\n`);
  writeFileSync(join(root, 'paths.txt'), paths.join('\n'));
  const fundus = syntheticFundus();
  writeFileSync(join(root, 'fundus.rgb'), fundus);
  const fundusImage = { data: fundus, width: FUNDUS.width, height: FUNDUS.height, channels: 3 as const };

  const plain = await aptos({ root });
  const cropping = await aptos({ root, cropBlackBorder: true });
  const decodeAll = async (dataset: typeof plain) => {
    const started = performance.now();
    for (const split of dataset.splits) for await (const item of dataset.samples(split)) await item.decode();
    return performance.now() - started;
  };
  await decodeAll(plain); // warm-up
  cropBlackBorder(fundusImage);
  const havePython = existsSync(python);
  if (!havePython) console.log(`no ${python}: references not measured`);

  const ours = { decode: [] as number[], decodeCrop: [] as number[], crop: [] as number[] };
  const reference = { decode: [] as number[], decodeCrop: [] as number[], crop: [] as number[] };
  let ourShape: number[] = [];
  let referenceShape: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.decode.push(await decodeAll(plain));
    ours.decodeCrop.push(await decodeAll(cropping));
    const started = performance.now();
    const cropped = cropBlackBorder(fundusImage);
    ours.crop.push(performance.now() - started);
    ourShape = [cropped.height, cropped.width, cropped.channels];
    if (!havePython) continue;
    try {
      const measured = JSON.parse(execFileSync(python, ['-c', referenceScript(root)], { encoding: 'utf8' })) as Record<string, number | number[]>;
      if (measured.decode_ms === undefined) continue;
      reference.decode.push(measured.decode_ms as number);
      reference.decodeCrop.push(measured.decode_crop_ms as number);
      reference.crop.push(measured.crop_ms as number);
      referenceShape = measured.crop_shape as number[];
    } catch (error) {
      console.log(`reference not measured: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  console.log(
    `medssl decode: median ${median(ours.decode).toFixed(0)} ms for ${paths.length} images; with cropBlackBorder ${median(ours.decodeCrop).toFixed(0)} ms`,
  );
  console.log(`medssl cropBlackBorder on ${FUNDUS.width}x${FUNDUS.height} RGB: median ${median(ours.crop).toFixed(1)} ms, crops to ${ourShape.join('x')}`);
  if (reference.decode.length === 0) {
    if (havePython) console.log('references not measured: no Pillow or numpy for /usr/bin/python3');
  } else {
    console.log(`Pillow + numpy decode: median ${median(reference.decode).toFixed(0)} ms; with the numpy crop ${median(reference.decodeCrop).toFixed(0)} ms`);
    console.log(`numpy crop on the same fundus: median ${median(reference.crop).toFixed(1)} ms, crops to ${referenceShape.join('x')}`);
    console.log(`ratio (decode): medssl takes ${(median(ours.decode) / median(reference.decode)).toFixed(2)}x the time of Pillow`);
    console.log(`ratio (decode + crop): medssl takes ${(median(ours.decodeCrop) / median(reference.decodeCrop)).toFixed(2)}x the time of Pillow + numpy`);
    console.log(`ratio (crop alone): medssl takes ${(median(ours.crop) / median(reference.crop)).toFixed(2)}x the time of numpy`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
