/**
 * A minimal WebAssembly binary writer: just the instructions the float32 matrix kernels need (integer
 * address arithmetic, loops, 128-bit SIMD loads, stores, multiplies and adds). It lets the kernels ship as
 * a few hundred bytes built at run time, with no toolchain and no dependency.
 *
 * Encoding follows the WebAssembly core specification 2.0 (binary format, section 5) and its SIMD
 * proposal's opcode table.
 */

/** Value types, by their binary codes. */
export const ValueType = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

function unsignedLeb128(value: number, into: number[]): void {
  let remaining = value >>> 0;
  do {
    let byte = remaining & 0x7f;
    remaining >>>= 7;
    if (remaining !== 0) byte |= 0x80;
    into.push(byte);
  } while (remaining !== 0);
}

function signedLeb128(value: number, into: number[]): void {
  let remaining = value | 0;
  for (;;) {
    const byte = remaining & 0x7f;
    remaining >>= 7;
    const done = (remaining === 0 && (byte & 0x40) === 0) || (remaining === -1 && (byte & 0x40) !== 0);
    into.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function encodeName(name: string, into: number[]): void {
  const bytes = new TextEncoder().encode(name);
  unsignedLeb128(bytes.length, into);
  into.push(...bytes);
}

/** The body of one function: locals are numbered parameters first, then the declared locals. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];

  constructor(private readonly parameterCount: number) {}

  /** Declares a local and returns its index. */
  local(type: ValueType): number {
    this.localTypes.push(type);
    return this.parameterCount + this.localTypes.length - 1;
  }

  get(index: number): this {
    this.code.push(0x20);
    unsignedLeb128(index, this.code);
    return this;
  }

  set(index: number): this {
    this.code.push(0x21);
    unsignedLeb128(index, this.code);
    return this;
  }

  tee(index: number): this {
    this.code.push(0x22);
    unsignedLeb128(index, this.code);
    return this;
  }

  i32Const(value: number): this {
    this.code.push(0x41);
    signedLeb128(value, this.code);
    return this;
  }

  i32Add(): this {
    this.code.push(0x6a);
    return this;
  }

  i32Sub(): this {
    this.code.push(0x6b);
    return this;
  }

  i32Mul(): this {
    this.code.push(0x6c);
    return this;
  }

  i32LessThanUnsigned(): this {
    this.code.push(0x49);
    return this;
  }

  i32EqualsZero(): this {
    this.code.push(0x45);
    return this;
  }

  /** `block … end`: a `br` to it jumps forward past its end. */
  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }

  /** `loop … end`: a `br` to it jumps back to its start. */
  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }

  /** `if … else … end` on the i32 on the stack. */
  ifElse(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
    return this;
  }

  branch(depth: number): this {
    this.code.push(0x0c);
    unsignedLeb128(depth, this.code);
    return this;
  }

  branchIf(depth: number): this {
    this.code.push(0x0d);
    unsignedLeb128(depth, this.code);
    return this;
  }

  f32Load(offset = 0): this {
    this.code.push(0x2a, 2);
    unsignedLeb128(offset, this.code);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    unsignedLeb128(opcode, this.code);
    return this;
  }

  /** Four floats from memory at the address on the stack plus `offset` bytes. */
  v128Load(offset = 0): this {
    this.simd(0x00).code.push(4);
    unsignedLeb128(offset, this.code);
    return this;
  }

  /** One float from memory, copied into all four lanes. */
  v128Load32Splat(offset = 0): this {
    this.simd(0x09).code.push(2);
    unsignedLeb128(offset, this.code);
    return this;
  }

  /** One double from memory, copied into both lanes. */
  v128Load64Splat(offset = 0): this {
    this.simd(0x0a).code.push(3);
    unsignedLeb128(offset, this.code);
    return this;
  }

  v128Store(offset = 0): this {
    this.simd(0x0b).code.push(4);
    unsignedLeb128(offset, this.code);
    return this;
  }

  v128Zero(): this {
    this.simd(0x0c).code.push(...new Array<number>(16).fill(0));
    return this;
  }

  f32x4Add(): this {
    return this.simd(0xe4);
  }

  f32x4Multiply(): this {
    return this.simd(0xe6);
  }

  f64x2Add(): this {
    return this.simd(0xf0);
  }

  f64x2Multiply(): this {
    return this.simd(0xf2);
  }

  /** The encoded body: local declarations, then the code, then `end`. */
  encode(): number[] {
    const bytes: number[] = [];
    // Runs of equal types are declared together, as the format groups them.
    const groups: { type: ValueType; count: number }[] = [];
    for (const type of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last.type === type) last.count++;
      else groups.push({ type, count: 1 });
    }
    unsignedLeb128(groups.length, bytes);
    for (const group of groups) {
      unsignedLeb128(group.count, bytes);
      bytes.push(group.type);
    }
    bytes.push(...this.code, 0x0b);
    const sized: number[] = [];
    unsignedLeb128(bytes.length, sized);
    return [...sized, ...bytes];
  }
}

export interface ExportedFunction {
  readonly name: string;
  readonly parameters: readonly ValueType[];
  readonly body: FunctionBody;
}

function section(id: number, contents: number[]): number[] {
  const bytes = [id];
  unsignedLeb128(contents.length, bytes);
  return [...bytes, ...contents];
}

/**
 * A module that imports its memory as `env.memory` and exports the given functions, none of which return
 * a value.
 */
export function encodeModule(functions: readonly ExportedFunction[]): Uint8Array {
  const types: number[] = [];
  unsignedLeb128(functions.length, types);
  for (const { parameters } of functions) {
    types.push(0x60);
    unsignedLeb128(parameters.length, types);
    types.push(...parameters);
    types.push(0); // no results
  }
  const imports: number[] = [1];
  encodeName('env', imports);
  encodeName('memory', imports);
  imports.push(0x02, 0x00, 1); // memory, limits: at least one page, no maximum
  const declarations: number[] = [];
  unsignedLeb128(functions.length, declarations);
  functions.forEach((_, index) => unsignedLeb128(index, declarations));
  const exports: number[] = [];
  unsignedLeb128(functions.length, exports);
  functions.forEach(({ name }, index) => {
    encodeName(name, exports);
    exports.push(0x00);
    unsignedLeb128(index, exports);
  });
  const code: number[] = [];
  unsignedLeb128(functions.length, code);
  for (const { body } of functions) code.push(...body.encode());
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, declarations),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
