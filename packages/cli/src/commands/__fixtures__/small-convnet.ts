// A small convolutional network written as an ONNX file, for tests of the extraction path that need real
// onnxruntime inference without ResNet-50's seconds of weight generation and graph optimisation per run.
import { writeFileSync } from 'node:fs';
import { createRng } from '@medssl/core';
import { encodeOnnxModel, type OnnxTensor } from '@medssl/runtime-onnx';

/** Writes `[n, 3, H, W]` → conv 3x3/2 (3→16) → ReLU → conv 3x3/2 (16→32) → ReLU → global average pool → `features` `[n, 32]`. */
export function writeSmallConvnet(path: string, seed = 0): void {
  const rng = createRng(seed);
  const tensor = (name: string, dims: number[], scale: number): OnnxTensor => {
    const data = new Float32Array(dims.reduce((product, extent) => product * extent, 1));
    for (let index = 0; index < data.length; index++) data[index] = rng.normal() * scale;
    return { name, dims, data };
  };
  const convolution = (name: string, input: string, output: string) => ({
    opType: 'Conv',
    name,
    inputs: [input, `${name}.weight`, `${name}.bias`],
    outputs: [output],
    attributes: {
      kernel_shape: { kind: 'ints' as const, value: [3, 3] },
      strides: { kind: 'ints' as const, value: [2, 2] },
      pads: { kind: 'ints' as const, value: [1, 1, 1, 1] },
    },
  });
  const bytes = encodeOnnxModel({
    producerName: 'medssl-tests',
    graph: {
      name: 'small-convnet',
      inputs: [{ name: 'image', elementType: 1, dims: ['batch', 3, 'height', 'width'] }],
      outputs: [{ name: 'features', elementType: 1, dims: ['batch', 32] }],
      initializers: [
        tensor('conv1.weight', [16, 3, 3, 3], 0.3),
        tensor('conv1.bias', [16], 0.1),
        tensor('conv2.weight', [32, 16, 3, 3], 0.1),
        tensor('conv2.bias', [32], 0.1),
      ],
      nodes: [
        convolution('conv1', 'image', 'conv1.out'),
        { opType: 'Relu', name: 'relu1', inputs: ['conv1.out'], outputs: ['relu1.out'] },
        convolution('conv2', 'relu1.out', 'conv2.out'),
        { opType: 'Relu', name: 'relu2', inputs: ['conv2.out'], outputs: ['relu2.out'] },
        { opType: 'GlobalAveragePool', name: 'pool', inputs: ['relu2.out'], outputs: ['pool.out'] },
        { opType: 'Flatten', name: 'flatten', inputs: ['pool.out'], outputs: ['features'], attributes: { axis: { kind: 'int', value: 1 } } },
      ],
    },
  });
  writeFileSync(path, bytes);
}
