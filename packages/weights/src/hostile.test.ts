// Hostile checkpoints, as a fuzzing campaign made them: each must load or be refused with a typed error
// that names the file, quickly, without allocating what the file only claims, and without echoing
// unbounded input. Files that need torch.save come from __fixtures__/make_hostile_fixtures.py.
import { encodeZipParts, joinBytes } from '@medssl/arrays';
import { describe, expect, it } from 'vitest';

import { fixtureBytes } from './__fixtures__/fixtures.js';
import { PickleBuilder, sharedReferencePickle, torchLegacy, torchZip } from './__fixtures__/hostile-files.js';
import { readCheckpointContents } from './checkpoint.js';
import { CheckpointFormatError, UnsafeCheckpointError } from './errors.js';
import { MAXIMUM_INTEGER_BYTES, unpickle } from './pickle.js';
import { readSafetensors } from './safetensors.js';
import { mutateBytes, mutationCount, seededRandom } from '@medssl/test-data';

const oneFloat = new Map([['0', new Float32Array([1.5])]]);

/** Bytes of a text whose characters are all below U+0100, one byte each (as protocol 0 pickles are written). */
const latin1 = (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0));

async function refusal(reading: Promise<unknown>): Promise<Error> {
  return reading.then(
    () => {
      throw new Error('expected the checkpoint to be refused');
    },
    (error: Error) => error,
  );
}

function caught(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the read to fail');
}

/** What every refusal must be: a typed error naming the file, short, with no `undefined` in it. */
function expectTypedRefusal(error: unknown, name: string): void {
  // The ZIP container's faults come wrapped too: one error type for every failure to read a checkpoint.
  const typed = error instanceof CheckpointFormatError || error instanceof UnsafeCheckpointError;
  expect(typed, String((error as Error)?.stack ?? error)).toBe(true);
  const { message } = error as Error;
  expect(message.startsWith(name), message).toBe(true);
  expect(message, message).not.toMatch(/undefined|NaN/);
  expect(message.length, message).toBeLessThan(600);
}

