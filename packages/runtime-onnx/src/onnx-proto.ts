// The subset of onnx.proto (IR version 8, opset 17) this package writes, as plain objects, and their
// encoding. Field numbers are those of onnx/onnx.proto.
import { ProtobufMessage } from './protobuf.js';

/** TensorProto.DataType values used here. */
export const OnnxDataType = { float: 1, int64: 7 } as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** IR version 8 is the one that goes with opset 17 (onnx 1.12). */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET_VERSION = 17;

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export type OnnxAttribute =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] };

export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
  /** Empty for the default `ai.onnx` domain. */
  readonly domain?: string;
}

/** A graph input or output; a string dimension is symbolic (`batch`). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elementType: OnnxDataType;
  readonly dims: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  readonly graph: OnnxGraph;
  readonly producerName: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  /** Opset per domain; the default domain is `''`. */
  readonly opsets?: ReadonlyMap<string, number>;
}

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Where large initializers go when a model is written with ONNX external data: one file beside the model,
 * each tensor's bytes at an offset aligned to a page (so onnxruntime may map it), in `parts` order.
 */
class ExternalData {
  readonly parts: Uint8Array[] = [];
  byteLength = 0;

  constructor(
    readonly location: string,
    readonly threshold: number,
  ) {}

  /** Appends a tensor's bytes and returns the entries of its `external_data` field. */
  add(bytes: Uint8Array): [string, string][] {
    const padding = -this.byteLength & (EXTERNAL_DATA_ALIGNMENT - 1);
    if (padding > 0) this.parts.push(new Uint8Array(padding));
    const offset = this.byteLength + padding;
    this.parts.push(bytes);
    this.byteLength = offset + bytes.byteLength;
    return [
      ['location', this.location],
      ['offset', String(offset)],
      ['length', String(bytes.byteLength)],
    ];
  }
}

const EXTERNAL_DATA_ALIGNMENT = 4096;
/** TensorProto.DataLocation.EXTERNAL. */
const DATA_LOCATION_EXTERNAL = 1;

function encodeTensor(tensor: OnnxTensor, external?: ExternalData): ProtobufMessage {
  const expected = tensor.dims.reduce((product, extent) => product * extent, 1);
  if (tensor.data.length !== expected) {
    throw new Error(`ONNX tensor ${tensor.name}: dims [${tensor.dims.join(', ')}] need ${expected} values, got ${tensor.data.length}`);
  }
  // raw_data is little-endian by definition; a view of the typed array is that only on little-endian hosts.
  if (!LITTLE_ENDIAN) throw new Error('ONNX tensor encoding needs a little-endian host');
  const message = new ProtobufMessage();
  message.packedVarints(1, tensor.dims);
  message.varint(2, tensor.data instanceof Float32Array ? OnnxDataType.float : OnnxDataType.int64);
  message.string(8, tensor.name);
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  if (external && bytes.byteLength >= external.threshold) {
    for (const [key, value] of external.add(bytes)) message.message(13, new ProtobufMessage().string(1, key).string(2, value));
    message.varint(14, DATA_LOCATION_EXTERNAL);
  } else message.bytes(9, bytes);
  return message;
}

function encodeAttribute(name: string, attribute: OnnxAttribute): ProtobufMessage {
  const message = new ProtobufMessage().string(1, name).varint(20, ATTRIBUTE_TYPE[attribute.kind]);
  switch (attribute.kind) {
    case 'float':
      return message.float32(2, attribute.value);
    case 'int':
      return message.varint(3, attribute.value);
    case 'string':
      return message.string(4, attribute.value);
    case 'tensor':
      return message.message(5, encodeTensor(attribute.value));
    case 'floats':
      return message.packedFloat32(7, attribute.value);
    case 'ints':
      return message.packedVarints(8, attribute.value);
  }
}

function encodeNode(node: OnnxNode): ProtobufMessage {
  const message = new ProtobufMessage();
  for (const input of node.inputs) message.string(1, input);
  for (const output of node.outputs) message.string(2, output);
  message.string(3, node.name).string(4, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) message.message(5, encodeAttribute(name, attribute));
  if (node.domain) message.string(7, node.domain);
  return message;
}

function encodeValueInfo(value: OnnxValueInfo): ProtobufMessage {
  const shape = new ProtobufMessage();
  for (const extent of value.dims) {
    const dimension = new ProtobufMessage();
    if (typeof extent === 'string') dimension.string(2, extent);
    else dimension.varint(1, extent);
    shape.message(1, dimension);
  }
  const tensorType = new ProtobufMessage().varint(1, value.elementType).message(2, shape);
  const type = new ProtobufMessage().message(1, tensorType);
  return new ProtobufMessage().string(1, value.name).message(2, type);
}

function encodeGraph(graph: OnnxGraph, external?: ExternalData): ProtobufMessage {
  const message = new ProtobufMessage();
  for (const node of graph.nodes) message.message(1, encodeNode(node));
  message.string(2, graph.name);
  for (const tensor of graph.initializers) message.message(5, encodeTensor(tensor, external));
  for (const input of graph.inputs) message.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) message.message(12, encodeValueInfo(output));
  return message;
}

/** Serialises a model to the bytes of an `.onnx` file (a ModelProto). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  return encodeModel(model).encode();
}

/** A model whose large initializers live in a file beside it: the `.onnx` bytes and that file's bytes in parts. */
export interface OnnxModelWithExternalData {
  readonly model: Uint8Array;
  /** The data file's name, as the model refers to it (relative to the model's folder). */
  readonly location: string;
  readonly parts: readonly Uint8Array[];
  readonly byteLength: number;
}

/**
 * Serialises a model with ONNX external data: every initializer of at least `threshold` bytes is stored in
 * the file `location` beside the model, so models past protobuf's 2 GiB limit (ViT-g/14, ViT-H/14 in
 * float32) can be written and loaded from a path.
 */
export function encodeOnnxModelWithExternalData(model: OnnxModel, location: string, threshold = 1024): OnnxModelWithExternalData {
  const external = new ExternalData(location, threshold);
  const bytes = encodeModel(model, external).encode();
  return { model: bytes, location, parts: external.parts, byteLength: external.byteLength };
}

function encodeModel(model: OnnxModel, external?: ExternalData): ProtobufMessage {
  const message = new ProtobufMessage().varint(1, ONNX_IR_VERSION).string(2, model.producerName);
  if (model.producerVersion) message.string(3, model.producerVersion);
  if (model.docString) message.string(6, model.docString);
  message.message(7, encodeGraph(model.graph, external));
  for (const [domain, version] of model.opsets ?? new Map([['', ONNX_OPSET_VERSION]])) {
    message.message(8, new ProtobufMessage().string(1, domain).varint(2, version));
  }
  // protobuf's own limit: larger models keep their weights in external data (encodeOnnxModelWithExternalData).
  if (message.byteLength >= 2 ** 31) {
    throw new Error(`ONNX model ${model.graph.name} would be ${message.byteLength} bytes, over protobuf's 2 GiB limit; write its weights as external data`);
  }
  return message;
}
