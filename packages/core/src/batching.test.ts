import { describe, expect, it } from 'vitest';
import { batches, inOrder, mapConcurrent, readAhead } from './batching.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A source that records how far it has been read. */
function countingSource(length: number) {
  const state = { produced: 0, closed: false };
  async function* generate() {
    try {
      for (let i = 0; i < length; i++) {
        state.produced++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}

describe('batches', () => {
  it('groups items and keeps the short last batch', async () => {
    const result: number[][] = [];
    for await (const batch of batches([1, 2, 3, 4, 5, 6, 7], 3)) result.push(batch);
    expect(result).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(batches([1], 0).next()).rejects.toThrow(/batch size must be a positive integer, got 0/);
  });
});

describe('mapConcurrent', () => {
  it('keeps input order when work finishes out of order', async () => {
    const delays = [30, 5, 20, 1, 10, 2];
    const output: number[] = [];
    for await (const value of mapConcurrent(
      delays,
      async (delay, index) => {
        await sleep(delay);
        return index;
      },
      { concurrency: 3 },
    )) {
      output.push(value);
    }
    expect(output).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('runs at most `concurrency` calls at once', async () => {
    let running = 0;
    let peak = 0;
    const results = [];
    for await (const value of mapConcurrent(
      Array.from({ length: 20 }, (_, i) => i),
      async (item) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(2);
        running--;
        return item;
      },
      { concurrency: 4 },
    )) {
      results.push(value);
    }
    expect(results).toHaveLength(20);
    expect(peak).toBeLessThanOrEqual(5);
    expect(peak).toBeGreaterThanOrEqual(3);
  });

  it('applies back-pressure: a slow consumer stops the producer a bounded distance ahead', async () => {
    const { state, source } = countingSource(1000);
    let consumed = 0;
    for await (const _ of mapConcurrent(source, async (item) => item, { concurrency: 8 })) {
      consumed++;
      await sleep(1);
      // waiting results + the one being awaited + the item the producer holds while waiting for a slot
      expect(state.produced - consumed).toBeLessThanOrEqual(8 + 2);
      if (consumed === 50) break;
    }
    await sleep(5);
    expect(state.produced).toBeLessThanOrEqual(50 + 10);
    expect(state.closed).toBe(true);
  });

  it('throws a failure at its position and closes the source', async () => {
    const { state, source } = countingSource(100);
    const seen: number[] = [];
    await expect(async () => {
      for await (const value of mapConcurrent(
        source,
        async (item) => {
          if (item === 5) throw new Error('decode failed at 5');
          return item;
        },
        { concurrency: 3 },
      )) {
        seen.push(value);
      }
    }).rejects.toThrow('decode failed at 5');
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(state.closed).toBe(true);
  });

  it('rethrows a source failure after the items before it', async () => {
    async function* failing() {
      yield 1;
      yield 2;
      throw new Error('file vanished');
    }
    const seen: number[] = [];
    await expect(async () => {
      for await (const value of mapConcurrent(failing(), async (item) => item * 10, { concurrency: 2 })) seen.push(value);
    }).rejects.toThrow('file vanished');
    expect(seen).toEqual([10, 20]);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    await expect(async () => {
      for await (const value of mapConcurrent([1, 2, 3, 4], async (item) => item, { concurrency: 1, signal: controller.signal })) {
        seen.push(value);
        if (value === 2) controller.abort();
      }
    }).rejects.toThrow(/abort/i);
    expect(seen).toEqual([1, 2]);
  });
});

describe('readAhead', () => {
  it('keeps reading while the consumer is busy, up to its capacity', async () => {
    let produced = 0;
    async function* producer() {
      for (let i = 0; i < 20; i++) {
        await sleep(1);
        produced++;
        yield i;
      }
    }
    const seenWhenTaken: number[] = [];
    for await (const _ of readAhead(producer(), 4)) {
      await sleep(60); // a slow consumer: the producer should fill the buffer meanwhile, and stop there
      seenWhenTaken.push(produced);
    }
    expect(seenWhenTaken[0]).toBeGreaterThanOrEqual(5);
    expect(Math.max(...seenWhenTaken.map((count, taken) => count - (taken + 1)))).toBeLessThanOrEqual(4 + 2);
  });
});

describe('inOrder', () => {
  /** A promise settled from outside, to choose the order in which values arrive. */
  function later<T>() {
    let resolve!: (value: T) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<T>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  }

  it('passes values on in the order they were queued, across groups, whatever order they settle in', async () => {
    const values = Array.from({ length: 6 }, () => later<string>());
    const passed: string[] = [];
    const queue = inOrder();
    const first = queue([values[0]!.promise, values[1]!.promise], (value, index) => passed.push(`${value}@${index}`));
    const second = queue([values[2]!.promise, values[3]!.promise], (value, index) => passed.push(`${value}@${index}`));
    const third = queue([values[4]!.promise, values[5]!.promise], (value, index) => passed.push(`${value}@${index}`));
    // Everything of the later groups arrives first, then the first group's second value, then its first.
    for (const position of [5, 4, 3, 2, 1]) values[position]!.resolve(`v${position}`);
    await sleep(5);
    expect(passed).toEqual([]);
    values[0]!.resolve('v0');
    expect(await Promise.all([first, second, third])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(passed).toEqual(['v0@0', 'v1@1', 'v2@0', 'v3@1', 'v4@0', 'v5@1']);
  });

  it('rejects the group of a failed value, and the groups after it go on', async () => {
    const passed: number[] = [];
    const queue = inOrder();
    const failing = later<number>();
    const first = queue([Promise.resolve(1), failing.promise, Promise.resolve(3)], (value) => passed.push(value));
    const second = queue([Promise.resolve(4)], (value) => passed.push(value));
    failing.reject(new Error('cannot read b.png'));
    await expect(first).rejects.toThrow('cannot read b.png');
    await second;
    expect(passed).toEqual([1, 4]);
  });
});
