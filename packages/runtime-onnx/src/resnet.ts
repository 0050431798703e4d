import type { ResNetArchitecture, Tensor } from '@medssl/spec';
import { describeArchitecture } from '@medssl/weights';
import { attribute, GraphBuilder } from './graph-builder.js';
import { requireTensor, type TensorSource } from './tensors.js';

/** torchvision's BatchNorm2d default. */
const BATCH_NORM_EPSILON = 1e-5;

/**
 * A convolution followed by inference-mode batch norm is one convolution: scale each output channel's
 * kernel by γ/√(σ²+ε) and give it the bias β − μ·γ/√(σ²+ε). Computed in float64, rounded once.
 */
export function foldBatchNorm(
  kernel: Tensor,
  batchNorm: { weight: Tensor; bias: Tensor; runningMean: Tensor; runningVariance: Tensor },
  epsilon = BATCH_NORM_EPSILON,
): { kernel: Float32Array; bias: Float32Array } {
  const outputChannels = kernel.shape[0]!;
  const perChannel = kernel.data.length / outputChannels;
  const folded = new Float32Array(kernel.data.length);
  const bias = new Float32Array(outputChannels);
  for (let channel = 0; channel < outputChannels; channel++) {
    const scale = batchNorm.weight.data[channel]! / Math.sqrt(batchNorm.runningVariance.data[channel]! + epsilon);
    bias[channel] = batchNorm.bias.data[channel]! - batchNorm.runningMean.data[channel]! * scale;
    const start = channel * perChannel;
    for (let index = start; index < start + perChannel; index++) folded[index] = kernel.data[index]! * scale;
  }
  return { kernel: folded, bias };
}

/**
 * torchvision's ResNet-50 (v1.5: stride on the 3x3 convolution) in inference mode, batch norm folded
 * into the convolutions. Input `image` `[batch, 3, height, width]`; output `embedding`
 * `[batch, 2048·width]`, the global average pool of the last stage.
 */
export function buildResNetGraph(architecture: ResNetArchitecture, tensors: TensorSource, imageHeight: number, imageWidth: number): GraphBuilder {
  const graph = new GraphBuilder(
    describeArchitecture(architecture)
      .replace(/[^A-Za-z0-9]+/g, '_')
      .toLowerCase(),
  );
  const tensor = (name: string) => requireTensor(tensors, name);

  /** Convolution `convolutionName` with batch norm `batchNormName` folded in; the node is named `name`. */
  const convolution = (name: string, input: string, convolutionName: string, batchNormName: string, stride: number, padding: number) => {
    const kernel = tensor(`${convolutionName}.weight`);
    const folded = foldBatchNorm(kernel, {
      weight: tensor(`${batchNormName}.weight`),
      bias: tensor(`${batchNormName}.bias`),
      runningMean: tensor(`${batchNormName}.running_mean`),
      runningVariance: tensor(`${batchNormName}.running_var`),
    });
    const kernelName = graph.weight(`${name}.weight`, folded.kernel, kernel.shape);
    const biasName = graph.weight(`${name}.bias`, folded.bias, [folded.bias.length]);
    const kernelSize = kernel.shape.slice(2);
    return graph.node('Conv', name, [input, kernelName, biasName], {
      kernel_shape: attribute.ints(kernelSize),
      strides: attribute.ints([stride, stride]),
      pads: attribute.ints([padding, padding, padding, padding]),
    });
  };
  const relu = (name: string, input: string) => graph.node('Relu', name, [input]);

  let x = graph.input('image', ['batch', 3, imageHeight, imageWidth]);
  x = relu('relu', convolution('conv1', x, 'conv1', 'bn1', 2, 3));
  x = graph.node('MaxPool', 'maxpool', [x], {
    kernel_shape: attribute.ints([3, 3]),
    strides: attribute.ints([2, 2]),
    pads: attribute.ints([1, 1, 1, 1]),
  });
  architecture.blocks.forEach((blocks, stage) => {
    for (let block = 0; block < blocks; block++) {
      const prefix = `layer${stage + 1}.${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      let branch = relu(`${prefix}.relu1`, convolution(`${prefix}.conv1`, x, `${prefix}.conv1`, `${prefix}.bn1`, 1, 0));
      branch = relu(`${prefix}.relu2`, convolution(`${prefix}.conv2`, branch, `${prefix}.conv2`, `${prefix}.bn2`, stride, 1));
      branch = convolution(`${prefix}.conv3`, branch, `${prefix}.conv3`, `${prefix}.bn3`, 1, 0);
      const shortcut = block === 0 ? convolution(`${prefix}.downsample`, x, `${prefix}.downsample.0`, `${prefix}.downsample.1`, stride, 0) : x;
      x = relu(`${prefix}.relu3`, graph.node('Add', `${prefix}.add`, [branch, shortcut]));
    }
  });
  const pooled = graph.node('GlobalAveragePool', 'avgpool', [x]);
  const embedding = graph.node('Flatten', 'embedding', [pooled], { axis: attribute.int(1) });
  graph.output(embedding, ['batch', 32 * architecture.width]);
  return graph;
}
