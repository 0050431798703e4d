import { describe, expect, it } from 'vitest';
import { createRng } from '@medssl/core';
import { sortAscending } from './sort.js';

function builtInSorted<Values extends Float32Array | Float64Array>(values: Values): Values {
  return values.slice().sort() as Values;
}

describe('sortAscending', () => {
  const random = createRng(2024);
  const count = 50_000;

  function mixedValues(): Float64Array {
    const values = new Float64Array(count);
    for (let index = 0; index < count; index++) {
      const kind = random.int(6);
      values[index] =
        kind === 0
          ? random.next() * 2 - 1 // dense around 0, both signs
          : kind === 1
            ? (random.next() - 0.5) * 1e300 // huge magnitudes
            : kind === 2
              ? (random.next() - 0.5) * 1e-300 // tiny, including subnormal-scale values
              : kind === 3
                ? Math.round(random.next() * 10) / 10 // heavy ties
                : kind === 4
                  ? random.int(2) === 0
                    ? -0
                    : 0
                  : random.int(2) === 0
                    ? -Infinity
                    : Infinity;
    }
    return values;
  }

  it('sorts float64 values as the built-in sort does, signs, ties and zeros included', () => {
    const values = mixedValues();
    const expected = builtInSorted(values);
    sortAscending(values);
    expect(values).toEqual(expected);
  });

  it('sorts float32 values as the built-in sort does', () => {
    const values = Float32Array.from(mixedValues());
    const expected = builtInSorted(values);
    sortAscending(values);
    expect(values).toEqual(expected);
  });

  it('sorts a view into a larger buffer without touching the rest', () => {
    const buffer = Float64Array.from({ length: 10_000 }, (_, index) => (index * 7919) % 10_007);
    const view = buffer.subarray(1000, 9000);
    const expectedView = builtInSorted(view);
    const outside = [...buffer.subarray(0, 1000), ...buffer.subarray(9000)];
    sortAscending(view);
    expect(view).toEqual(expectedView);
    expect([...buffer.subarray(0, 1000), ...buffer.subarray(9000)]).toEqual(outside);
  });

  it('handles all-equal and short input', () => {
    const equal = new Float64Array(5000).fill(0.25);
    sortAscending(equal);
    expect(equal.every((value) => value === 0.25)).toBe(true);
    const short = Float64Array.from([3, -1, 2]);
    sortAscending(short);
    expect(Array.from(short)).toEqual([-1, 2, 3]);
  });
});
