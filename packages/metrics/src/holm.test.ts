import { describe, expect, it } from 'vitest';
import { delongDocument } from './__fixtures__/fixtures.js';
import { holmAdjust } from './holm.js';

describe('holmAdjust against R p.adjust(method = "holm")', () => {
  const { holm } = delongDocument();

  it.each(holm.map(({ pValues, adjusted }) => [pValues.join(', '), pValues, adjusted] as const))('%s', (_name, pValues, adjusted) => {
    const actual = holmAdjust(pValues);
    expect(actual).toHaveLength(adjusted.length);
    actual.forEach((value, index) => {
      expect(Math.abs(value - adjusted[index]!)).toBeLessThanOrEqual(1e-12 * Math.max(adjusted[index]!, 1e-300));
    });
  });
});

describe('holmAdjust', () => {
  it('is step-down, monotone in the raw order, never below the raw value, and capped at 1', () => {
    const pValues = [0.04, 0.001, 0.03, 0.2, 0.03, 0.6];
    const adjusted = holmAdjust(pValues);
    // Sorted: 0.001·6, 0.03·5, 0.03·4 → 0.15 (running maximum), 0.04·3 → 0.15, 0.2·2, 0.6·1.
    [0.15, 0.006, 0.15, 0.4, 0.15, 0.6].forEach((expected, index) => expect(adjusted[index]).toBeCloseTo(expected, 15));
    const order = pValues.map((_, index) => index).sort((left, right) => pValues[left]! - pValues[right]!);
    for (let rank = 1; rank < order.length; rank++) expect(adjusted[order[rank]!]).toBeGreaterThanOrEqual(adjusted[order[rank - 1]!]!);
    pValues.forEach((value, index) => expect(adjusted[index]).toBeGreaterThanOrEqual(value));
    expect(Array.from(holmAdjust([0.5, 0.9, 0.7]))).toEqual([1, 1, 1]);
    expect(Array.from(holmAdjust([0.03]))).toEqual([0.03]);
  });

  it('refuses an empty list and values that are not p-values, naming the index', () => {
    expect(() => holmAdjust([])).toThrow(/pValues is empty/);
    expect(() => holmAdjust([0.1, Number.NaN])).toThrow(/pValues\[1\] is NaN; expected a p-value in \[0, 1\]/);
    expect(() => holmAdjust([0.1, 0.2, 1.5])).toThrow(/pValues\[2\] is 1.5/);
    expect(() => holmAdjust([-0.1])).toThrow(/pValues\[0\] is -0.1/);
  });
});