describe('shared references in a pickle', () => {
  it.each([
    ['zip', (depth: number) => torchZip(sharedReferencePickle(depth, false), oneFloat)],
    ['legacy', (depth: number) => torchLegacy(sharedReferencePickle(depth, true), oneFloat)],
  ])('refuses a %s checkpoint whose ~300-byte pickle reaches one tensor by 2^24 paths, in well under a second', async (_format, build) => {
    expect(sharedReferencePickle(24, false).byteLength).toBeLessThan(400);
    const started = performance.now();
    const error = await refusal(readCheckpointContents(build(24), 'dag.pth'));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expectTypedRefusal(error, 'dag.pth');
    expect(error.message).toMatch(
      /^dag\.pth: the object reaches its tensors by more paths than its \d+-byte structure can justify \(over \d+ containers entered/,
    );
    // A few levels of sharing are a small tree, and read in full.
    const small = await readCheckpointContents(build(4), 'dag.pth');
    expect(small.tensors.size).toBe(16);
    expect(small.tensors.get('0.1.0.1')!.data).toEqual(new Float32Array([1.5]));
  });

  it('refuses a pickle that copies one large memoized list again and again through set()', () => {
    const pickle = new PickleBuilder().raw(0x5d, 0x28);
    for (let item = 0; item < 5000; item++) pickle.raw(0x4e);
    pickle.raw(0x65).put(0).raw(0x30, 0x5d).put(1).raw(0x30);
    // 2,000 calls of builtins.set on the same 5,000-item list: 10 million copies from 26 KB.
    for (let call = 0; call < 2000; call++) pickle.get(1).global('builtins', 'set').raw(0x28).get(0).raw(0x74, 0x52, 0x61);
    const bytes = pickle.get(1).finish();
    const error = caught(() => unpickle(bytes, { fileName: 'sets.pkl' }));
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect(error.message).toMatch(
      /^sets\.pkl: pickle byte \d+ \(REDUCE\): the pickle asks for more than \d+ opcodes and copied items \(8 per byte of pickle\)/,
    );
  });
});

describe('deep nesting', () => {
  it('refuses lists nested 100,000 deep (200 KB of pickle) without exhausting the stack', async () => {
    const pickle = new PickleBuilder();
    for (let level = 0; level < 100_000; level++) pickle.raw(0x5d);
    for (let level = 1; level < 100_000; level++) pickle.raw(0x61);
    const error = await refusal(readCheckpointContents(torchZip(pickle.finish(), new Map()), 'nested.pth'));
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect(error.message).toMatch(/^nested\.pth: 0\.0\.0\.0.*… \(2001 characters\): nested deeper than 1000 levels$/);
  });
});

describe('long integers', () => {
  const long4 = (length: number) => {
    const digits = new Uint8Array(length).fill(0xab);
    digits[length - 1] = 0x7f;
    const header = new PickleBuilder().raw(0x8b, length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, length >>> 24).finish();
    // Insert the digits between the LONG4 header and STOP.
    return joinBytes([header.subarray(0, header.length - 1), digits, Uint8Array.of(0x2e)]);
  };

  it('refuses a 300 KB LONG4 integer in well under a second', () => {
    const bytes = long4(300_000);
    const started = performance.now();
    const error = caught(() => unpickle(bytes, { fileName: 'long.pkl' }));
    expect(performance.now() - started).toBeLessThan(200);
    expect(error.message).toBe(`long.pkl: pickle byte 2 (LONG4): an integer of 300000 bytes is longer than the ${MAXIMUM_INTEGER_BYTES} any checkpoint needs`);
    const decimal = latin1(`\x80\x02L${'9'.repeat(200_000)}L\n.`);
    expect(() => unpickle(decimal, { fileName: 'long.pkl' })).toThrow(
      /^long\.pkl: pickle byte 2 \(LONG\): an integer of 200000 characters is longer than the \d+/,
    );
  });

  it('decodes the longest integer it allows exactly, in linear time', () => {
    const started = performance.now();
    const { value } = unpickle(long4(MAXIMUM_INTEGER_BYTES), { fileName: 'long.pkl' });
    expect(performance.now() - started).toBeLessThan(100);
    let expected = 0x7fn;
    for (let index = 1; index < MAXIMUM_INTEGER_BYTES; index++) expected = (expected << 8n) | 0xabn;
    expect(value).toBe(expected);
    // Two's complement: the top bit of the last byte makes it negative.
    expect(unpickle(Uint8Array.of(0x80, 0x02, 0x8a, 0x02, 0x00, 0x80, 0x2e), { fileName: 'x' }).value).toBe(-32768);
  });
});

describe('safetensors headers', () => {
  const safetensors = (header: string, data = new Uint8Array(0)) => {
    const json = new TextEncoder().encode(header);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
    return joinBytes([length, json, data]);
  };

  it('refuses a header nested 10,000 deep before parsing it, with a short message', async () => {
    const deep = safetensors(`{"weight": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    const readers: (() => unknown)[] = [() => readSafetensors(deep, 'deep.safetensors'), () => readCheckpointContents(deep, 'deep.safetensors')];
    for (const read of readers) {
      const error = await refusal(Promise.resolve().then(read));
      expect(error).toBeInstanceOf(CheckpointFormatError);
      expect(error.message).toBe('deep.safetensors: the header nests brackets more than 8 deep at byte 26; the format needs 3 (header, tensor, shape)');
    }
    // Brackets inside strings are text, not nesting.
    const quoted = safetensors(
      `{"__metadata__": {"note": "${'[{'.repeat(50)}\\"]"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}`,
      new Uint8Array(4),
    );
    expect(readSafetensors(quoted, 'quoted.safetensors').metadata.get('note')).toBe(`${'[{'.repeat(50)}"]`);
  });

  it('describes what it found without echoing it whole', () => {
    const wide = safetensors(`{"w": {"dtype": "F32", "shape": [${new Array(5000).fill(1).join(',')}], "data_offsets": "${'x'.repeat(5000)}"}}`);
    const error = caught(() => readSafetensors(wide, 'wide.safetensors'));
    expectTypedRefusal(error, 'wide.safetensors');
    expect(error.message).toMatch(/^wide\.safetensors: tensor w: data_offsets should be \[begin, end\], got "x{80}"… \(5000 characters\)$/);
    const nested = safetensors('{"w": {"dtype": "F32", "shape": [[1, [2]], {"a": 1}]}}');
    expect(() => readSafetensors(nested, 'nested.safetensors')).toThrow(
      'nested.safetensors: tensor w: shape should be a list of non-negative integers, got a list of 2 items',
    );
  });
});

describe('expanded (stride-0) tensors', () => {
  it('refuses the 40 GB torch.zeros(1).expand(100000, 100000) before allocating, naming key, shape, strides and storage size', async () => {
    const bytes = fixtureBytes('expanded_40gb.pth');
    expect(bytes.byteLength).toBeLessThan(1000);
    const error = await refusal(readCheckpointContents(bytes, 'expanded_40gb.pth'));
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect(error.message).toBe(
      "expanded_40gb.pth: tensor (root) (storage 0, float32, shape [100000, 100000], stride [0, 0], offset 0): copying it out would take 40000000000 bytes from a storage of 4 bytes (stride 0 or overlapping strides repeat elements); refusing more than 16 times the storage's bytes beyond 67108864",
    );
  });

  it('refuses the 1.6 GB expansion of a 771-byte file quickly', async () => {
    const started = performance.now();
    const error = await refusal(readCheckpointContents(fixtureBytes('expanded_1600mb.pth'), 'expanded_1600mb.pth'));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.message).toMatch(
      /^expanded_1600mb\.pth: tensor \(root\) .*shape \[20000, 20000\], stride \[0, 0\].*1600000000 bytes from a storage of 4 bytes/,
    );
  });

  it('refuses many expansions under the per-tensor limit that together exceed the file many times over', async () => {
    // 40 tensors of 4 million elements (16 MB each) from one 4-byte storage: 640 MB from a 4 KB file.
    const pickle = new PickleBuilder().raw(0x7d, 0x28);
    for (let index = 0; index < 40; index++) pickle.text(`t${index}`).tensor('0', 1, [2000, 2000], [0, 0]);
    const bytes = torchZip(pickle.raw(0x75).finish(), oneFloat);
    const error = await refusal(readCheckpointContents(bytes, 'many.pth'));
    expect(error.message).toMatch(
      /^many\.pth: tensor t4 \(storage 0, float32, shape \[2000, 2000\], stride \[0, 0\], offset 0\): .*with the tensors before it that makes 80000000 bytes, more than the 67108928 allowed/,
    );
    // A small expansion, as models hold them, still loads.
    const small = torchZip(new PickleBuilder().tensor('0', 1, [4, 3], [0, 0]).finish(), oneFloat);
    expect((await readCheckpointContents(small, 'small.pth')).tensors.get('')!.data).toEqual(new Float32Array(12).fill(1.5));
  });

  it('checks a storage against its archive member before reading it', async () => {
    // The pickle claims 2^40 elements for a 4-byte member.
    const bytes = torchZip(new PickleBuilder().tensor('0', 2 ** 30, [1], [1]).finish(), oneFloat);
    const error = await refusal(readCheckpointContents(bytes, 'claims.pth'));
    expect(error.message).toBe('claims.pth: storage 0 (archive/data/0): expected 4294967296 bytes (1073741824 float32 elements), the archive holds 4');
  });
});

describe('tied weights', () => {
  it.each(['tied_weights.pth', 'tied_weights_legacy.pth'])('still reads %s: one storage under several keys, and the same tensor twice', async (name) => {
    const { tensors } = await readCheckpointContents(fixtureBytes(name), name);
    expect([...tensors.keys()]).toEqual(['embedding.weight', 'decoder.weight', 'alias.weight']);
    const embedding = tensors.get('embedding.weight')!;
    expect(embedding.shape).toEqual([5, 3]);
    // torch.manual_seed(0); nn.Embedding(5, 3): the first values PyTorch prints.
    expect(embedding.data[0]).toBeCloseTo(1.540996, 6);
    expect(tensors.get('decoder.weight')!.data).toEqual(embedding.data);
    expect(tensors.get('alias.weight')!.data).toEqual(embedding.data);
  });
});

describe('messages built from missing fields', () => {
  it('says what was found where a persistent id lacks its parts', async () => {
    const pickle = new PickleBuilder().global('torch._utils', '_rebuild_tensor_v2').raw(0x28, 0x28).text('storage').raw(0x74, 0x51).finish();
    const error = await refusal(readCheckpointContents(torchZip(pickle, oneFloat), 'short.pth'));
    expectTypedRefusal(error, 'short.pth');
    expect(error.message).toBe('short.pth: persistent id a tuple of 1 items: expected a storage class, got nothing');
  });

  it('refuses a protocol 0 \\U escape past U+10FFFF as a format error', () => {
    const bytes = latin1('\x80\x02V\\U00110000\n.');
    expect(() => unpickle(bytes, { fileName: 'escape.pkl' })).toThrow(
      'escape.pkl: pickle byte 2 (UNICODE): \\U00110000 is not a Unicode code point (at most 10FFFF)',
    );
  });
});

/** Bytes that matter to the format, for the mutator to plant. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x28, 0x2e, 0x5d, 0x7d, 0x71, 0x68, 0x8a, 0x8b, 0x52, 0x51];

const mutate = (original: Uint8Array, random: () => number) => mutateBytes(original, random, INTERESTING_BYTES);
/** 200 in `pnpm test`; `MEDSSL_MUTATIONS` for a long run. */
const mutations = mutationCount(200);

/** The members of a stored ZIP archive (as torch.save writes them), read without the library under test. */
function storedMembers(archive: Uint8Array): { name: string; data: Uint8Array }[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  const members: { name: string; data: Uint8Array }[] = [];
  for (let offset = 0; view.getUint32(offset, true) === 0x04034b50; ) {
    const size = view.getUint32(offset + 18, true);
    const nameLength = view.getUint16(offset + 26, true);
    const extraLength = view.getUint16(offset + 28, true);
    const start = offset + 30 + nameLength + extraLength;
    members.push({ name: new TextDecoder().decode(archive.subarray(offset + 30, offset + 30 + nameLength)), data: archive.subarray(start, start + size) });
    offset = start + size;
  }
  return members;
}

describe('seeded byte-level mutations', () => {
  const zip = fixtureBytes('small_zip.pth');
  const members = storedMembers(zip);
  // Mutating data.pkl inside a rebuilt archive reaches the unpickler past the ZIP's CRC-32 check.
  const rezipped = (pickle: Uint8Array) =>
    joinBytes(
      encodeZipParts(
        members.map((member) => (member.name.endsWith('/data.pkl') ? { name: member.name, data: [pickle] } : { name: member.name, data: [member.data] })),
      ),
    );
  const pickle = members.find((member) => member.name.endsWith('/data.pkl'))!.data;

  it.each([
    ['small_zip.pth', 1, (random: () => number) => mutate(zip, random)],
    ['small_zip.pth (data.pkl)', 2, (random: () => number) => rezipped(mutate(pickle, random))],
    ['small_legacy.pth', 3, (random: () => number) => mutate(fixtureBytes('small_legacy.pth'), random)],
    ['all_dtypes.safetensors', 4, (random: () => number) => mutate(fixtureBytes('all_dtypes.safetensors'), random)],
  ])(`loads or refuses with a typed error each of ${mutations} mutations of %s, quickly`, async (name, seed, make) => {
    const random = seededRandom(seed);
    const started = performance.now();
    let loaded = 0;
    for (let trial = 0; trial < mutations; trial++) {
      const bytes = make(random);
      const trialStart = performance.now();
      const error = await readCheckpointContents(bytes, 'mutated').then(
        () => undefined,
        (caughtError: unknown) => caughtError,
      );
      expect(performance.now() - trialStart, `${name}, mutation ${trial}`).toBeLessThan(1000);
      if (error === undefined) loaded++;
      else expectTypedRefusal(error, 'mutated');
    }
    expect(loaded).toBeLessThan(mutations);
    expect(performance.now() - started).toBeLessThan((4000 * mutations) / 200);
  });
});
