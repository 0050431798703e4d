import { describe, expect, it } from 'vitest';
import { delongDocument } from './__fixtures__/fixtures.js';
import { erfc, normalCdf, normalQuantile, twoSidedNormalPValue } from './normal.js';

describe('the normal distribution against R', () => {
  const { normal } = delongDocument();

  it.each(normal.twoSided.map(({ z, pValue }) => [z, pValue] as const))('2 * pnorm(-abs(%s))', (z, pValue) => {
    // Relative accuracy holds into the far tail, where p-values of strong differences lie.
    expect(Math.abs(twoSidedNormalPValue(z) - pValue)).toBeLessThanOrEqual(1e-12 * pValue);
    expect(Math.abs(twoSidedNormalPValue(-z) - pValue)).toBeLessThanOrEqual(1e-12 * pValue);
  });

  it.each(normal.quantiles.map(({ p, quantile }) => [p, quantile] as const))('qnorm(%s)', (p, quantile) => {
    expect(Math.abs(normalQuantile(p) - quantile)).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(quantile), 1e-300));
  });

  it('inverts: Φ(Φ⁻¹(p)) = p, and erfc is 2 − erfc(−x)', () => {
    for (const p of [1e-12, 0.001, 0.2, 0.5, 0.7, 0.999]) expect(Math.abs(normalCdf(normalQuantile(p)) - p)).toBeLessThanOrEqual(1e-13 * p);
    for (const x of [0.1, 1, 1.99, 2, 2.01, 5]) expect(erfc(-x)).toBeCloseTo(2 - erfc(x), 15);
    expect(erfc(0)).toBe(1);
    expect(erfc(Number.POSITIVE_INFINITY)).toBe(0);
    expect(erfc(Number.NEGATIVE_INFINITY)).toBe(2);
    expect(twoSidedNormalPValue(Number.POSITIVE_INFINITY)).toBe(0);
  });

  it('refuses a probability outside (0, 1)', () => {
    expect(() => normalQuantile(0)).toThrow(/p must lie strictly between 0 and 1, got 0/);
    expect(() => normalQuantile(1)).toThrow(/got 1/);
    expect(() => normalQuantile(Number.NaN)).toThrow(/got NaN/);
  });
});
