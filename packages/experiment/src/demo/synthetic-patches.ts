import { createRng, type Rng } from '@medssl/core';
import type { RawImage } from '@medssl/spec';

/**
 * The demo's data set, generated here so that `pnpm demo` needs no download and copies no real data:
 * stained-tissue-like RGB patches in the spirit of PatchCamelyon. Pink stroma with purple nuclei; a
 * "tumour" patch has a cluster of larger, darker, crowded nuclei somewhere in it, a "normal" patch has
 * nuclei scattered at random and, a third of the time, a tight cluster of small nuclei (lymphocytes). The
 * classes overlap on purpose (crowding and size vary in both), so the
 * task is neither trivial nor hopeless and a metric-vs-label-fraction curve has somewhere to go.
 *
 * These images illustrate the pipeline; they say nothing about real pathology.
 */
export const SYNTHETIC_CLASSES = ['normal', 'tumour'] as const;

export interface SyntheticPatchOptions {
  readonly size?: number;
  readonly seed: number;
}

/** One patch of class 0 (normal) or 1 (tumour), the same pixels for the same seed and label. */
export function syntheticPatch(label: 0 | 1, options: SyntheticPatchOptions): RawImage {
  const size = options.size ?? 64;
  const rng = createRng(options.seed);
  const stroma = smoothField(size, rng.fork('stroma'), 8);
  const fibres = smoothField(size, rng.fork('fibres'), 3);
  // Nuclear density (haematoxylin, purple) and its darkness, accumulated from discs.
  const nuclei = new Float32Array(size * size);
  const placement = rng.fork('nuclei');
  const scattered = 10 + placement.int(20);
  for (let index = 0; index < scattered; index++) {
    stampNucleus(nuclei, size, placement.next() * size, placement.next() * size, 1.3 + placement.next() * 1.6, 0.55 + 0.35 * placement.next());
  }
  // Normal tissue has clusters too (lymphocytes: small, dark, tight), so "a cluster" alone does not tell
  // the classes apart; tumour clusters are looser and made of larger nuclei, and some are small.
  const cluster =
    label === 1
      ? { count: 6 + placement.int(14), radius: 2, spread: 0.1 }
      : placement.next() < 0.35
        ? { count: 5 + placement.int(10), radius: 1.1, spread: 0.06 }
        : undefined;
  if (cluster) {
    const centerX = size * (0.2 + 0.6 * placement.next());
    const centerY = size * (0.2 + 0.6 * placement.next());
    const spread = size * (cluster.spread + 0.08 * placement.next());
    for (let index = 0; index < cluster.count; index++) {
      stampNucleus(
        nuclei,
        size,
        centerX + placement.normal() * spread,
        centerY + placement.normal() * spread,
        cluster.radius + placement.next() * 1.8,
        0.65 + 0.3 * placement.next(),
      );
    }
  }
  const noise = rng.fork('sensor');
  const data = new Uint8Array(size * size * 3);
  for (let pixel = 0; pixel < size * size; pixel++) {
    const eosin = 0.55 + 0.3 * stroma[pixel]! + 0.15 * fibres[pixel]!;
    const haematoxylin = Math.min(1, nuclei[pixel]!);
    // Pink stroma (eosin) blended towards dark purple where there are nuclei, plus sensor noise.
    const red = 235 - 40 * eosin - 150 * haematoxylin;
    const green = 200 - 95 * eosin - 120 * haematoxylin;
    const blue = 225 - 30 * eosin - 60 * haematoxylin;
    data[pixel * 3] = clampByte(red + noise.normal() * 6);
    data[pixel * 3 + 1] = clampByte(green + noise.normal() * 6);
    data[pixel * 3 + 2] = clampByte(blue + noise.normal() * 6);
  }
  return { data, width: size, height: size, channels: 3 };
}

export interface SyntheticSplitSizes {
  readonly train: number;
  readonly val: number;
  readonly test: number;
}

export interface SyntheticSample {
  readonly split: keyof SyntheticSplitSizes;
  readonly label: 0 | 1;
  readonly name: string;
  readonly seed: number;
}

/** The samples of each split (balanced classes), each with its own seed derived from `seed`. */
export function syntheticSamples(sizes: SyntheticSplitSizes, seed: number): SyntheticSample[] {
  const rng = createRng(seed);
  const samples: SyntheticSample[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    for (let index = 0; index < sizes[split]; index++) {
      const label = (index % 2) as 0 | 1;
      samples.push({ split, label, name: `${split}-${String(index).padStart(5, '0')}`, seed: rng.nextUint32() });
    }
  }
  return samples;
}

function stampNucleus(density: Float32Array, size: number, centerX: number, centerY: number, radius: number, darkness: number): void {
  const reach = Math.ceil(radius + 1);
  for (let y = Math.max(0, Math.floor(centerY - reach)); y <= Math.min(size - 1, Math.ceil(centerY + reach)); y++) {
    for (let x = Math.max(0, Math.floor(centerX - reach)); x <= Math.min(size - 1, Math.ceil(centerX + reach)); x++) {
      const distance = Math.hypot(x + 0.5 - centerX, y + 0.5 - centerY);
      // A soft edge one pixel wide, so nuclei are round at this small size.
      const coverage = Math.min(1, Math.max(0, radius + 0.5 - distance));
      density[y * size + x] = Math.max(density[y * size + x]!, coverage * darkness);
    }
  }
}

/** Smooth noise in [0, 1]: random values on a coarse grid, bilinearly interpolated. */
function smoothField(size: number, rng: Rng, cells: number): Float32Array {
  const grid = new Float32Array((cells + 1) * (cells + 1));
  for (let index = 0; index < grid.length; index++) grid[index] = rng.next();
  const field = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const gridY = (y / size) * cells;
    const row = Math.floor(gridY);
    const fy = gridY - row;
    for (let x = 0; x < size; x++) {
      const gridX = (x / size) * cells;
      const column = Math.floor(gridX);
      const fx = gridX - column;
      const at = (r: number, c: number) => grid[r * (cells + 1) + c]!;
      const top = at(row, column) * (1 - fx) + at(row, column + 1) * fx;
      const bottom = at(row + 1, column) * (1 - fx) + at(row + 1, column + 1) * fx;
      field[y * size + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return field;
}

function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}
