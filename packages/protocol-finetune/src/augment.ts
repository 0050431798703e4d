import { bitDepthOf, checkRawImage, preprocessedShape, preprocessInto, roundHalfToEven, validatePreprocessing, type Rng } from '@medssl/core';
import type { Modality, Preprocessing, RawImage } from '@medssl/spec';
import type { ImageLayout } from '@medssl/training';

export type { Modality };

// What the images show (a dataset's `modality`) decides which augmentations make sense: pathology patches
// and fundus photographs have no canonical orientation, so any flip or quarter turn gives a valid image; a
// chest X-ray has an up and a down (only small rotations, no vertical flips); `natural` keeps to crops and
// horizontal flips.

export const MODALITIES: readonly Modality[] = ['pathology', 'fundus', 'chest-xray', 'natural'];

/** What each modality draws, besides the random resized crop and the horizontal flip every one gets. */
export interface AugmentationPolicy {
  readonly verticalFlip: boolean;
  /** Rotations by 0, 90, 180 or 270 degrees, each equally likely. */
  readonly quarterTurns: boolean;
  /** Rotation by an angle drawn uniformly from [-this, this] degrees (0: none). */
  readonly maximumRotationDegrees: number;
}

export const AUGMENTATION_POLICIES: Readonly<Record<Modality, AugmentationPolicy>> = {
  pathology: { verticalFlip: true, quarterTurns: true, maximumRotationDegrees: 0 },
  fundus: { verticalFlip: true, quarterTurns: true, maximumRotationDegrees: 0 },
  'chest-xray': { verticalFlip: false, quarterTurns: false, maximumRotationDegrees: 10 },
  natural: { verticalFlip: false, quarterTurns: false, maximumRotationDegrees: 0 },
};

export function checkModality(modality: unknown): asserts modality is Modality {
  if (!MODALITIES.includes(modality as Modality)) {
    throw new RangeError(`modality must be one of ${MODALITIES.join(', ')}, got ${JSON.stringify(modality)}`);
  }
}

/** torchvision's `RandomResizedCrop` ranges: the crop's share of the image area, and its width / height. */
export interface CropRanges {
  readonly scale: readonly [minimum: number, maximum: number];
  readonly ratio: readonly [minimum: number, maximum: number];
}

/**
 * Default crop ranges: torchvision's aspect ratios, and at least a quarter of the image (torchvision's
 * 8 % is made for ImageNet objects; a small patch cut to 8 % and enlarged loses the cell structure).
 */
export const DEFAULT_CROP_RANGES: CropRanges = { scale: [0.25, 1], ratio: [3 / 4, 4 / 3] };

/** One image's draw: the crop box in source pixels, then flips and rotations of the resized crop. */
export interface Augmentation {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
  readonly horizontalFlip: boolean;
  readonly verticalFlip: boolean;
  /** Counter-clockwise quarter turns, 0 to 3. */
  readonly quarterTurns: number;
  readonly rotationDegrees: number;
}

export function checkCropRanges(ranges: CropRanges): void {
  const [smallest, largest] = ranges.scale;
  if (!(smallest > 0 && smallest <= largest && largest <= 1)) {
    throw new RangeError(`crop scale must satisfy 0 < minimum <= maximum <= 1, got [${ranges.scale.join(', ')}]`);
  }
  const [narrowest, widest] = ranges.ratio;
  if (!(narrowest > 0 && narrowest <= widest && Number.isFinite(widest))) {
    throw new RangeError(`crop ratio must satisfy 0 < minimum <= maximum, got [${ranges.ratio.join(', ')}]`);
  }
}

/**
 * Draws one image's augmentation: the crop box as torchvision's `RandomResizedCrop.get_params` draws it
 * (ten tries at an area share and a log-uniform aspect ratio, else the largest centred box within the
 * ratios), then a horizontal flip (p = 0.5), and what the policy adds. The number of draws depends only
 * on the values drawn, so one stream gives the same augmentations on every run.
 */
export function drawAugmentation(
  rng: Rng,
  image: { readonly height: number; readonly width: number },
  output: { readonly height: number; readonly width: number },
  policy: AugmentationPolicy,
  ranges: CropRanges = DEFAULT_CROP_RANGES,
): Augmentation {
  const box = drawCropBox(rng, image, ranges);
  const horizontalFlip = rng.next() < 0.5;
  const verticalFlip = policy.verticalFlip ? rng.next() < 0.5 : false;
  // Odd quarter turns swap height and width: only a square output can take them.
  let quarterTurns = 0;
  if (policy.quarterTurns) quarterTurns = output.height === output.width ? rng.int(4) : 2 * rng.int(2);
  const rotationDegrees = policy.maximumRotationDegrees > 0 ? (2 * rng.next() - 1) * policy.maximumRotationDegrees : 0;
  return { ...box, horizontalFlip, verticalFlip, quarterTurns, rotationDegrees };
}

