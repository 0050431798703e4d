/**
 * A restricted reader of Python pickles (protocols 0 to 5, the opcodes `pickle` and `torch.save` write),
 * built from the opcode definitions in CPython's `pickletools` documentation. It executes nothing: a
 * pickle names Python callables (GLOBAL, STACK_GLOBAL, INST) and asks for them to be called (REDUCE,
 * NEWOBJ, BUILD); this reader looks each name up in a fixed allow-list of functions written here in
 * JavaScript that only rearrange data, and refuses every other name before anything else happens.
 * Classes the caller lists in `allowOpaqueObjects` become inert {@link OpaqueObject} records.
 */
import { quoteText, truncateText } from '@medssl/arrays';

import { CheckpointFormatError, UnsafeCheckpointError } from './errors.js';
import { plainBytes, type CheckpointDType, type CheckpointTensor } from './tensor.js';

/** What unpickling gives, once tensors are read: Python's plain values and containers, mapped to JavaScript. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly PickleValue[]
  | PickleDict
  | PickleSet
  | CheckpointTensor
  | OpaqueObject;

/** A Python `dict` or `OrderedDict`; keys keep their Python types (optimizer states use integer keys). */
export type PickleDict = Map<PickleValue, PickleValue>;
export type PickleSet = Set<PickleValue>;

/**
 * An object of a class the caller allowed by name (e.g. `argparse.Namespace` in DINO's training
 * checkpoints), recorded, never constructed: no Python code, constructor or `__setstate__` ran. `state` is
 * what the pickle would have handed to `__setstate__` (for plain classes, a dict of attributes).
 */
export class OpaqueObject {
  constructor(
    /** `module.name` of the class. */
    readonly className: string,
    /** Arguments the pickle passes to the class (REDUCE or NEWOBJ). */
    readonly constructorArguments: readonly PickleValue[],
    public state: PickleValue | undefined = undefined,
  ) {}

  /** Attributes from a dict state (`args.lr` of an `argparse.Namespace`), or undefined. */
  attribute(name: string): PickleValue | undefined {
    return this.state instanceof Map ? this.state.get(name) : undefined;
  }
}

/** A global this package implements itself. */
export type GlobalDefinition =
  | {
      readonly kind: 'function';
      /** Called for REDUCE with the argument tuple; must only rearrange data. */
      readonly call: (args: readonly unknown[]) => unknown;
      /** Called for NEWOBJ (`cls.__new__(cls, *args)`); absent when the pickle may not do that. */
      readonly construct?: (args: readonly unknown[]) => unknown;
    }
  | { readonly kind: 'storage'; readonly dtype: CheckpointDType | undefined };

/** A resolved global on the unpickler's stack. */
export class GlobalReference {
  constructor(
    readonly qualifiedName: string,
    readonly definition: GlobalDefinition | 'opaque-class',
  ) {}
}

export interface UnpickleOptions {
  /** Names the file in errors. */
  readonly fileName: string;
  /** Names the pickle inside the file in errors about its bytes, e.g. `archive/data.pkl`; `pickle` by default. */
  readonly pickleName?: string;
  /** Where the pickle starts in `bytes` (a legacy torch file holds several pickles one after another). */
  readonly offset?: number;
  /** Allowed globals by `module.name`, besides the plain-container builtins every pickle may use. */
  readonly globals?: ReadonlyMap<string, GlobalDefinition>;
  /** Classes to keep as inert {@link OpaqueObject} records instead of refusing them, by `module.name`. */
  readonly allowOpaqueObjects?: readonly string[];
  /** Resolves a persistent id (torch: a storage); without it, persistent ids are refused. */
  readonly persistentLoad?: (persistentId: unknown) => unknown;
}

export interface UnpickleResult {
  /** The object; may still hold whatever `persistentLoad` returned, and {@link GlobalReference}s. */
  readonly value: unknown;
  /** Offset just past the STOP opcode. */
  readonly end: number;
}

/** Python 2 names of modules, as pickles written by Python 2 (or by Python 3 with protocol < 3) spell them. */
const PYTHON2_MODULE_NAMES: Readonly<Record<string, string>> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const REFUSAL_REASON = 'only tensors, storages and plain containers are allowed; medssl never runs code from a checkpoint';

/**
 * Python integers in checkpoints are counters, seeds and sizes (the legacy format's magic number, the
 * largest torch.save writes, takes 10 bytes); longer ones are refused before they are decoded.
 */
