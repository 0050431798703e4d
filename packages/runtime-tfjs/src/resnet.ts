import type { ResNetArchitecture } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { kernelFromHwio, kernelToHwio } from './layout.js';
import {
  bottleneck,
  convolutionUnit,
  globalAveragePool,
  maxPool,
  updateRunningStatistics,
  withoutGradient,
  type BottleneckUnits,
  type ConvolutionGeometry,
  type Normalization,
} from './operations.js';
import type { ParameterStore } from './parameters.js';

/** torchvision's BatchNorm2d default. */
const BATCH_NORM_EPSILON = 1e-5;

/** A convolution and the batch norm after it, by canonical prefixes. */
interface UnitLayout {
  readonly convolution: string;
  readonly batchNorm: string;
  readonly geometry: ConvolutionGeometry & { readonly kernel: number };
}

interface TrainableUnit {
  readonly kind: 'trainable';
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVariance: tf.Variable<tf.Rank.R1>;
}

/** Batch norm folded into the convolution: a kernel and a bias. */
interface FrozenUnit {
  readonly kind: 'frozen';
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}

type Unit = (TrainableUnit | FrozenUnit) & { readonly layout: UnitLayout };

interface UnitOptions {
  readonly relu: boolean;
  readonly residual?: tf.Tensor4D;
  /** False where the unit's input is a constant (images, frozen layers' output): no input gradient. */
  readonly inputGradient: boolean;
}

export interface ResNetOptions {
  /** Stages 0 (stem) to 4 (`layer4`) below this index keep their weights; 5 freezes everything. */
  readonly firstTrainableStage: number;
  /** PyTorch's `momentum` of the running statistics. */
  readonly batchNormMomentum: number;
  /** Names the model in errors. */
  readonly name: string;
}

