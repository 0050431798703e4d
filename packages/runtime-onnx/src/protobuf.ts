// A hand-written protocol-buffers encoder for the few wire types ONNX needs. It keeps large byte fields
// (weights) as views until the final `encode`, so a 100 MB model is copied once, into one buffer.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

type Piece = Uint8Array | ProtobufMessage;

/** Bytes needed by a varint holding the unsigned 64-bit value. */
function varintLength(value: bigint): number {
  let length = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    length++;
  }
  return length;
}

/** int64 fields take negative numbers as 64-bit two's complement, which makes them ten bytes long. */
function toUnsigned64(value: number | bigint): bigint {
  const integer = typeof value === 'bigint' ? value : BigInt(value);
  if (integer < -(1n << 63n) || integer >= 1n << 64n) throw new RangeError(`protobuf: ${integer} does not fit in 64 bits`);
  return BigInt.asUintN(64, integer);
}

/**
 * One protobuf message under construction. Fields are appended in call order; nested messages stay
 * objects until `encode`, which measures every message once and writes everything into one buffer.
 */
export class ProtobufMessage {
  private readonly pieces: Piece[] = [];
  /** Small scalar bytes gathered here and flushed into `pieces` before any large or nested piece. */
  private pending: number[] = [];
  private measuredLength: number | undefined;

  /** An unsigned or signed (two's complement) integer field: int32, int64, uint64, enum, bool. */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.writeVarint(toUnsigned64(typeof value === 'boolean' ? (value ? 1 : 0) : value));
    return this;
  }

  /** A `float` field (fixed 32-bit, little-endian). */
  float32(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.writeFixed32(value);
    return this;
  }

  /** A `double` field (fixed 64-bit, little-endian). */
  float64(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.pending.push(...bytes);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  /** A `bytes` field. Large arrays are referenced, not copied, until `encode`. */
  bytes(field: number, bytes: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.writeVarint(BigInt(bytes.byteLength));
    if (bytes.byteLength <= 64) this.pending.push(...bytes);
    else {
      this.flush();
      this.pieces.push(bytes);
    }
    return this;
  }

  message(field: number, child: ProtobufMessage): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.flush();
    this.pieces.push(child);
    return this;
  }

  /** A packed `repeated int64` (or int32) field. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const body = new ProtobufMessage();
    for (const value of values) body.writeVarint(toUnsigned64(value));
    return this.message(field, body);
  }

  /** A packed `repeated float` field. */
  packedFloat32(field: number, values: readonly number[]): this {
    const body = new ProtobufMessage();
    for (const value of values) body.writeFixed32(value);
    return this.message(field, body);
  }

  /** Encoded size in bytes (without this message's own tag and length when nested). */
  get byteLength(): number {
    if (this.measuredLength === undefined) {
      this.flush();
      let length = 0;
      for (const piece of this.pieces) {
        if (piece instanceof ProtobufMessage) {
          const childLength = piece.byteLength;
          length += varintLength(BigInt(childLength)) + childLength;
        } else length += piece.byteLength;
      }
      this.measuredLength = length;
    }
    return this.measuredLength;
  }

  /** The message's bytes. Append nothing after calling this: the measured length is kept. */
  encode(): Uint8Array {
    const output = new Uint8Array(this.byteLength);
    const end = this.writeInto(output, 0);
    if (end !== output.byteLength) throw new Error(`protobuf: wrote ${end} bytes into a message measured at ${output.byteLength}`);
    return output;
  }

  private writeInto(output: Uint8Array, offset: number): number {
    for (const piece of this.pieces) {
      if (piece instanceof ProtobufMessage) {
        let length = piece.byteLength;
        while (length >= 0x80) {
          output[offset++] = (length & 0x7f) | 0x80;
          length = Math.floor(length / 128);
        }
        output[offset++] = length;
        offset = piece.writeInto(output, offset);
      } else {
        output.set(piece, offset);
        offset += piece.byteLength;
      }
    }
    return offset;
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 536_870_911) throw new RangeError(`protobuf: invalid field number ${field}`);
    if (this.measuredLength !== undefined) throw new Error('protobuf: a message cannot change after it has been measured');
    this.writeVarint(BigInt(field) * 8n + BigInt(wireType));
  }

  private writeVarint(value: bigint): void {
    while (value >= 0x80n) {
      this.pending.push(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    this.pending.push(Number(value));
  }

  private writeFixed32(value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pending.push(...bytes);
  }

  private flush(): void {
    if (this.pending.length > 0) {
      this.pieces.push(Uint8Array.from(this.pending));
      this.pending = [];
    }
  }
}