export const MAXIMUM_INTEGER_BYTES = 4096;
/** The decimal digits of an integer of {@link MAXIMUM_INTEGER_BYTES}, for the text opcodes INT and LONG. */
const MAXIMUM_INTEGER_DIGITS = Math.ceil(MAXIMUM_INTEGER_BYTES * 8 * Math.log10(2)) + 1;

/**
 * The work a pickle may ask for, per byte of pickle. Every opcode takes at least one byte and pushes at most
 * one value, and the memo only holds what PUT opcodes stored, so the object count, the memo and the
 * containers' sizes are already bounded by the pickle's length; what is not is copying: the allowed
 * globals (`set(list)`, `bytes(list)`, `OrderedDict(pairs)`, `_codecs.encode(text)`) copy their arguments,
 * and one pickle can call them again and again on one large memoized container. Each opcode and each item
 * copied is one unit of work; a legitimate pickle copies each container at most once.
 */
const WORK_PER_PICKLE_BYTE = 8;
const BASE_WORK = 65_536;

/** Python integers become numbers when exact, bigints otherwise. */
function integer(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function latin1Bytes(text: string, what: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code > 0xff) throw new Error(`${what}: character U+${code.toString(16).padStart(4, '0')} is not latin-1`);
    bytes[index] = code;
  }
  return bytes;
}

function byteValues(args: readonly unknown[], what: string): Uint8Array {
  const [value, encoding] = args;
  if (value === undefined) return new Uint8Array(0);
  // Protocols 0 to 2 write bytearray(b'..') as bytearray('..', 'latin-1').
  if (typeof value === 'string' && (encoding === 'latin-1' || encoding === 'latin1')) return latin1Bytes(value, what);
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value) && value.every((item) => Number.isInteger(item) && item >= 0 && item <= 255)) return Uint8Array.from(value as number[]);
  throw new Error(`${what}: expected bytes or a list of byte values`);
}

function iterableItems(value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (value instanceof Set) return [...value];
  throw new Error(`${what}: expected a list, tuple or set`);
}

/**
 * Builtins that plain containers need in protocol 2, where Python writes `bytes` as
 * `_codecs.encode(text, 'latin1')` and sets as `builtins.set([items])`; each reimplemented on data.
 */
const CONTAINER_GLOBALS: ReadonlyMap<string, GlobalDefinition> = new Map<string, GlobalDefinition>([
  [
    '_codecs.encode',
    {
      kind: 'function',
      call: ([text, encoding]) => {
        if (typeof text !== 'string') throw new Error('_codecs.encode: expected a string');
        if (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== undefined) {
          throw new Error(`_codecs.encode: only latin1 (how pickle writes bytes) is supported, got ${JSON.stringify(encoding)}`);
        }
        return latin1Bytes(text, '_codecs.encode');
      },
    },
  ],
  ['builtins.bytes', { kind: 'function', call: (args) => byteValues(args, 'bytes') }],
  ['builtins.bytearray', { kind: 'function', call: (args) => byteValues(args, 'bytearray') }],
  ['builtins.set', { kind: 'function', call: (args) => new Set(args.length === 0 ? [] : iterableItems(args[0], 'set')) }],
  ['builtins.frozenset', { kind: 'function', call: (args) => new Set(args.length === 0 ? [] : iterableItems(args[0], 'frozenset')) }],
]);

/**
 * Python's raw-unicode-escape, in which protocol 0 writes text: bytes are latin-1 characters, except
 * `\uXXXX` and `\UXXXXXXXX`, which are code points.
 */
function decodeRawUnicodeEscape(bytes: Uint8Array, fail: (message: string) => never): string {
  let text = '';
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    const escaped = byte === 0x5c ? bytes[index + 1] : undefined;
    const digits = escaped === 0x75 ? 4 : escaped === 0x55 ? 8 : 0;
    if (digits > 0) {
      const hex = String.fromCharCode(...bytes.subarray(index + 2, index + 2 + digits));
      if (hex.length === digits && /^[0-9a-fA-F]+$/.test(hex)) {
        const codePoint = Number.parseInt(hex, 16);
        if (codePoint > 0x10ffff) fail(`\\U${hex} is not a Unicode code point (at most 10FFFF)`);
        text += String.fromCodePoint(codePoint);
        index += 1 + digits;
        continue;
      }
    }
    text += String.fromCharCode(byte);
  }
  return text;
}

