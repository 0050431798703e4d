import { describe, expect, it } from 'vitest';

import { fixtureBytes } from './__fixtures__/fixtures.js';
import { CheckpointFormatError, UnsafeCheckpointError } from './errors.js';
import { OpaqueObject, unpickle } from './pickle.js';
import { TORCH_GLOBALS } from './torch.js';

/** One byte per character, so that '\x80' is the byte 0x80. */
const ascii = (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0));

/** What make_fixtures.py pickles as PLAIN, as the unpickler gives it back. */
const PLAIN = new Map<unknown, unknown>([
  ['list', [1, 2.5, 'text', null, true, false]],
  ['tuple', [1, [2, 3]]],
  ['big', 2n ** 70n],
  ['negative', -(2 ** 40)],
  ['small_negative', -5],
  ['bytes', Uint8Array.of(0, 10, 255)],
  ['bytearray', Uint8Array.of(0x61, 0x62)],
  ['set', new Set([1, 2])],
  ['frozenset', new Set([3])],
  [
    'nested',
    new Map([
      [
        'integer_keys',
        new Map<unknown, unknown>([
          [1, 'one'],
          [-2, 'minus two'],
        ]),
      ],
    ]),
  ],
  ['float', 1e-300],
  ['unicode', 'é✓ 😀\n\\u'],
]);

describe('restricted unpickler', () => {
  it.each([0, 1, 2, 3, 4, 5])('reads plain containers in protocol %i', (protocol) => {
    const bytes = fixtureBytes(`plain_protocol${protocol}.pkl`);
    const { value, end } = unpickle(bytes, { fileName: 'plain.pkl' });
    expect(end).toBe(bytes.byteLength);
    expect(value).toEqual(PLAIN);
    const tuple = (value as Map<string, unknown>).get('tuple');
    expect(Object.isFrozen(tuple)).toBe(true); // tuples are frozen arrays, lists are not
    expect(Object.isFrozen((value as Map<string, unknown>).get('list'))).toBe(false);
  });

  it('refuses a malicious protocol 4 pickle (STACK_GLOBAL) by naming the global', () => {
    expect(() => unpickle(fixtureBytes('evil_protocol4.pkl'), { fileName: 'evil.pkl' })).toThrow(
      'evil.pkl: refusing to load global "posix.system" (only tensors, storages and plain containers are allowed; medssl never runs code from a checkpoint)',
    );
  });

  it('refuses globals in GLOBAL, INST and OBJ alike, before calling anything', () => {
    const refused = (pickle: string, global: string) => {
      const error = (() => {
        try {
          unpickle(ascii(pickle), { fileName: 'x.pkl' });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UnsafeCheckpointError);
      expect((error as UnsafeCheckpointError).global).toBe(global);
      expect((error as Error).message).toContain(`refusing to load global "${global}"`);
    };
    refused('cbuiltins\neval\n(Vprint(1)\ntR.', 'builtins.eval');
    refused('c__builtin__\nexec\n(Vx\ntR.', '__builtin__.exec');
    refused('(Vecho pwned\nios\nsystem\n.', 'os.system');
    refused('(csubprocess\ncheck_output\nVls\no.', 'subprocess.check_output');
    refused('\x80\x02ctorch.nn.modules.linear\nLinear\n)\x81.', 'torch.nn.modules.linear.Linear');
  });

  it('offers the opaque-object opt-in only for class-like names', () => {
    expect(() => unpickle(ascii('cargparse\nNamespace\n)\x81.'), { fileName: 'x.pkl' })).toThrow(/allowOpaqueObjects: \["argparse\.Namespace"\]/);
    expect(() => unpickle(ascii('cos\nsystem\n.'), { fileName: 'x.pkl' })).not.toThrow(/allowOpaqueObjects/);
    expect(() => unpickle(ascii('cos\nsystem\n.'), { fileName: 'x.pkl' })).toThrow(UnsafeCheckpointError);
  });

  it('records an allowed class as an inert object with its arguments and state', () => {
    // argparse.Namespace() via NEWOBJ, then BUILD with {'lr': 0.5}
    const pickle = Uint8Array.from([...ascii('\x80\x02cargparse\nNamespace\n)\x81}X\x02\x00\x00\x00lrG'), ...[0x3f, 0xe0, 0, 0, 0, 0, 0, 0], ...ascii('sb.')]);
    const { value } = unpickle(pickle, { fileName: 'x.pkl', allowOpaqueObjects: ['argparse.Namespace'] });
    expect(value).toBeInstanceOf(OpaqueObject);
    expect((value as OpaqueObject).className).toBe('argparse.Namespace');
    expect((value as OpaqueObject).attribute('lr')).toBe(0.5);
  });

  it('allows storage classes only inside persistent ids, and persistent ids only when the reader expects them', () => {
    expect(() => unpickle(ascii('\x80\x02ctorch\nFloatStorage\n)R.'), { fileName: 'x.pkl', globals: TORCH_GLOBALS })).toThrow(
      /x\.pkl: pickle byte 23 \(REDUCE\): torch\.FloatStorage is a storage class; it may only appear inside a persistent id/,
    );
    expect(() => unpickle(ascii('\x80\x02N\x51.'), { fileName: 'x.pkl' })).toThrow(/persistent ids are not allowed/);
  });

  it('names the file and byte of malformed and truncated pickles', () => {
    const plain = fixtureBytes('plain_protocol2.pkl');
    expect(() => unpickle(plain.subarray(0, 40), { fileName: 'cut.pkl' })).toThrow(/^cut\.pkl: truncated: /);
    expect(() => unpickle(Uint8Array.of(0x80, 0x02, 0xff), { fileName: 'bad.pkl' })).toThrow(
      'bad.pkl: pickle byte 2 (0xff): unknown opcode 0xff; the data is not a pickle or is corrupt',
    );
    expect(() => unpickle(ascii('\x80\x02a.'), { fileName: 'bad.pkl' })).toThrow(/bad\.pkl: pickle byte 2 \(APPEND\): the stack is empty/);
    expect(() => unpickle(ascii('\x80\x02h\x05.'), { fileName: 'bad.pkl' })).toThrow(/memo key 5 was never stored/);
    expect(() => unpickle(Uint8Array.of(0x80, 0x02, 0x82, 0x01, 0x2e), { fileName: 'ext.pkl' })).toThrow(/extension codes/);
    expect(() => unpickle(Uint8Array.of(0x80, 0x02), { fileName: 'short.pkl' })).toThrow(CheckpointFormatError);
  });

  it('reads pickles one after another from an offset, reporting where each ends', () => {
    const first = unpickle(ascii('\x80\x02K\x07.\x80\x02X\x01\x00\x00\x00a.'), { fileName: 'x' });
    expect(first).toEqual({ value: 7, end: 5 });
    expect(unpickle(ascii('\x80\x02K\x07.\x80\x02X\x01\x00\x00\x00a.'), { fileName: 'x', offset: first.end }).value).toBe('a');
  });
});
