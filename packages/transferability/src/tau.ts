/**
 * Weighted Kendall's tau (Vigna, WWW 2015) as the transferability papers report it and as
 * `scipy.stats.weightedtau(x, y)` computes it by default: each pair (i, j) weighs 1/(ρᵢ + 1) + 1/(ρⱼ + 1)
 * (hyperbolic, additive) with ρ the 0-based rank in decreasing lexicographic order of (x, y),
 *
 *   τ = Σ_{i<j} w sgn(xᵢ − xⱼ) sgn(yᵢ − yⱼ) / √(Σ_{i<j} w [xᵢ ≠ xⱼ] · Σ_{i<j} w [yᵢ ≠ yⱼ]),
 *
 * averaged with the same taken with ρ from (y, x). Agreement at the top of either ranking counts most.
 * O(n²): meant for rankings of backbones, not of samples.
 */
export function weightedKendallTau(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`weightedKendallTau: x has ${x.length} values, y ${y.length}`);
  if (x.length < 2) throw new RangeError(`weightedKendallTau: needs at least two values, got ${x.length}`);
  for (const [name, values] of [
    ['x', x],
    ['y', y],
  ] as const) {
    const index = values.findIndex((value) => !Number.isFinite(value));
    if (index >= 0) throw new RangeError(`weightedKendallTau: ${name}[${index}] is ${values[index]}, not a finite number`);
  }
  return (rankedTau(x, y, ranksBy(x, y)) + rankedTau(x, y, ranksBy(y, x))) / 2;
}

/** 0-based ranks in decreasing lexicographic order of (primary, secondary); full ties by index. */
function ranksBy(primary: readonly number[], secondary: readonly number[]): number[] {
  const order = primary.map((_, index) => index);
  order.sort((a, b) => primary[b]! - primary[a]! || secondary[b]! - secondary[a]! || a - b);
  const ranks = new Array<number>(primary.length);
  order.forEach((index, rank) => {
    ranks[index] = rank;
  });
  return ranks;
}

function rankedTau(x: readonly number[], y: readonly number[], ranks: readonly number[]): number {
  let concordance = 0;
  let xNorm = 0;
  let yNorm = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const weight = 1 / (ranks[i]! + 1) + 1 / (ranks[j]! + 1);
      const xSign = Math.sign(x[i]! - x[j]!);
      const ySign = Math.sign(y[i]! - y[j]!);
      concordance += weight * xSign * ySign;
      if (xSign !== 0) xNorm += weight;
      if (ySign !== 0) yNorm += weight;
    }
  }
  if (xNorm === 0 || yNorm === 0) return Number.NaN;
  return concordance / Math.sqrt(xNorm * yNorm);
}