const MARK = Symbol('mark');

/** Opcode names for error messages, by byte. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8');
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

class Unpickler {
  private position: number;
  private stack: unknown[] = [];
  private readonly markedStacks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private readonly globals: ReadonlyMap<string, GlobalDefinition>;
  private readonly opaqueClasses: ReadonlySet<string>;
  private opcodeStart = 0;
  private opcode = 0;
  /** Opcodes run and items copied so far, against {@link maximumWork}. */
  private work = 0;
  private readonly maximumWork: number;

  private readonly bytes: Uint8Array;

  constructor(
    bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.bytes = plainBytes(bytes);
    this.position = options.offset ?? 0;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.globals = new Map([...CONTAINER_GLOBALS, ...(options.globals ?? [])]);
    this.opaqueClasses = new Set(options.allowOpaqueObjects ?? []);
    this.maximumWork = BASE_WORK + WORK_PER_PICKLE_BYTE * Math.max(0, this.bytes.byteLength - this.position);
  }

  /** Counts `units` of work, refusing a pickle that asks for more than its length can justify. */
  private charge(units: number): void {
    this.work += units;
    if (this.work > this.maximumWork) {
      this.fail(
        `the pickle asks for more than ${this.maximumWork} opcodes and copied items (${WORK_PER_PICKLE_BYTE} per byte of pickle); it repeats the same large container, which no checkpoint does`,
      );
    }
  }

  private fail(message: string, cause?: unknown): never {
    const opcode = OPCODE_NAMES[this.opcode] ?? `0x${this.opcode.toString(16).padStart(2, '0')}`;
    throw new CheckpointFormatError(
      this.options.fileName,
      `${this.options.pickleName ?? 'pickle'} byte ${this.opcodeStart} (${opcode}): ${message}`,
      cause === undefined ? undefined : { cause },
    );
  }

  private need(count: number): number {
    const start = this.position;
    if (count < 0 || start + count > this.bytes.byteLength) {
      throw new CheckpointFormatError(
        this.options.fileName,
        `truncated: ${this.options.pickleName ?? 'the pickle'} needs ${count} more bytes at byte ${start} (opcode at ${this.opcodeStart}), but the data ends at ${this.bytes.byteLength}`,
      );
    }
    this.position += count;
    return start;
  }

  private take(count: number): Uint8Array {
    const start = this.need(count);
    return this.bytes.subarray(start, start + count);
  }

  private uint8(): number {
    return this.view.getUint8(this.need(1));
  }

  private uint16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  private int32(): number {
    return this.view.getInt32(this.need(4), true);
  }

  private uint32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  private uint64(): number {
    const value = this.view.getBigUint64(this.need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${value} is too large`);
    return Number(value);
  }

  /** Bytes up to (not including) the next newline, for the protocol 0 opcodes. */
  private rawLine(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) {
      throw new CheckpointFormatError(this.options.fileName, `truncated: a newline-terminated argument at byte ${this.position} never ends`);
    }
    const line = this.bytes.subarray(this.position, end);
    this.position = end + 1;
    return line;
  }

  private line(): string {
    return utf8.decode(this.rawLine());
  }

  /** Reads `this.stack` only after the argument is evaluated: popping a MARK replaces the stack. */
  private push(value: unknown): void {
    this.stack.push(value);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('the stack is empty; the pickle is malformed');
    const value = this.stack.pop();
    if (value === MARK) this.fail('found a MARK where a value was expected; the pickle is malformed');
    return value;
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('the stack is empty; the pickle is malformed');
    return this.stack[this.stack.length - 1];
  }

  /** Items pushed since the last MARK, which is removed. */
  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.markedStacks.pop();
    if (previous === undefined) this.fail('no MARK to pop to; the pickle is malformed');
    this.stack = previous;
    return items;
  }

  /** A memo key written as decimal text (PUT and GET of protocol 0). */
  private memoKey(text: string): number {
    const key = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(key)) this.fail(`expected a memo key (a non-negative integer), got ${quoteText(text)}`);
    return key;
  }

  private get(key: number): void {
    if (!this.memo.has(key)) this.fail(`memo key ${key} was never stored`);
    this.stack.push(this.memo.get(key));
  }

  private integerLength(length: number, unit: string, maximum: number): void {
    if (length > maximum) this.fail(`an integer of ${length} ${unit} is longer than the ${maximum} any checkpoint needs`);
  }

  /** Little-endian two's complement of any length, in linear time: one hex string, one BigInt. */
  private decodeLong(bytes: Uint8Array): number | bigint {
    this.integerLength(bytes.length, 'bytes', MAXIMUM_INTEGER_BYTES);
    if (bytes.length === 0) return 0;
    const digits = new Array<string>(bytes.length);
    for (let index = 0; index < bytes.length; index++) digits[bytes.length - 1 - index] = HEX_BYTES[bytes[index]!]!;
    let value = BigInt(`0x${digits.join('')}`);
    if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
    return integer(value);
  }

  /** A decimal integer of protocol 0's INT and LONG. */
  private decimalInteger(text: string): number | bigint {
    this.integerLength(text.length, 'characters', MAXIMUM_INTEGER_DIGITS);
    if (!/^[+-]?\d+$/.test(text)) this.fail(`expected an integer, got ${quoteText(text)}`);
    return integer(BigInt(text));
  }

  private resolveGlobal(module: string, name: string): GlobalReference {
    const written = `${module}.${name}`;
    const normalized = `${PYTHON2_MODULE_NAMES[module] ?? module}.${name}`;
    const definition = this.globals.get(normalized);
    if (definition) return new GlobalReference(normalized, definition);
    if (this.opaqueClasses.has(written) || this.opaqueClasses.has(normalized)) return new GlobalReference(normalized, 'opaque-class');
    // A class-like name may be worth keeping as an inert record; a function never is.
    const hint = /^[A-Z]/.test(name)
      ? `; if you trust the file and only need its data, allowOpaqueObjects: [${quoteText(written)}] keeps it as an inert record without running it`
      : '';
    throw new UnsafeCheckpointError(this.options.fileName, written, `refusing to load global "${truncateText(written)}" (${REFUSAL_REASON})${hint}`);
  }

  private callGlobal(callable: unknown, args: unknown, how: 'REDUCE' | 'NEWOBJ'): unknown {
    if (!(callable instanceof GlobalReference)) this.fail(`expected a global to call, got ${describe(callable)}`);
    if (!Array.isArray(args)) this.fail(`expected an argument tuple for ${callable.qualifiedName}, got ${describe(args)}`);
    const { definition, qualifiedName } = callable;
    if (definition === 'opaque-class') return new OpaqueObject(qualifiedName, args as PickleValue[]);
    if (definition.kind !== 'function') this.fail(`${qualifiedName} is a storage class; it may only appear inside a persistent id`);
    const implementation = how === 'REDUCE' ? definition.call : definition.construct;
    if (!implementation) this.fail(`${qualifiedName} cannot be created with ${how}`);
    // The allowed functions copy their arguments (a list into a set, text into bytes): charge the copy.
    this.charge(args.reduce((total: number, argument: unknown) => total + copiedItems(argument), args.length));
    try {
      return implementation(args);
    } catch (error) {
      if (error instanceof CheckpointFormatError || error instanceof UnsafeCheckpointError) throw error;
      this.fail(`${qualifiedName}: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  private build(target: unknown, state: unknown): void {
    if (target instanceof OpaqueObject) {
      target.state = state as PickleValue;
      return;
    }
    // OrderedDict state dicts carry `_metadata` (module versions) as an attribute; tensors never need it.
    if (target instanceof Map) return;
    this.fail(`cannot set the state of ${describe(target)}`);
  }

  private setItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof Map)) this.fail(`expected a dict to add items to, got ${describe(target)}`);
    if (items.length % 2 !== 0) this.fail('a dict needs an even number of keys and values');
    for (let index = 0; index < items.length; index += 2) target.set(items[index], items[index + 1]);
  }

  private appendItems(target: unknown, items: readonly unknown[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail(`expected a list to append to, got ${describe(target)}`);
    for (const item of items) target.push(item);
  }

  private persistentLoad(persistentId: unknown): unknown {
    if (!this.options.persistentLoad) this.fail('persistent ids are not allowed in this pickle');
    return this.options.persistentLoad(persistentId);
  }

  run(): UnpickleResult {
    const { bytes } = this;
    for (;;) {
      this.opcodeStart = this.position;
      if (this.position >= bytes.byteLength) {
        throw new CheckpointFormatError(this.options.fileName, `truncated: the pickle ends at byte ${this.position} before its STOP opcode`);
      }
      const opcode = bytes[this.position++]!;
      this.opcode = opcode;
      this.charge(1);
      switch (opcode) {
        case 0x80: {
          const protocol = this.uint8();
          if (protocol > 5) this.fail(`pickle protocol ${protocol} is newer than the 5 this reader knows`);
          break;
        }
        case 0x95: // FRAME: only groups opcodes for buffered reading
          this.uint64();
          break;
        case 0x2e: {
          const value = this.pop();
          return { value, end: this.position };
        }
        case 0x28:
          this.markedStacks.push(this.stack);
          this.stack = [];
          break;
        case 0x30:
          if (this.stack.length === 0) this.popMark();
          else this.stack.pop();
          break;
        case 0x31:
          this.popMark();
          break;
        case 0x32:
          this.push(this.top());
          break;
        // Constants and numbers.
        case 0x4e:
          this.push(null);
          break;
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x4b:
          this.push(this.uint8());
          break;
        case 0x4d:
          this.push(this.uint16());
          break;
        case 0x4a:
          this.push(this.int32());
          break;
        case 0x8a:
          this.push(this.decodeLong(this.take(this.uint8())));
          break;
        case 0x8b: {
          const length = this.int32();
          if (length < 0) this.fail(`negative length ${length}`);
          this.push(this.decodeLong(this.take(length)));
          break;
        }
        case 0x47:
          this.push(this.view.getFloat64(this.need(8), false)); // big-endian, unlike everything else
          break;
        case 0x49: {
          const text = this.line();
          // Protocol 0 writes booleans as INT 01 and 00.
          if (text === '01') this.push(true);
          else if (text === '00') this.push(false);
          else this.push(this.decimalInteger(text));
          break;
        }
        case 0x4c:
          this.push(this.decimalInteger(this.line().replace(/L$/, '')));
          break;
        case 0x46: {
          const text = this.line();
          const value = Number(text);
          if (Number.isNaN(value) && !/^[+-]?nan$/i.test(text)) this.fail(`expected a float, got ${quoteText(text)}`);
          this.push(value);
          break;
        }
        // Text and bytes. Python 2 `str` (BINSTRING) is read as UTF-8 text, as torch.load does by default.
        case 0x58:
          this.push(utf8.decode(this.take(this.uint32())));
          break;
        case 0x8c:
          this.push(utf8.decode(this.take(this.uint8())));
          break;
        case 0x8d:
          this.push(utf8.decode(this.take(this.uint64())));
          break;
        case 0x54: {
          const length = this.int32();
          if (length < 0) this.fail(`negative length ${length}`);
          this.push(utf8.decode(this.take(length)));
          break;
        }
        case 0x55:
          this.push(utf8.decode(this.take(this.uint8())));
          break;
        case 0x42:
          this.push(this.take(this.uint32()).slice());
          break;
        case 0x43:
          this.push(this.take(this.uint8()).slice());
          break;
        case 0x8e:
        case 0x96:
          this.push(this.take(this.uint64()).slice());
          break;
        case 0x56:
          this.push(decodeRawUnicodeEscape(this.rawLine(), (message) => this.fail(message)));
          break;
        case 0x53:
          this.fail('protocol 0 quoted strings (Python 2 str) are not supported; torch.save writes protocol 2');
          break;
        case 0x97:
        case 0x98:
          this.fail('out-of-band buffers (protocol 5) are not supported');
          break;
        // Containers.
        case 0x29:
          this.push(Object.freeze([]));
          break;
        case 0x5d:
          this.push([]);
          break;
        case 0x7d:
          this.push(new Map());
          break;
        case 0x8f:
          this.push(new Set());
          break;
        case 0x74:
          this.push(Object.freeze(this.popMark()));
          break;
        case 0x85: {
          const first = this.pop();
          this.push(Object.freeze([first]));
          break;
        }
        case 0x86: {
          const second = this.pop();
          const first = this.pop();
          this.push(Object.freeze([first, second]));
          break;
        }
        case 0x87: {
          const third = this.pop();
          const second = this.pop();
          const first = this.pop();
          this.push(Object.freeze([first, second, third]));
          break;
        }
        case 0x6c:
          this.push(this.popMark());
          break;
        case 0x64: {
          const dict = new Map();
          this.setItems(dict, this.popMark());
          this.push(dict);
          break;
        }
        case 0x91:
          this.push(new Set(this.popMark()));
          break;
        case 0x61: {
          const item = this.pop();
          this.appendItems(this.top(), [item]);
          break;
        }
        case 0x65: {
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x73: {
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.top(), [key, value]);
          break;
        }
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: {
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof Set)) this.fail(`expected a set to add items to, got ${describe(target)}`);
          for (const item of items) target.add(item);
          break;
        }
        // The memo.
        case 0x71:
          this.memo.set(this.uint8(), this.top());
          break;
        case 0x72:
          this.memo.set(this.uint32(), this.top());
          break;
        case 0x70:
          this.memo.set(this.memoKey(this.line()), this.top());
          break;
        case 0x94:
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x68:
          this.get(this.uint8());
          break;
        case 0x6a:
          this.get(this.uint32());
          break;
        case 0x67:
          this.get(this.memoKey(this.line()));
          break;
        // Globals and calls: the only places a pickle could run code, each checked against the allow-list.
        case 0x63: {
          const module = this.line();
          const name = this.line();
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x93: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs a module and a name as strings');
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x69: {
          const module = this.line();
          const name = this.line();
          const callable = this.resolveGlobal(module, name);
          this.push(this.callGlobal(callable, Object.freeze(this.popMark()), 'REDUCE'));
          break;
        }
        case 0x6f: {
          const [callable, ...args] = this.popMark();
          this.push(this.callGlobal(callable, Object.freeze(args), 'REDUCE'));
          break;
        }
        case 0x52: {
          const args = this.pop();
          const callable = this.pop();
          this.push(this.callGlobal(callable, args, 'REDUCE'));
          break;
        }
        case 0x81: {
          const args = this.pop();
          const callable = this.pop();
          this.push(this.callGlobal(callable, args, 'NEWOBJ'));
          break;
        }
        case 0x92: {
          const keywordArguments = this.pop();
          const args = this.pop();
          const callable = this.pop();
          if (!(keywordArguments instanceof Map) || keywordArguments.size > 0) this.fail('NEWOBJ_EX with keyword arguments is not supported');
          this.push(this.callGlobal(callable, args, 'NEWOBJ'));
          break;
        }
        case 0x62: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x82:
        case 0x83:
        case 0x84:
          this.fail('extension codes (copyreg.add_extension) name globals by number; refusing them');
          break;
        case 0x51:
          this.push(this.persistentLoad(this.pop()));
          break;
        case 0x50:
          this.push(this.persistentLoad(this.line()));
          break;
        default:
          this.fail(`unknown opcode 0x${opcode.toString(16).padStart(2, '0')}; the data is not a pickle or is corrupt`);
      }
    }
  }
}