function drawCropBox(rng: Rng, image: { readonly height: number; readonly width: number }, ranges: CropRanges) {
  const { height, width } = image;
  const area = height * width;
  const logRatio = [Math.log(ranges.ratio[0]), Math.log(ranges.ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (ranges.scale[0] + rng.next() * (ranges.scale[1] - ranges.scale[0]));
    const aspectRatio = Math.exp(logRatio[0] + rng.next() * (logRatio[1] - logRatio[0]));
    const boxWidth = roundHalfToEven(Math.sqrt(targetArea * aspectRatio));
    const boxHeight = roundHalfToEven(Math.sqrt(targetArea / aspectRatio));
    if (boxWidth > 0 && boxWidth <= width && boxHeight > 0 && boxHeight <= height) {
      return { top: rng.int(height - boxHeight + 1), left: rng.int(width - boxWidth + 1), height: boxHeight, width: boxWidth };
    }
  }
  const imageRatio = width / height;
  let boxWidth = width;
  let boxHeight = height;
  if (imageRatio < ranges.ratio[0]) boxHeight = roundHalfToEven(width / ranges.ratio[0]);
  else if (imageRatio > ranges.ratio[1]) boxWidth = roundHalfToEven(height * ranges.ratio[1]);
  return { top: Math.floor((height - boxHeight) / 2), left: Math.floor((width - boxWidth) / 2), height: boxHeight, width: boxWidth };
}

/** The fixed `[height, width]` every image of a batch gets: the centre crop, or an exact resize. */
export function inputSize(preprocessing: Preprocessing): { height: number; width: number } {
  validatePreprocessing(preprocessing);
  const crop = preprocessing.centerCrop;
  if (crop !== undefined) return typeof crop === 'number' ? { height: crop, width: crop } : { height: crop[0], width: crop[1] };
  const size = preprocessing.resize?.size;
  if (size !== undefined && typeof size !== 'number') return { height: size[0], width: size[1] };
  throw new RangeError('finetuning needs one input size for every image: give the preprocessing a centre crop or an exact [height, width] resize');
}

/**
 * Writes one evaluation image (the backbone's resize and centre crop) at `index` of a batch buffer in
 * `layout`. `scratch` holds at least 3·H·W values.
 */
export function writeEvaluationImage(
  image: RawImage,
  preprocessing: Preprocessing,
  batch: Float32Array,
  index: number,
  layout: ImageLayout,
  scratch: Float32Array,
  name = 'image',
): void {
  const size = inputSize(preprocessing);
  let height: number;
  let width: number;
  try {
    [, height, width] = preprocessedShape(image, preprocessing);
  } catch (error) {
    throw new RangeError(`${name} (${image.width}x${image.height}): ${(error as Error).message}`, { cause: error });
  }
  if (height !== size.height || width !== size.width) {
    throw new RangeError(`${name}: a ${image.width}x${image.height} image preprocesses to ${width}x${height}, the batch takes ${size.width}x${size.height}`);
  }
  preprocessInto(image, preprocessing, scratch, 0);
  copyPlanes(scratch, height, width, batch, index, layout, identityTransform, undefined);
}

/**
 * Writes one training image at `index` of a batch buffer: the augmentation's box cut from the raw image
 * and resized to the input size (with the preprocessing's filter, scaling and normalisation), then
 * flipped and rotated. Pixels a small rotation brings in from outside are black (after normalisation).
 */
export function writeAugmentedImage(
  image: RawImage,
  augmentation: Augmentation,
  preprocessing: Preprocessing,
  batch: Float32Array,
  index: number,
  layout: ImageLayout,
  scratch: Float32Array,
): void {
  const size = inputSize(preprocessing);
  const region = cropRegion(image, augmentation);
  const resizeToInput: Preprocessing = {
    resize: { size: [size.height, size.width], interpolation: preprocessing.resize?.interpolation ?? 'bilinear' },
    ...(preprocessing.normalize ? { normalize: preprocessing.normalize } : {}),
    channels: 3,
  };
  preprocessInto(region, resizeToInput, scratch, 0);
  const fill = preprocessing.normalize ? preprocessing.normalize.mean.map((mean, channel) => -mean / preprocessing.normalize!.std[channel]!) : [0, 0, 0];
  copyPlanes(scratch, size.height, size.width, batch, index, layout, transformOf(augmentation, size), fill);
}

/** The box of a raw image (8- or 16-bit, any channel count), as a raw image. */
export function cropRegion(image: RawImage, box: { readonly top: number; readonly left: number; readonly height: number; readonly width: number }): RawImage {
  checkRawImage(image);
  const { top, left, height, width } = box;
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > image.height || left + width > image.width) {
    throw new RangeError(`crop box ${width}x${height} at (${left}, ${top}) is not inside the ${image.width}x${image.height} image`);
  }
  const { channels } = image;
  const rowLength = width * channels;
  const data = bitDepthOf(image) === 8 ? new Uint8Array(height * rowLength) : new Uint16Array(height * rowLength);
  for (let row = 0; row < height; row++) {
    const start = ((top + row) * image.width + left) * channels;
    data.set(image.data.subarray(start, start + rowLength), row * rowLength);
  }
  return { data, width, height, channels };
}

