/** A broken promise of the contract: which plugin, which rule, and what was found instead. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Expects `action` to fail with a message matching `pattern`; the conformance rule is named in `rule`. */
export async function expectFailure(action: () => unknown, pattern: RegExp, rule: string): Promise<void> {
  let failure: unknown;
  try {
    await action();
  } catch (error) {
    failure = error;
  }
  check(failure !== undefined, `${rule}: expected an error, but the call succeeded`);
  const message = failure instanceof Error ? failure.message : String(failure);
  check(pattern.test(message), `${rule}: the error should match ${pattern}, got: ${message}`);
}

/** mulberry32: tiny, seeded, good enough for synthetic conformance data (not for experiments). */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}