/** Items an allowed global copies when it is given `value`: a container's length, a text's characters. */
function copiedItems(value: unknown): number {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Map || value instanceof Set) return value.size;
  return 0;
}

/** A short description of a stack value for error messages, never longer than about 100 characters. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (value instanceof GlobalReference) return `global ${value.qualifiedName}`;
  if (value instanceof OpaqueObject) return `an opaque ${value.className}`;
  if (value instanceof Map) return `a dict of ${value.size} items`;
  if (value instanceof Set) return `a set of ${value.size} items`;
  if (value instanceof Uint8Array) return `bytes (${value.byteLength})`;
  if (Array.isArray(value)) return `${Object.isFrozen(value) ? 'a tuple' : 'a list'} of ${value.length} items`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  if (typeof value === 'string') return `string ${quoteText(value)}`;
  if (typeof value === 'bigint') {
    // Printing a huge integer in decimal costs more than reading it; its size says enough.
    const bits = value < 0n ? (-value).toString(2).length : value.toString(2).length;
    return bits > 200 ? `an integer of ${bits} bits` : `integer ${value}`;
  }
  if (typeof value === 'number') return `number ${value}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Reads one pickle from `bytes` at `options.offset` without executing anything. Tuples come back as frozen
 * arrays, lists as arrays, dicts as Maps, sets as Sets, bytes as Uint8Arrays, Python ints as numbers (as
 * bigints beyond 2^53). Globals outside the allow-list throw {@link UnsafeCheckpointError}.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): UnpickleResult {
  return new Unpickler(bytes, options).run();
}