/** Where an output pixel reads from: `[a, b, c, d]` maps centred (x, y) to centred (a·x + b·y, c·x + d·y). */
type Transform = readonly [number, number, number, number];

const identityTransform: Transform = [1, 0, 0, 1];

function transformOf(augmentation: Augmentation, size: { height: number; width: number }): Transform {
  // Built from the output back to the source: undo the rotation, then the quarter turns, then the flips.
  const radians = (augmentation.rotationDegrees * Math.PI) / 180;
  const cosine = Math.cos(radians);
  const sine = Math.sin(radians);
  let matrix: [number, number, number, number] = augmentation.rotationDegrees === 0 ? [1, 0, 0, 1] : [cosine, -sine, sine, cosine];
  for (let turn = 0; turn < augmentation.quarterTurns; turn++) {
    // A counter-clockwise quarter turn puts source (x, y) at (y, -x) (numpy's rot90), so output (x, y)
    // reads source (-y, x).
    const [a, b, c, d] = matrix;
    matrix = [-c, -d, a, b];
  }
  if (augmentation.verticalFlip) matrix = [matrix[0], matrix[1], -matrix[2], -matrix[3]];
  if (augmentation.horizontalFlip) matrix = [-matrix[0], -matrix[1], matrix[2], matrix[3]];
  if (augmentation.quarterTurns % 2 === 1 && size.height !== size.width) {
    throw new RangeError(`an odd number of quarter turns needs a square input, got ${size.width}x${size.height}`);
  }
  return matrix;
}

/**
 * Copies `[3, H, W]` planes into image `index` of a batch in `layout`, each output pixel read from the
 * source position the transform gives: exactly for flips and quarter turns, bilinearly otherwise.
 */
function copyPlanes(
  source: Float32Array,
  height: number,
  width: number,
  batch: Float32Array,
  index: number,
  layout: ImageLayout,
  transform: Transform,
  fill: readonly number[] | undefined,
): void {
  const plane = height * width;
  const offset = index * 3 * plane;
  if (batch.length < offset + 3 * plane) throw new RangeError(`batch buffer holds ${batch.length} values; image ${index} needs ${offset + 3 * plane}`);
  const [a, b, c, d] = transform;
  const exact = [a, b, c, d].every((value) => Number.isInteger(value));
  const centerX = (width - 1) / 2;
  const centerY = (height - 1) / 2;
  for (let y = 0; y < height; y++) {
    const outY = y - centerY;
    for (let x = 0; x < width; x++) {
      const outX = x - centerX;
      const sourceX = a * outX + b * outY + centerX;
      const sourceY = c * outX + d * outY + centerY;
      const pixel = y * width + x;
      for (let channel = 0; channel < 3; channel++) {
        let value: number;
        if (exact) value = source[channel * plane + Math.round(sourceY) * width + Math.round(sourceX)]!;
        else value = bilinear(source, channel * plane, height, width, sourceX, sourceY, fill?.[channel] ?? 0);
        batch[layout === 'NCHW' ? offset + channel * plane + pixel : offset + pixel * 3 + channel] = value;
      }
    }
  }
}

function bilinear(source: Float32Array, planeStart: number, height: number, width: number, x: number, y: number, fill: number): number {
  const left = Math.floor(x);
  const top = Math.floor(y);
  const across = x - left;
  const down = y - top;
  const at = (row: number, column: number): number =>
    row < 0 || row >= height || column < 0 || column >= width ? fill : source[planeStart + row * width + column]!;
  return (1 - down) * ((1 - across) * at(top, left) + across * at(top, left + 1)) + down * ((1 - across) * at(top + 1, left) + across * at(top + 1, left + 1));
}
