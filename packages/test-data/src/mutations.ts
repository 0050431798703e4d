// Seeded byte-level mutations of valid files, for the tests that feed hostile input to the readers. One
// mutator, so that every reader's test tries the same kinds of damage; each test passes the bytes that
// matter to its format (pickle opcodes, brackets, ...) as its "interesting" values.

/** A seeded generator (mulberry32), so that every run tries the same files. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
}

const INTERESTING_WORDS = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff, 0x10000];

/**
 * One to three byte-level mutations of `original`: a flipped bit, one of `interestingBytes`, a 32-bit
 * boundary value, a cut, an insertion or a deletion.
 */
export function mutateBytes(original: Uint8Array, random: () => number, interestingBytes: readonly number[]): Uint8Array {
  let bytes = original.slice();
  const at = (length: number) => Math.floor(random() * Math.max(1, length));
  const count = 1 + Math.floor(random() * 3);
  for (let mutation = 0; mutation < count; mutation++) {
    const kind = Math.floor(random() * 6);
    const position = at(bytes.length);
    if (kind === 0) bytes[position] = bytes[position]! ^ (1 << Math.floor(random() * 8));
    else if (kind === 1) bytes[position] = interestingBytes[at(interestingBytes.length)]!;
    else if (kind === 2 && position + 4 <= bytes.length) {
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(position, INTERESTING_WORDS[at(INTERESTING_WORDS.length)]!, random() < 0.5);
    } else if (kind === 3) bytes = bytes.slice(0, position);
    else if (kind === 4) {
      const inserted = Uint8Array.from({ length: 1 + at(16) }, () => at(256));
      bytes = Uint8Array.from([...bytes.subarray(0, position), ...inserted, ...bytes.subarray(position)]);
    } else {
      bytes = Uint8Array.from([...bytes.subarray(0, position), ...bytes.subarray(position + 1 + at(16))]);
    }
  }
  return bytes;
}

/**
 * How many mutations a test tries: `quick` in `pnpm test`, or `MEDSSL_MUTATIONS` for a long run
 * (`MEDSSL_MUTATIONS=10000 npx vitest run packages/weights/src/hostile.test.ts`).
 */
export function mutationCount(quick: number): number {
  const asked = Number(process.env.MEDSSL_MUTATIONS);
  return Number.isInteger(asked) && asked > 0 ? asked : quick;
}
