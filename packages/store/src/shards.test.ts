import { describe, expect, it } from 'vitest';
import { batchRanges, chunksOf, parseShard, shardRows } from './shards.js';

describe('shards and chunks', () => {
  it('parses i/n and names what is wrong', () => {
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    expect(() => parseShard('8/8')).toThrow(/shard index must be an integer from 0 to 7 \(shards count from 0\), got 8/);
    expect(() => parseShard('1/0')).toThrow(/shard count must be a positive integer, got 0/);
    expect(() => parseShard('two/4')).toThrow(/written i\/n .* got "two\/4"/);
  });

  it('cuts every range on one grid from row 0, so chunks agree across runs and shards', () => {
    expect(chunksOf({ start: 0, end: 10 }, 4)).toEqual([
      { index: 0, start: 0, end: 4 },
      { index: 1, start: 4, end: 8 },
      { index: 2, start: 8, end: 10 },
    ]);
    expect(chunksOf({ start: 6, end: 13 }, 4)).toEqual([
      { index: 1, start: 6, end: 8 },
      { index: 2, start: 8, end: 12 },
      { index: 3, start: 12, end: 13 },
    ]);
    expect(chunksOf({ start: 5, end: 5 }, 4)).toEqual([]);
    expect(batchRanges({ start: 8, end: 19 }, 5)).toEqual([
      { start: 8, end: 13 },
      { start: 13, end: 18 },
      { start: 18, end: 19 },
    ]);
  });

  it('gives each row to exactly one shard, in whole chunks, balanced to one chunk', () => {
    for (const size of [0, 1, 7, 64, 100, 1000, 1023, 1025]) {
      for (const count of [1, 2, 3, 5, 8, 13]) {
        for (const chunkRows of [1, 4, 16, 100]) {
          const parts = Array.from({ length: count }, (_, index) => shardRows({ start: 0, end: size }, { index, count }, chunkRows));
          let next = 0;
          for (const part of parts) {
            expect(part.start).toBe(next);
            expect(part.end).toBeGreaterThanOrEqual(part.start);
            if (part.start < size && part.end < size) expect(part.end % chunkRows).toBe(0);
            next = part.end;
          }
          expect(next).toBe(size);
          const chunkCounts = parts.map((part) => chunksOf(part, chunkRows).length);
          expect(Math.max(...chunkCounts) - Math.min(...chunkCounts)).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});