/** The stages of torchvision's ResNet-50 (v1.5: stride on the 3x3 convolution): stem, then `layer1`..`layer4`. */
function stageLayouts(architecture: ResNetArchitecture): UnitLayout[][][] {
  const stem = [[{ convolution: 'conv1', batchNorm: 'bn1', geometry: { kernel: 7, stride: 2, padding: 3 } }]];
  const stages = architecture.blocks.map((blocks, stage) =>
    Array.from({ length: blocks }, (_, block) => {
      const prefix = `layer${stage + 1}.${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const units: UnitLayout[] = [
        { convolution: `${prefix}.conv1`, batchNorm: `${prefix}.bn1`, geometry: { kernel: 1, stride: 1, padding: 0 } },
        { convolution: `${prefix}.conv2`, batchNorm: `${prefix}.bn2`, geometry: { kernel: 3, stride, padding: 1 } },
        { convolution: `${prefix}.conv3`, batchNorm: `${prefix}.bn3`, geometry: { kernel: 1, stride: 1, padding: 0 } },
      ];
      if (block === 0) units.push({ convolution: `${prefix}.downsample.0`, batchNorm: `${prefix}.downsample.1`, geometry: { kernel: 1, stride, padding: 0 } });
      return units;
    }),
  );
  return [stem, ...stages];
}

/**
 * torchvision's ResNet-50 at any width, in tfjs. Frozen stages hold batch norm folded into their
 * convolutions (constants, run without gradient); trainable stages hold variables and run batch norm in
 * train mode (batch statistics, running estimates updated) or eval mode (running estimates).
 */
export class ResNet {
  private readonly stages: Unit[][][];

  constructor(
    readonly architecture: ResNetArchitecture,
    private readonly parameters: ParameterStore,
    private readonly options: ResNetOptions,
  ) {
    this.stages = stageLayouts(architecture).map((blocks, stage) =>
      blocks.map((units) => units.map((layout) => this.createUnit(layout, stage >= options.firstTrainableStage))),
    );
  }

  private createUnit(layout: UnitLayout, trainable: boolean): Unit {
    const parameters = this.parameters;
    const kernel = kernelToHwio(parameters.get(`${layout.convolution}.weight`));
    const batchNorm = (part: string) => parameters.get(`${layout.batchNorm}.${part}`).data;
    if (!trainable) {
      const folded = foldBatchNorm(kernel.data, kernel.shape[3], {
        weight: batchNorm('weight'),
        bias: batchNorm('bias'),
        runningMean: batchNorm('running_mean'),
        runningVariance: batchNorm('running_var'),
      });
      const names = ['weight', 'bias', 'running_mean', 'running_var'].map((part) => `${layout.batchNorm}.${part}`);
      return {
        kind: 'frozen',
        layout,
        kernel: parameters.constant(folded.kernel, kernel.shape, [`${layout.convolution}.weight`]),
        bias: parameters.constant(folded.bias, [folded.bias.length], names),
      };
    }
    const vector = (part: string, isTrainable: boolean) => {
      const data = batchNorm(part);
      return parameters.variable<tf.Rank.R1>(`${layout.batchNorm}.${part}`, data, [data.length], { trainable: isTrainable });
    };
    return {
      kind: 'trainable',
      layout,
      kernel: parameters.variable<tf.Rank.R4>(`${layout.convolution}.weight`, kernel.data, kernel.shape, {
        trainable: true,
        exportAs: (values) => kernelFromHwio(values, kernel.shape),
      }),
      weight: vector('weight', true),
      bias: vector('bias', true),
      runningMean: vector('running_mean', false),
      runningVariance: vector('running_var', false),
    };
  }

  /** `[batch, 2048·width]` pooled features of NCHW images. */
  forward(images: tf.Tensor4D, training: boolean): tf.Tensor2D {
    let x = tf.transpose(images, [0, 2, 3, 1]) as tf.Tensor4D;
    let constantInput = true;
    this.stages.forEach((blocks, stage) => {
      const frozen = stage < this.options.firstTrainableStage;
      const name = stage === 0 ? 'the stem' : `layer${stage}`;
      const run = (input: tf.Tensor4D) => this.runStage(stage, blocks, input, training, constantInput);
      x = frozen ? withoutGradient(x, (input) => run(input as tf.Tensor4D), `${this.options.name}: ${name}`) : run(x);
      constantInput = frozen;
    });
    return globalAveragePool(x);
  }

  private runStage(stage: number, blocks: Unit[][], input: tf.Tensor4D, training: boolean, constantInput: boolean): tf.Tensor4D {
    if (stage === 0) {
      const stem = this.runUnit(blocks[0]![0]!, input, training, { relu: true, inputGradient: false });
      return maxPool(stem, 3, 2, 1);
    }
    let x = input;
    blocks.forEach((units, block) => {
      const [first, second, third, downsample] = units as [Unit, Unit, Unit, Unit?];
      if (first.kind === 'frozen') {
        const shortcut = downsample ? this.runUnit(downsample, x, training, { relu: false, inputGradient: false }) : x;
        const branch = this.runUnit(second, this.runUnit(first, x, training, { relu: true, inputGradient: false }), training, {
          relu: true,
          inputGradient: false,
        });
        x = this.runUnit(third, branch, training, { relu: true, residual: shortcut, inputGradient: false });
        return;
      }
      const trainable = (unit: Unit | undefined) => unit as TrainableUnit & { layout: UnitLayout };
      const parameters: BottleneckUnits = {
        conv1: trainable(first),
        conv2: trainable(second),
        conv3: trainable(third),
        ...(downsample ? { downsample: trainable(downsample) } : {}),
      };
      // Each unit's output shape: conv1 keeps the size, conv2 and the projection apply the stride, conv3 keeps it.
      const afterFirst = convolutionOutputShape(x.shape, first.layout.geometry);
      const afterSecond = convolutionOutputShape(afterFirst, second.layout.geometry);
      const outputShapes: Record<keyof BottleneckUnits, readonly number[]> = {
        conv1: afterFirst,
        conv2: afterSecond,
        conv3: afterSecond,
        downsample: afterSecond,
      };
      const byName = { conv1: first, conv2: second, conv3: third, downsample } as Record<keyof BottleneckUnits, Unit | undefined>;
      x = bottleneck(x, parameters, {
        stride: second.layout.geometry.stride,
        epsilon: BATCH_NORM_EPSILON,
        inputGradient: !(constantInput && block === 0),
        normalization: (name) => this.normalization(trainable(byName[name]), outputShapes[name], training),
      });
    });
    return x;
  }

  /** Batch statistics with the running estimates updated (train mode), or the running estimates. */
  private normalization(unit: TrainableUnit & { layout: UnitLayout }, outputShape: readonly number[], training: boolean): Normalization {
    if (!training) return { mode: 'eval', mean: unit.runningMean, variance: unit.runningVariance };
    const [batch, height, width] = outputShape as [number, number, number];
    const count = batch * height * width;
    if (count < 2)
      throw new Error(
        `${this.options.name}: batch norm ${unit.layout.batchNorm} in train mode needs more than 1 value per channel, got a batch of ${batch} at ${height}x${width}`,
      );
    const momentum = this.options.batchNormMomentum;
    const running = { mean: unit.runningMean, variance: unit.runningVariance };
    return { mode: 'train', statistics: (mean, variance) => updateRunningStatistics(running, { mean, variance, count }, momentum) };
  }

  private runUnit(unit: Unit, x: tf.Tensor4D, training: boolean, options: UnitOptions): tf.Tensor4D {
    const { stride, padding } = unit.layout.geometry;
    if (unit.kind === 'frozen') {
      const fused = !options.residual;
      let y = tf.fused.conv2d({
        x,
        filter: unit.kernel,
        strides: stride,
        pad: padding,
        bias: unit.bias,
        activation: fused && options.relu ? 'relu' : 'linear',
      });
      if (options.residual) {
        y = tf.add(y, options.residual);
        if (options.relu) y = tf.relu(y);
      }
      return y;
    }
    return convolutionUnit(x, unit, {
      geometry: unit.layout.geometry,
      normalization: this.normalization(unit, convolutionOutputShape(x.shape, unit.layout.geometry), training),
      epsilon: BATCH_NORM_EPSILON,
      relu: options.relu,
      inputGradient: options.inputGradient,
      ...(options.residual ? { residual: options.residual } : {}),
    });
  }
}

/** `[batch, height, width]` of a convolution's output from its input's (PyTorch's floor rounding). */
function convolutionOutputShape(input: readonly number[], { kernel, stride, padding }: ConvolutionGeometry & { kernel: number }): [number, number, number] {
  const extent = (size: number) => Math.floor((size + 2 * padding - kernel) / stride) + 1;
  return [input[0]!, extent(input[1]!), extent(input[2]!)];
}

/**
 * Inference-mode batch norm folded into the HWIO kernel before it: each output channel's kernel scaled
 * by γ/√(σ²+ε), bias β − μ·γ/√(σ²+ε). Computed in float64, rounded once.
 */
export function foldBatchNorm(
  kernel: Float32Array,
  outputChannels: number,
  batchNorm: { weight: Float32Array; bias: Float32Array; runningMean: Float32Array; runningVariance: Float32Array },
): { kernel: Float32Array; bias: Float32Array } {
  const scale = new Float64Array(outputChannels);
  const bias = new Float32Array(outputChannels);
  for (let channel = 0; channel < outputChannels; channel++) {
    scale[channel] = batchNorm.weight[channel]! / Math.sqrt(batchNorm.runningVariance[channel]! + BATCH_NORM_EPSILON);
    bias[channel] = batchNorm.bias[channel]! - batchNorm.runningMean[channel]! * scale[channel]!;
  }
  const folded = new Float32Array(kernel.length);
  for (let index = 0; index < kernel.length; index++) folded[index] = kernel[index]! * scale[index % outputChannels]!;
  return { kernel: folded, bias };
}
