import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attribute, GraphBuilder } from './graph-builder.js';
import { ProtobufMessage } from './protobuf.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ProtobufMessage', () => {
  it('encodes the wire formats as the protobuf documentation does', () => {
    expect(hex(new ProtobufMessage().varint(1, 150).encode())).toBe('089601');
    expect(hex(new ProtobufMessage().string(2, 'testing').encode())).toBe('120774657374696e67');
    expect(hex(new ProtobufMessage().packedVarints(4, [3, 270, 86942]).encode())).toBe('2206038e029ea705');
    expect(hex(new ProtobufMessage().float32(5, 1.5).encode())).toBe('2d0000c03f');
    expect(hex(new ProtobufMessage().message(3, new ProtobufMessage().varint(1, 150)).encode())).toBe('1a03089601');
  });

  it('writes negative int64 values as ten-byte two’s complement varints', () => {
    expect(hex(new ProtobufMessage().varint(3, -1).encode())).toBe('18ffffffffffffffffff01');
    expect(hex(new ProtobufMessage().varint(3, 2n ** 63n - 1n).encode())).toBe('18ffffffffffffffff7f');
  });

  it('writes large byte fields, referenced until encoding, with multi-byte lengths', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, index) => index % 256);
    const nested = new ProtobufMessage().bytes(9, payload);
    const encoded = new ProtobufMessage().message(7, nested).encode();
    // 7<<3|2 = 0x3a; nested length 303 = 0xaf 0x02; then 9<<3|2 = 0x4a and 300 = 0xac 0x02.
    expect(hex(encoded.subarray(0, 6))).toBe('3aaf024aac02');
    expect(encoded.subarray(6)).toEqual(payload);
    expect(encoded.byteLength).toBe(306);
  });

  it('refuses field numbers protobuf does not allow', () => {
    expect(() => new ProtobufMessage().varint(0, 1)).toThrow(/invalid field number 0/);
  });
});

describe('ONNX model encoding', () => {
  it('writes a model onnxruntime loads, with every attribute kind this package uses', async () => {
    const graph = new GraphBuilder('attributes');
    const input = graph.input('x', ['batch', 2]);
    const scales = graph.node('Constant', 'scales', [], { value_floats: attribute.floats([1.5, 2.5]) });
    const offsets = graph.node('Constant', 'offsets', [], { value: attribute.tensor({ name: 'offsets_value', dims: [2], data: Float32Array.of(0.25, -1) }) });
    const affine = graph.node('Add', 'affine', [graph.node('Mul', 'scaled', [input, scales]), offsets]);
    const leaky = graph.node('LeakyRelu', 'leaky', [affine], { alpha: attribute.float(0.5) });
    const padded = graph.node('Pad', 'padded', [leaky, graph.integers('pads', [0, 1, 0, 1])], { mode: attribute.string('reflect') });
    const softmax = graph.node('Softmax', 'softmax', [padded], { axis: attribute.int(-1) });
    const transposed = graph.node('Transpose', 'transposed', [softmax], { perm: attribute.ints([1, 0]) });
    graph.output(padded, ['batch', 4]);
    graph.output(transposed, [4, 'batch']);
    const session = await ort.InferenceSession.create(graph.encode('test'));
    try {
      expect(session.inputNames).toEqual(['x']);
      expect(session.outputNames).toEqual(['padded', 'transposed']);
      const results = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, -2, 0), [2, 2]) });
      // Row 1: [1.5+0.25, 5-1] = [1.75, 4]; row 2: [-3+0.25, -1] → leaky ½ → [-1.375, -0.5]; reflect pads one each side.
      expect(Array.from(results.padded!.data as Float32Array)).toEqual([4, 1.75, 4, 1.75, -0.5, -1.375, -0.5, -1.375]);
      expect(results.transposed!.dims).toEqual([4, 2]);
    } finally {
      await session.release();
    }
  });

  it('refuses an initializer whose values do not fill its dims, and a reused value name', () => {
    const graph = new GraphBuilder('broken');
    graph.weight('w', new Float32Array(5), [2, 3]);
    expect(() => graph.encode('test')).toThrow(/ONNX tensor w: dims \[2, 3\] need 6 values, got 5/);
    expect(() => graph.scalar('w', 1)).toThrow(/value name w is used twice/);
  });
});
