import { quoteForMessage } from './messages.js';

/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman and Vigna), its state filled by a splitmix-style
 * counter (golden-ratio increment) passed through MurmurHash3's 32-bit finaliser.
 *
 * 32-bit integer arithmetic only (Math.imul, >>>), so a seed gives the same stream in every JavaScript
 * engine, in Node and in browsers; `make_fixtures.py` re-implements it to pin the stream down.
 */
export interface Rng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, bound), without modulo bias. */
  int(bound: number): number;
  /** Standard normal variate (Box–Muller). */
  normal(): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [index: number]: unknown }>(items: T): T;
  /** An independent stream for a named purpose, so adding draws in one place never shifts another. */
  fork(purpose: string): Rng;
}

/** Checks that a seed is a non-negative safe integer; the error names the value received. */
export function assertSeed(seed: unknown, what = 'seed'): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new TypeError(`${what} must be a non-negative integer, got ${describeValue(seed)}`);
  }
}

export function createRng(seed: number): Rng {
  assertSeed(seed);
  // Both 32-bit halves of the seed go through splitmix32, so seeds above 2^32 give distinct streams.
  const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
  const low = seed >>> 0;
  return fromSplitmixState(splitmixStep(high ^ 0x5bd1e995) ^ low);
}

function fromSplitmixState(initial: number): Rng {
  let splitmixState = initial >>> 0;
  const nextSplitmix = (): number => {
    splitmixState = (splitmixState + 0x9e3779b9) >>> 0;
    return splitmixStep(splitmixState);
  };
  let s0 = nextSplitmix();
  let s1 = nextSplitmix();
  let s2 = nextSplitmix();
  let s3 = nextSplitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point

  let spareNormal: number | undefined;

  const nextUint32 = (): number => {
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const shifted = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= shifted;
    s3 = rotateLeft(s3, 11);
    return result;
  };

  const next = (): number => {
    const upper = nextUint32() >>> 5; // 27 bits
    const lower = nextUint32() >>> 6; // 26 bits
    return (upper * 67_108_864 + lower) / 9_007_199_254_740_992;
  };

  const rng: Rng = {
    nextUint32,
    next,
    int(bound) {
      if (!Number.isSafeInteger(bound) || bound <= 0) {
        throw new RangeError(`rng.int bound must be a positive integer, got ${describeValue(bound)}`);
      }
      if (bound > 0x1_0000_0000) return Math.floor(next() * bound);
      // Rejection sampling: accept only draws below the largest multiple of bound.
      const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
      let draw = nextUint32();
      while (draw >= limit) draw = nextUint32();
      return draw % bound;
    },
    normal() {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      let u = next();
      while (u === 0) u = next();
      const v = next();
      const radius = Math.sqrt(-2 * Math.log(u));
      spareNormal = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const kept = items[i];
        items[i] = items[j];
        items[j] = kept;
      }
      return items;
    },
    fork(purpose) {
      return fromSplitmixState(nextUint32() ^ hashString(purpose));
    },
  };
  return rng;
}

function splitmixStep(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

/** FNV-1a over UTF-16 code units: only used to turn a purpose name into a stream offset. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

/** A value as an error message shows it, cut short (`quoteForMessage`). */
export function describeValue(value: unknown): string {
  return quoteForMessage(value);
}
