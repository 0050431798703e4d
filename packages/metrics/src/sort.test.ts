import { describe, expect, it } from 'vitest';
import { createRng } from '@medssl/core';
import { sortAscending, sortedOrder } from './sort.js';

function builtInSorted<Values extends Float32Array | Float64Array>(values: Values): Values {
  return values.slice().sort() as Values;
}

function mixedValues(random: ReturnType<typeof createRng>, count: number): Float64Array {
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
describe('sortAscending', () => {
  const random = createRng(2024);
  const count = 50_000;
  const mixed = () => mixedValues(random, count);

  it('sorts float64 values as the built-in sort does, signs, ties and zeros included', () => {
    const values = mixed();
    const expected = builtInSorted(values);
    sortAscending(values);
    expect(values).toEqual(expected);
  });

  it('sorts float32 values as the built-in sort does', () => {
    const values = Float32Array.from(mixed());
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

describe('sortedOrder', () => {
  /** A permutation that puts `values` in the built-in sort's order, tied values in index order. */
  function expectStableAscendingOrder(values: Float32Array | Float64Array, order: Uint32Array): void {
    expect(order).toHaveLength(values.length);
    expect(new Set(order).size).toBe(values.length);
    expect(Float64Array.from(order, (index) => values[index]!)).toEqual(Float64Array.from(builtInSorted(values)));
    for (let position = 1; position < order.length; position++) {
      const previous = order[position - 1]!;
      const current = order[position]!;
      if (Object.is(values[previous], values[current])) expect(current).toBeGreaterThan(previous);
    }
  }

  it.each([
    ['float64, radix path', 30_000, Float64Array],
    ['float32, radix path', 30_000, Float32Array],
    ['float64, built-in path', 500, Float64Array],
    ['float32, built-in path', 500, Float32Array],
  ] as const)('orders %s stably, signs, ties and zeros included', (_name, count, ArrayType) => {
    const values = ArrayType.from(mixedValues(createRng(count), count));
    const copy = values.slice();
    expectStableAscendingOrder(values, sortedOrder(values));
    expect(values).toEqual(copy);
  });
});
