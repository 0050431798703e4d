/**
 * The standard normal distribution, accurate to about 1e-14 relative into the far tail, where the
 * p-values of strong differences lie (2 · Φ(−37.5) is about 1e-307). JavaScript has no `erfc`; these
 * are written from the series and the continued fraction of Abramowitz & Stegun 7.1.6 and 7.1.14.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** Below this the series for erf is used, above it Laplace's continued fraction for erfc. */
const SERIES_LIMIT = 2;

/**
 * Complementary error function erfc(x) = 1 − erf(x), without the cancellation of `1 - erf(x)` for
 * large x.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x < SERIES_LIMIT) return 1 - erfSeries(x);
  return erfcContinuedFraction(x);
}

/**
 * erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (A&S 7.1.6): every term is positive, so
 * nothing cancels; for x < 2 it converges in under 60 terms.
 */
function erfSeries(x: number): number {
  const square = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * square) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-square) * sum;
}

/**
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))) (A&S 7.1.14), evaluated
 * front to back with the modified Lentz method.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let fraction = x;
  let numerator = x;
  let denominator = 0;
  for (let k = 1; k < 5000; k++) {
    const partial = k / 2;
    denominator = x + partial * denominator;
    if (denominator === 0) denominator = tiny;
    numerator = x + partial / numerator;
    if (numerator === 0) numerator = tiny;
    denominator = 1 / denominator;
    const step = numerator * denominator;
    fraction *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / fraction;
}

/** Φ(z), the standard normal distribution function. */
export function normalCdf(z: number): number {
  return erfc(-z / Math.SQRT2) / 2;
}

/** The two-sided p-value of a standard normal statistic: 2 · Φ(−|z|), as R's `2 * pnorm(-abs(z))`. */
export function twoSidedNormalPValue(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/**
 * Φ⁻¹(p), the standard normal quantile, for p in (0, 1): a start from Abramowitz & Stegun 26.2.23
 * (error below 4.5e-4), then Newton steps on Φ until they no longer change the value.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must lie strictly between 0 and 1, got ${p}`);
  if (p === 0.5) return 0;
  // Solve in the lower tail, where Φ is computed without cancellation, and mirror.
  const lowerTail = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(lowerTail));
  let x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  for (let iteration = 0; iteration < 100; iteration++) {
    const density = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    const step = (normalCdf(x) - lowerTail) / density;
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.abs(x)) break;
  }
  return p < 0.5 ? x : -x;
}
