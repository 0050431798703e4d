/**
 * Pull-based streaming helpers. Every stage runs only when the stage after it asks for more, and at most a
 * bounded number of items wait in between: a slow consumer slows the producer instead of filling memory.
 */

type Source<T> = AsyncIterable<T> | Iterable<T>;

/** Groups items into arrays of `size` (the last one may be shorter). */
export async function* batches<T>(source: Source<T>, size: number): AsyncGenerator<T[]> {
  assertPositiveInteger(size, 'batch size');
  let batch: T[] = [];
  for await (const item of source) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export interface MapConcurrentOptions {
  /** Items being worked on at once; also the most that are read ahead of the consumer. */
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

/**
 * Applies `work` to each item, reading the source ahead in the background, and yields the results in input
 * order. At most `concurrency` results wait for the consumer (plus the one it is taking); the source is not
 * read further until the consumer takes one. Errors from the source or from `work` are thrown at their
 * position, after the results before them; leaving the loop early closes the source.
 */
export async function* mapConcurrent<T, U>(source: Source<T>, work: (item: T, index: number) => Promise<U>, options: MapConcurrentOptions): AsyncGenerator<U> {
  assertPositiveInteger(options.concurrency, 'concurrency');
  const iterator = toAsyncIterator(source);
  const waiting: Promise<U>[] = [];
  const itemReady = wakeUp();
  const slotFree = wakeUp();
  let closed = false;
  let sourceDone = false;
  let sourceFailure: { error: unknown } | undefined;

  const producer = (async () => {
    let index = 0;
    try {
      while (!closed) {
        if (waiting.length >= options.concurrency) {
          await slotFree.wait();
          continue;
        }
        const step = await iterator.next();
        if (step.done) break;
        const pending = work(step.value, index++);
        pending.catch(() => undefined); // rethrown in order by the consumer; this only silences the early report
        waiting.push(pending);
        itemReady.notify();
      }
    } catch (error) {
      sourceFailure = { error };
    } finally {
      sourceDone = true;
      itemReady.notify();
    }
  })();

  try {
    while (true) {
      options.signal?.throwIfAborted();
      const head = waiting.shift();
      if (head === undefined) {
        if (!sourceDone) {
          await itemReady.wait();
          continue;
        }
        if (sourceFailure) throw sourceFailure.error;
        return;
      }
      slotFree.notify();
      yield await head;
    }
  } finally {
    closed = true;
    slotFree.notify();
    if (!sourceDone) await iterator.return?.();
    await producer;
  }
}

/** A one-shot wake-up that can be re-armed: `wait()` resolves at the next `notify()`. */
export function wakeUp(): { wait(): Promise<void>; notify(): void } {
  let pending: { promise: Promise<void>; resolve: () => void } | undefined;
  return {
    wait() {
      if (!pending) {
        let resolve!: () => void;
        const promise = new Promise<void>((done) => (resolve = done));
        pending = { promise, resolve };
      }
      return pending.promise;
    },
    notify() {
      const current = pending;
      pending = undefined;
      current?.resolve();
    },
  };
}

/**
 * Passes values on in the order they were queued, whatever order their promises settle in. Each call of the
 * returned function queues a group: `pass(value, index)` runs for each of its values once that value and every
 * value queued before it have settled, and the call resolves to what `pass` returned. A value that rejects
 * rejects its group's call (the values after it in that group are not passed); later groups go on.
 */
export function inOrder(): <T, R>(values: readonly Promise<T>[], pass: (value: T, index: number) => R) => Promise<R[]> {
  let previous: Promise<unknown> = Promise.resolve();
  return (values, pass) => {
    for (const value of values) value.catch(() => undefined); // rethrown below, in order
    const before = previous;
    const passed = (async () => {
      await before;
      const results = [];
      for (let index = 0; index < values.length; index++) results.push(pass(await values[index]!, index));
      return results;
    })();
    previous = passed.catch(() => undefined);
    return passed;
  };
}

/**
 * Reads up to `capacity` items ahead of the consumer in the background, so a producer with uneven latency
 * (decoding) overlaps with a consumer that works in bursts (inference), without unbounded buffering.
 */
export async function* readAhead<T>(source: Source<T>, capacity: number): AsyncGenerator<T> {
  yield* mapConcurrent(source, async (item) => item, { concurrency: capacity });
}

function toAsyncIterator<T>(source: Source<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  const iterator = (source as Iterable<T>)[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer, got ${value}`);
}
