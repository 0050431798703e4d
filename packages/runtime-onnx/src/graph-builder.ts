import {
  ONNX_OPSET_VERSION,
  OnnxDataType,
  encodeOnnxModel,
  encodeOnnxModelWithExternalData,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxModelWithExternalData,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx-proto.js';

/** Typed attribute values, so a float attribute that happens to be whole is never written as an int. */
export const attribute = {
  int: (value: number): OnnxAttribute => ({ kind: 'int', value }),
  ints: (value: readonly number[]): OnnxAttribute => ({ kind: 'ints', value }),
  float: (value: number): OnnxAttribute => ({ kind: 'float', value }),
  floats: (value: readonly number[]): OnnxAttribute => ({ kind: 'floats', value }),
  string: (value: string): OnnxAttribute => ({ kind: 'string', value }),
  tensor: (value: OnnxTensor): OnnxAttribute => ({ kind: 'tensor', value }),
};

/**
 * Collects nodes and initializers of one graph. Every value is named after the node that makes it
 * (`layer1.0.conv1`, `blocks.3.attn.scores`), so an exported model reads like the PyTorch module.
 */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly valueNames = new Set<string>();
  /** Operator domains besides the default one, with their opset versions (e.g. onnxruntime's `com.microsoft`). */
  private readonly domains = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A float32 initializer; returns its value name. */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    this.claim(name);
    this.initializers.push({ name, data, dims });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices); a scalar when `dims` is `[]`. */
  integers(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    this.claim(name);
    this.initializers.push({ name, data: BigInt64Array.from(values, (value) => BigInt(value)), dims });
    return name;
  }

  /** A float32 scalar initializer. */
  scalar(name: string, value: number): string {
    return this.weight(name, Float32Array.of(value), []);
  }

  /** Adds a node with one output, named like the node, and returns the output's name. */
  node(opType: string, name: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>): string {
    this.claim(name);
    this.nodes.push({ opType, name, inputs, outputs: [name], ...(attributes ? { attributes } : {}) });
    return name;
  }

  /** `node` for an operator of another domain, e.g. onnxruntime's contrib ops (`com.microsoft`, opset 1). */
  domainNode(
    domain: string,
    opset: number,
    opType: string,
    name: string,
    inputs: readonly string[],
    attributes?: Readonly<Record<string, OnnxAttribute>>,
  ): string {
    this.claim(name);
    this.domains.set(domain, opset);
    this.nodes.push({ opType, domain, name, inputs, outputs: [name], ...(attributes ? { attributes } : {}) });
    return name;
  }

  input(name: string, dims: readonly (number | string)[]): string {
    this.claim(name);
    this.inputs.push({ name, elementType: OnnxDataType.float, dims });
    return name;
  }

  /** Declares an existing float32 value as a graph output. */
  output(name: string, dims: readonly (number | string)[]): void {
    if (!this.valueNames.has(name)) throw new Error(`graph ${this.name}: output ${name} is not a value of the graph`);
    this.outputs.push({ name, elementType: OnnxDataType.float, dims });
  }

  graph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** The `.onnx` bytes (opset 17, and the other domains' opsets its nodes use). */
  encode(producerName: string): Uint8Array {
    return encodeOnnxModel(this.model(producerName));
  }

  /** The `.onnx` bytes with the initializers of at least `threshold` bytes in the external data file `location`. */
  encodeWithExternalData(producerName: string, location: string, threshold?: number): OnnxModelWithExternalData {
    return encodeOnnxModelWithExternalData(this.model(producerName), location, threshold);
  }

  /** The bytes of all initializers: what decides whether the model fits in one protobuf message. */
  get initializerBytes(): number {
    return this.initializers.reduce((sum, tensor) => sum + tensor.data.byteLength, 0);
  }

  private model(producerName: string): OnnxModel {
    return { graph: this.graph(), producerName, opsets: new Map([['', ONNX_OPSET_VERSION], ...this.domains]) };
  }

  private claim(name: string): void {
    if (this.valueNames.has(name)) throw new Error(`graph ${this.name}: the value name ${name} is used twice`);
    this.valueNames.add(name);
  }
}
