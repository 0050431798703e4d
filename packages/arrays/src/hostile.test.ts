// Hostile NPY and NPZ files, as a fuzzing campaign made them: every one must be read or refused with an
// ArrayFormatError that names the file, quickly, and without echoing unbounded input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FIXTURE_DIRECTORY } from './__fixtures__/fixtures.js';
import { ArrayFormatError } from './errors.js';
import { parseNpy } from './npy.js';
import { readNpz } from './npz.js';
import { mutateBytes, mutationCount, seededRandom } from '@medssl/test-data';

const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURE_DIRECTORY, name)));

/** An NPY version 1.0 or 2.0 file with `header` as its header text, unpadded, and `data` after it. */
function npyWithHeader(header: string, major: 1 | 2 = 1, data = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(header);
  const lengthSize = major === 1 ? 2 : 4;
  const bytes = new Uint8Array(8 + lengthSize + text.byteLength + data.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, text.byteLength, true);
  else view.setUint32(8, text.byteLength, true);
  bytes.set(text, 8 + lengthSize);
  bytes.set(data, 8 + lengthSize + text.byteLength);
  return bytes;
}

function caught(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the read to fail');
}

/** Bytes that matter to the format, for the mutator to plant. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x28, 0x29, 0x5b, 0x7b, 0x27, 0x2c, 0x0a];

const mutate = (original: Uint8Array, random: () => number) => mutateBytes(original, random, INTERESTING_BYTES);
/** 200 in `pnpm test`; `MEDSSL_MUTATIONS` for a long run. */
const mutations = mutationCount(200);

/** What every refusal must be: the typed error, naming the file, short, with no `undefined` in it. */
function expectTypedRefusal(error: unknown, name: string): void {
  expect(error, String(error)).toBeInstanceOf(ArrayFormatError);
  const { message } = error as ArrayFormatError;
  expect(message.startsWith(name), message).toBe(true);
  expect(message, message).not.toMatch(/undefined|NaN/);
  expect(message.length, message).toBeLessThan(500);
}

describe('hostile NPY headers', () => {
  it('refuses a header longer than numpy reads before parsing it, in version 1.0 and 2.0', () => {
    const padding = ' '.repeat(20_000);
    for (const major of [1, 2] as const) {
      const error = caught(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }${padding}`, major), 'long.npy'));
      expectTypedRefusal(error, 'long.npy');
      expect(error.message).toBe(`long.npy: header length: expected at most 10000 bytes (numpy's own limit), got ${padding.length + 57}`);
    }
    // A version 2.0 length of 4 GiB is refused from the preamble alone.
    const huge = npyWithHeader('{}', 2);
    new DataView(huge.buffer).setUint32(8, 0xffffffff, true);
    expect(() => parseNpy(huge, 'huge.npy')).toThrow("huge.npy: header length: expected at most 10000 bytes (numpy's own limit), got 4294967295");
  });

  it('refuses brackets nested 9,000 deep without exhausting the stack, and echoes only the text near the fault', () => {
    const deep = npyWithHeader(`{'descr': ${'['.repeat(9_000)}`);
    const error = caught(() => parseNpy(deep, 'deep.npy'));
    expectTypedRefusal(error, 'deep.npy');
    expect(error.message).toBe(`deep.npy: header: more than 32 nested brackets at position 41 in …"'descr': ${'['.repeat(71)}"… (9009 characters)`);
  });

  it('refuses more dimensions than numpy has, and cuts long values out of messages', () => {
    const shape = new Array(65).fill(1).join(', ');
    const error = caught(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${shape}), }`), 'dims.npy'));
    expect(error.message).toBe("dims.npy: header field 'shape': expected at most 64 dimensions (numpy's limit), got 65");
    const longDescr = caught(() => parseNpy(npyWithHeader(`{'descr': '<${'f'.repeat(5000)}', 'fortran_order': False, 'shape': (1,), }`), 'descr.npy'));
    expectTypedRefusal(longDescr, 'descr.npy');
    expect(longDescr.message).toContain('… (5001 characters)');
    const longKey = caught(() => parseNpy(npyWithHeader(`{'${'k'.repeat(5000)}': 1, 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }`), 'key.npy'));
    expectTypedRefusal(longKey, 'key.npy');
  });

  it(`reads or refuses ${mutations} seeded mutations of a valid NPY file, each with an ArrayFormatError, in well under a second each`, () => {
    const original = fixture('matrix_f4.npy');
    const random = seededRandom(20);
    let loaded = 0;
    const started = performance.now();
    for (let trial = 0; trial < mutations; trial++) {
      const bytes = mutate(original, random);
      const trialStart = performance.now();
      try {
        parseNpy(bytes, 'mutated.npy');
        loaded++;
      } catch (error) {
        expectTypedRefusal(error, 'mutated.npy');
      }
      expect(performance.now() - trialStart).toBeLessThan(500);
    }
    // Some mutations only change values; most break the format.
    expect(loaded).toBeGreaterThan(0);
    expect(loaded).toBeLessThan(mutations);
    expect(performance.now() - started).toBeLessThan((5000 * mutations) / 200);
  });
});

describe('hostile NPZ archives', () => {
  it('refuses a deflated member that claims more bytes than deflate can expand to, before allocating them', async () => {
    const archive = fixture('savez_compressed.npz').slice();
    const view = new DataView(archive.buffer);
    // Every central directory entry claims 4 GiB - 1 uncompressed.
    for (let offset = 0; offset + 46 <= archive.length; offset++) {
      if (view.getUint32(offset, true) === 0x02014b50) view.setUint32(offset + 24, 0xfffffffe, true);
    }
    const error = await readNpz(archive, 'bomb.npz').catch((caughtError: unknown) => caughtError);
    expectTypedRefusal(error, 'bomb.npz');
    expect((error as Error).message).toMatch(
      /^bomb\.npz\[\w+\.npy\]: sizes: \d+ deflated bytes cannot hold the 4294967294 the directory claims \(deflate expands at most 1032-fold\)$/,
    );
  });

  it(`reads or refuses ${mutations} seeded mutations of a valid NPZ archive, each with an ArrayFormatError`, async () => {
    const original = fixture('mixed_members.npz');
    const random = seededRandom(21);
    const started = performance.now();
    for (let trial = 0; trial < mutations; trial++) {
      const bytes = mutate(original, random);
      const error = await readNpz(bytes, 'mutated.npz').then(
        () => undefined,
        (caughtError: unknown) => caughtError,
      );
      if (error !== undefined) expectTypedRefusal(error, 'mutated.npz');
    }
    expect(performance.now() - started).toBeLessThan((5000 * mutations) / 200);
  });
});
