import type { Interpolation } from '@medssl/spec';

/**
 * Bits after the binary point of Pillow's 8-bit fixed-point weights: 32 bits, less 8 for the pixel value,
 * less 2 of headroom for bicubic's overshoot (weights whose positive part sums above 1).
 */
export const PRECISION_BITS = 22;
const FIXED_POINT_ONE = 1 << PRECISION_BITS;

/** The weights that resample one axis from `inputSize` to `outputSize` samples, as Pillow computes them. */
export interface AxisCoefficients {
  readonly inputSize: number;
  readonly outputSize: number;
  /** Weights per output slot in `weights`: the most taps any output reads. */
  readonly kernelSize: number;
  /** First input sample that each output reads. */
  readonly firstTap: Int32Array;
  /** Number of consecutive input samples that each output reads, from `firstTap` on. */
  readonly tapCount: Int32Array;
  /** `outputSize * kernelSize` weights, normalised to sum to 1 per output (double precision). */
  readonly weights: Float64Array;
  /** The same weights rounded to fixed point with `PRECISION_BITS` fraction bits, for 8-bit images. */
  readonly fixedPointWeights: Int32Array;
}

interface ResamplingFilter {
  /** Half-width of the filter at scale 1, in input samples. */
  readonly support: number;
  readonly weight: (distance: number) => number;
}

const TRIANGLE: ResamplingFilter = {
  support: 1,
  weight(distance) {
    const x = distance < 0 ? -distance : distance;
    return x < 1 ? 1 - x : 0;
  },
};

/**
 * Keys' cubic convolution with a = -0.5. The expression keeps Pillow's grouping, since weights are
 * compared bit for bit once rounded to fixed point.
 */
const CUBIC: ResamplingFilter = {
  support: 2,
  weight(distance) {
    const a = -0.5;
    const x = distance < 0 ? -distance : distance;
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
  },
};

const FILTERS: Record<Interpolation, ResamplingFilter> = { bilinear: TRIANGLE, bicubic: CUBIC };

/**
 * Computes the resampling weights of one axis like Pillow's `precompute_coeffs`: output `i` is centred
 * on input coordinate (i + 0.5) * scale; when shrinking, the filter is stretched by the scale, which is
 * what antialiases; each output's weights are divided by their sum.
 */
export function computeAxisCoefficients(inputSize: number, outputSize: number, interpolation: Interpolation): AxisCoefficients {
  const filter = FILTERS[interpolation];
  const scale = inputSize / outputSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const inverseFilterScale = 1 / filterScale;

  const firstTap = new Int32Array(outputSize);
  const tapCount = new Int32Array(outputSize);
  const weights = new Float64Array(outputSize * kernelSize);
  const fixedPointWeights = new Int32Array(outputSize * kernelSize);

  for (let output = 0; output < outputSize; output++) {
    const center = (output + 0.5) * scale;
    // Pillow rounds the window's ends with a C cast, which truncates toward zero.
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const end = Math.min(Math.trunc(center + support + 0.5), inputSize);
    const count = end - first;
    const slot = output * kernelSize;
    let total = 0;
    for (let tap = 0; tap < count; tap++) {
      const weight = filter.weight((tap + first - center + 0.5) * inverseFilterScale);
      weights[slot + tap] = weight;
      total += weight;
    }
    for (let tap = 0; tap < count; tap++) {
      if (total !== 0) weights[slot + tap] = weights[slot + tap]! / total;
      fixedPointWeights[slot + tap] = toFixedPoint(weights[slot + tap]!);
    }
    firstTap[output] = first;
    tapCount[output] = count;
  }
  return { inputSize, outputSize, kernelSize, firstTap, tapCount, weights, fixedPointWeights };
}

/** Pillow's `normalize_coeffs_8bpc`: scale to fixed point and round half away from zero. */
function toFixedPoint(weight: number): number {
  return weight < 0 ? Math.trunc(-0.5 + weight * FIXED_POINT_ONE) : Math.trunc(0.5 + weight * FIXED_POINT_ONE);
}

// Datasets hold few distinct image sizes, so a small cache saves recomputing the tables per image.
const CACHE_CAPACITY = 64;
const cache = new Map<string, AxisCoefficients>();

/** `computeAxisCoefficients`, cached per (input size, output size, interpolation). */
export function axisCoefficients(inputSize: number, outputSize: number, interpolation: Interpolation): AxisCoefficients {
  const key = `${interpolation}:${inputSize}:${outputSize}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const computed = computeAxisCoefficients(inputSize, outputSize, interpolation);
  if (cache.size >= CACHE_CAPACITY) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, computed);
  return computed;
}
