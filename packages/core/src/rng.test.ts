import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';

const fixtures: { seed: number; uint32: number[]; float: number[] }[] = JSON.parse(readFileSync(new URL('./__fixtures__/rng.json', import.meta.url), 'utf8'));

describe('createRng', () => {
  it.each(fixtures)('matches the independent Python implementation for seed $seed', ({ seed, uint32, float }) => {
    const integers = createRng(seed);
    expect(uint32.map(() => integers.nextUint32())).toEqual(uint32);
    const floats = createRng(seed);
    expect(float.map(() => floats.next())).toEqual(float);
  });

  it('gives different streams for different seeds and forks', () => {
    const first = createRng(7);
    const second = createRng(8);
    expect(first.nextUint32()).not.toBe(second.nextUint32());
    const a = createRng(7).fork('subsets');
    const b = createRng(7).fork('bootstrap');
    expect(a.nextUint32()).not.toBe(b.nextUint32());
    expect(createRng(7).fork('subsets').nextUint32()).toBe(createRng(7).fork('subsets').nextUint32());
  });

  it('draws unbiased integers in range and uniform floats', () => {
    const rng = createRng(3);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]!++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(400); // ~4.4 standard deviations
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const value = rng.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      sum += value;
    }
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
  });

  it('draws standard normals', () => {
    const rng = createRng(11);
    const values = Array.from({ length: 20_000 }, () => rng.normal());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('shuffles into a permutation, deterministically per seed', () => {
    const shuffled = createRng(5).shuffle(Array.from({ length: 100 }, (_, i) => i));
    expect([...shuffled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(shuffled).toEqual(createRng(5).shuffle(Array.from({ length: 100 }, (_, i) => i)));
    expect(shuffled).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it.each([-1, 1.5, Number.NaN, '3', 2 ** 53])('refuses the seed %s with a message naming it', (seed) => {
    expect(() => createRng(seed as number)).toThrow(/seed must be a non-negative integer, got/);
  });
});
