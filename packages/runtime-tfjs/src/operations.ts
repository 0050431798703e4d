// The differentiable building blocks of the models, each a tfjs custom-gradient operation.
//
// Why custom gradients everywhere:
// - `@tensorflow/tfjs-core` on its own registers no gradient functions (the `@tensorflow/tfjs` bundle does,
//   through a module Node cannot load from tfjs-core's CommonJS build), so the models must not depend on
//   them: every operation on a path to a trainable variable is defined here, with its gradient.
// - Memory: tfjs keeps, until the backward pass ends, every tensor an operation saves (on wasm as a copy)
//   and every activation gradient. The operations here are fused (convolution + batch norm + residual +
//   ReLU; query/key/value projections + attention; both MLP layers with GELU or SwiGLU), save only what their
//   gradients cannot recompute cheaply (a ReLU's mask as booleans), and release each output's gradient once
//   the inputs' gradients exist: ResNet-50 and ViT-S/16 train at batch 16, 224x224, within wasm's 4 GiB.
// - Speed on wasm: tfjs-wasm has no filter-gradient kernel for Conv2D and computes transposed matrix
//   products, batched products and the input gradient of convolutions in slow reference loops (0.5-3
//   GFLOP/s against XNNPACK's 20-30). The gradients below are rewritten as plain XNNPACK convolutions and
//   matrix products there.
//
// Everything a gradient reads must be `save`d: other tensors of the forward pass are disposed by then.
import { operation, type OperationOptions } from '@medssl/training';
import * as tf from '@tensorflow/tfjs-core';

/** tfjs-wasm: transposed products and convolution gradients run fast only when rewritten (see above). */
function rewriteForXnnpack(): boolean {
  return tf.getBackend() === 'wasm';
}

/** Swaps the last two axes. */
function transposeLast(tensor: tf.Tensor): tf.Tensor {
  const perm = tensor.shape.map((_, axis) => axis);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1]!, perm[perm.length - 2]!];
  return tf.transpose(tensor, perm);
}

/** `a·b` with either operand transposed, in the form the active backend runs fastest. */
function product(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  if (!rewriteForXnnpack()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? transposeLast(a) : a, transposeB ? transposeLast(b) : b);
}

/** `aᵀ·b` for 2-D `a` `[m, p]` and `b` `[m, q]`; on wasm, transposing the narrower operand. */
function transposedProduct(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!rewriteForXnnpack() || a.shape[1] <= b.shape[1]) return product(a, b, true, false) as tf.Tensor2D;
  return tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D;
}

/** `x·weight + bias` for `[rows, inputs]`·`[inputs, outputs]`. */
function affine(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x as tf.Tensor2D, b: weight as tf.Tensor2D, bias }) as tf.Tensor2D;
}

/** A run of layers whose weights are constants: recorded as one operation with no gradient, so none of its intermediates is kept for backpropagation. */
export function withoutGradient<T extends tf.Tensor>(input: tf.Tensor, compute: (input: tf.Tensor) => T, what: string): T {
  return operation([input], ([x]) => ({
    value: compute(x!),
    gradient: () => {
      throw new Error(`${what} is frozen: no gradient flows through it (to its input)`);
    },
  }));
}

// ----- dense layers -----

/**
 * `x·weight + bias` (PyTorch's `Linear` with the weight stored transposed, `[inputs, outputs]`). With
 * `inputGradient` false, `x` is treated as a constant (an image, or the output of frozen layers).
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, inputGradient = true): tf.Tensor2D {
  const inputs = inputGradient ? [x, weight, bias] : [weight, bias];
  return operation<tf.Tensor2D>(inputs, (_, save) => {
    save([x, weight]);
    return {
      value: affine(x, weight, bias),
      gradient: (dy, [savedX, savedWeight]) => {
        const weightGradient = transposedProduct(savedX as tf.Tensor2D, dy as tf.Tensor2D);
        const biasGradient = tf.sum(dy, 0);
        return inputGradient ? [product(dy, savedWeight!, false, true), weightGradient, biasGradient] : [weightGradient, biasGradient];
      },
    };
  });
}

const SQRT_HALF = Math.SQRT1_2;
const INVERSE_SQRT_TWO_PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x) = ½·(1 + erf(x/√2)), the standard normal's distribution function; GELU is x·Φ(x) (PyTorch's `nn.GELU()`). */
function normalCumulative(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1), 0.5);
}

export interface Dense {
  /** `[inputs, outputs]`: PyTorch's weight transposed. */
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/**
 * A ViT's MLP, `fc2(gelu(fc1(x)))`, as one operation: it keeps `x` and fc1's output, and recomputes the
 * GELU for the gradient rather than keeping a second 4x-wide activation.
 */
export function mlp(x: tf.Tensor2D, fc1: Dense, fc2: Dense): tf.Tensor2D {
  return operation<tf.Tensor2D>([x, fc1.weight, fc1.bias, fc2.weight, fc2.bias], ([input, weight1, bias1, weight2, bias2], save) => {
    const expanded = affine(input!, weight1!, bias1!);
    save([input!, weight1!, weight2!, expanded]);
    return {
      value: affine(tf.mul(expanded, normalCumulative(expanded)), weight2!, bias2!),
      gradient: (dy, [savedInput, savedWeight1, savedWeight2, savedExpanded]) => {
        // erf once (slow on wasm) for both the GELU and its derivative Φ(x) + x·φ(x).
        const cumulative = normalCumulative(savedExpanded!);
        const activated = tf.mul(savedExpanded!, cumulative) as tf.Tensor2D;
        const density = tf.mul(tf.exp(tf.mul(tf.square(savedExpanded!), -0.5)), INVERSE_SQRT_TWO_PI);
        const derivative = tf.add(cumulative, tf.mul(savedExpanded!, density));
        const weight2Gradient = transposedProduct(activated, dy as tf.Tensor2D);
        const expandedGradient = tf.mul(product(dy, savedWeight2!, false, true), derivative) as tf.Tensor2D;
        const weight1Gradient = transposedProduct(savedInput as tf.Tensor2D, expandedGradient);
        return [product(expandedGradient, savedWeight1!, false, true), weight1Gradient, tf.sum(expandedGradient, 0), weight2Gradient, tf.sum(dy, 0)];
      },
    };
  });
}

/**
 * DINOv2's SwiGLU MLP, `w3(silu(x1)·x2)` with `x1 | x2 = w12(x)` (the two halves of one linear's
 * output), as one operation: it keeps `x` and w12's output and recomputes the gate for the gradient.
 * silu(a) = a·σ(a), whose derivative is σ(a)·(1 + a·(1 − σ(a))).
 */
export function swiglu(x: tf.Tensor2D, w12: Dense, w3: Dense): tf.Tensor2D {
  const hidden = w3.weight.shape[0];
  return operation<tf.Tensor2D>([x, w12.weight, w12.bias, w3.weight, w3.bias], ([input, weight12, bias12, weight3, bias3], save) => {
    const fused = affine(input!, weight12!, bias12!);
    save([input!, weight12!, weight3!, fused]);
    const [gate, value] = tf.split(fused, [hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
    return {
      value: affine(tf.mul(tf.mul(gate, tf.sigmoid(gate)), value), weight3!, bias3!),
      gradient: (dy, [savedInput, savedWeight12, savedWeight3, savedFused]) => {
        const [savedGate, savedValue] = tf.split(savedFused!, [hidden, hidden], 1);
        const sigmoid = tf.sigmoid(savedGate!);
        const silu = tf.mul(savedGate!, sigmoid);
        const weight3Gradient = transposedProduct(tf.mul(silu, savedValue!) as tf.Tensor2D, dy as tf.Tensor2D);
        const hiddenGradient = product(dy, savedWeight3!, false, true);
        const siluDerivative = tf.mul(sigmoid, tf.add(1, tf.mul(savedGate!, tf.sub(1, sigmoid))));
        const fusedGradient = tf.concat([tf.mul(tf.mul(hiddenGradient, savedValue!), siluDerivative), tf.mul(hiddenGradient, silu)], 1) as tf.Tensor2D;
        const weight12Gradient = transposedProduct(savedInput as tf.Tensor2D, fusedGradient);
        return [product(fusedGradient, savedWeight12!, false, true), weight12Gradient, tf.sum(fusedGradient, 0), weight3Gradient, tf.sum(dy, 0)];
      },
    };
  });
}

/** `a + b` of equal shapes. */
export function add<T extends tf.Tensor>(a: T, b: T): T {
  return operation([a, b], ([left, right]) => ({ value: tf.add(left!, right!) as T, gradient: (dy) => [dy, dy] }));
}

/** A residual branch scaled per channel, `x + γ·branch` (DINOv2's LayerScale); `x + branch` without γ. */
export function scaledResidual(x: tf.Tensor2D, branch: tf.Tensor2D, gamma?: tf.Tensor1D): tf.Tensor2D {
  if (!gamma) return add(x, branch);
  return operation([x, branch, gamma], ([input, residual, scale], save) => {
    save([residual!, scale!]);
    return {
      value: tf.add(input!, tf.mul(residual!, scale!)) as tf.Tensor2D,
      gradient: (dy, [savedResidual, savedScale]) => [dy, tf.mul(dy, savedScale!), tf.sum(tf.mul(dy, savedResidual!), 0)],
    };
  });
}

/** Layer norm over the last axis of `[rows, width]` (PyTorch's `nn.LayerNorm(width, eps)`). */
export function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, epsilon: number, options: OperationOptions = {}): tf.Tensor2D {
  return operation(
    [x, weight, bias],
    ([input, scale, shift], save) => {
      const mean = tf.mean(input!, -1, true);
      const centered = tf.sub(input!, mean);
      const inverseDeviation = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), epsilon));
      const normalized = tf.mul(centered, inverseDeviation);
      save([normalized, inverseDeviation, scale!]);
      return {
        value: tf.add(tf.mul(normalized, scale!), shift!) as tf.Tensor2D,
        gradient: (dy, [savedNormalized, savedInverse, savedScale]) => {
          const normalizedGradient = tf.mul(dy, savedScale!);
          const meanGradient = tf.mean(normalizedGradient, -1, true);
          const projection = tf.mean(tf.mul(normalizedGradient, savedNormalized!), -1, true);
          const inputGradient = tf.mul(tf.sub(tf.sub(normalizedGradient, meanGradient), tf.mul(savedNormalized!, projection)), savedInverse!);
          return [inputGradient, tf.sum(tf.mul(dy, savedNormalized!), 0), tf.sum(dy, 0)];
        },
      };
    },
    options,
  );
}

/** Layer norm over the last axis without weights (MAE's fc_norm as a linear probe starts it: weight 1, bias 0). */
export function plainLayerNorm(x: tf.Tensor2D, epsilon: number, options: OperationOptions = {}): tf.Tensor2D {
  return operation(
    [x],
    ([input], save) => {
      const centered = tf.sub(input!, tf.mean(input!, -1, true));
      const inverseDeviation = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), epsilon));
      const normalized = tf.mul(centered, inverseDeviation) as tf.Tensor2D;
      save([normalized, inverseDeviation]);
      return {
        value: normalized,
        gradient: (dy, [savedNormalized, savedInverse]) => {
          const projection = tf.mean(tf.mul(dy, savedNormalized!), -1, true);
          return [tf.mul(tf.sub(tf.sub(dy, tf.mean(dy, -1, true)), tf.mul(savedNormalized!, projection)), savedInverse!)];
        },
      };
    },
    options,
  );
}

// ----- ResNet: convolution, batch norm, residual, ReLU -----

export interface ConvolutionGeometry {
  readonly stride: number;
  readonly padding: number;
}

type Padding4D = [[number, number], [number, number], [number, number], [number, number]];

function padding4D(top: number, bottom: number, left: number, right: number): Padding4D {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** How a unit's batch norm normalises: batch statistics (reported for the running estimates) or running estimates. */
export type Normalization =
  | { readonly mode: 'train'; readonly statistics: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void }
  | { readonly mode: 'eval'; readonly mean: tf.Tensor1D; readonly variance: tf.Tensor1D };

export interface ConvolutionUnit {
  /** HWIO. */
  readonly kernel: tf.Tensor4D;
  /** Batch norm's γ and β. */
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
}

export interface ConvolutionUnitOptions {
  readonly geometry: ConvolutionGeometry;
  readonly normalization: Normalization;
  readonly epsilon: number;
  /** Added after the batch norm (a ResNet block's shortcut). */
  readonly residual?: tf.Tensor4D;
  readonly relu: boolean;
  /** False where `x` is a constant (images, frozen layers' output): no gradient for it. */
  readonly inputGradient: boolean;
}

/** A batch norm's affine map `y = z·scale + shift` for one call, and what its gradient needs. */
interface Normalized {
  readonly mean: tf.Tensor;
  readonly inverseDeviation: tf.Tensor;
  readonly scale: tf.Tensor;
  readonly shift: tf.Tensor;
}

function normalize(z: tf.Tensor, unit: ConvolutionUnit, normalization: Normalization, epsilon: number): Normalized {
  let mean: tf.Tensor;
  let inverseDeviation: tf.Tensor;
  if (normalization.mode === 'train') {
    const moments = tf.moments(z, [0, 1, 2]);
    normalization.statistics(moments.mean as tf.Tensor1D, moments.variance as tf.Tensor1D);
    mean = moments.mean;
    inverseDeviation = tf.rsqrt(tf.add(moments.variance, epsilon));
  } else {
    mean = normalization.mean;
    inverseDeviation = tf.rsqrt(tf.add(normalization.variance, epsilon));
  }
  const scale = tf.mul(unit.weight, inverseDeviation);
  return { mean, inverseDeviation, scale, shift: tf.sub(unit.bias, tf.mul(mean, scale)) };
}

/**
 * Batch norm's gradients from `g`, the gradient of its output: the convolution output's, γ's and β's.
 * Train mode also differentiates the batch statistics: γ/σ · (g − mean(g) − x̂·mean(g·x̂)).
 */
function normalizeGradient(g: tf.Tensor, z: tf.Tensor, normalized: Normalized, train: boolean): { z: tf.Tensor4D; weight: tf.Tensor; bias: tf.Tensor } {
  const standardized = tf.mul(tf.sub(z, normalized.mean), normalized.inverseDeviation);
  const bias = tf.sum(g, [0, 1, 2]);
  const weight = tf.sum(tf.mul(g, standardized), [0, 1, 2]);
  if (!train) return { z: tf.mul(g, normalized.scale) as tf.Tensor4D, weight, bias };
  const count = z.size / z.shape[3]!;
  const centered = tf.sub(tf.sub(g, tf.div(bias, count)), tf.mul(standardized, tf.div(weight, count)));
  return { z: tf.mul(centered, normalized.scale) as tf.Tensor4D, weight, bias };
}

/** `g` masked by a ReLU whose output or input is `activation` (zero where it is not positive). */
function throughRelu(g: tf.Tensor, activation: tf.Tensor): tf.Tensor {
  return tf.mul(g, tf.cast(tf.greater(activation, 0), 'float32'));
}

/**
 * A ResNet unit on NHWC `x`: convolution (PyTorch's `Conv2d` without bias), batch norm (train mode: the
 * batch's mean and biased variance over batch and space; eval mode: running estimates), the optional
 * residual, the optional ReLU. It keeps its input, the convolution's output and the ReLU's mask.
 */
export function convolutionUnit(x: tf.Tensor4D, unit: ConvolutionUnit, options: ConvolutionUnitOptions): tf.Tensor4D {
  const { geometry, normalization, epsilon, residual, relu, inputGradient } = options;
  const train = normalization.mode === 'train';
  const inputs = [...(inputGradient ? [x] : []), unit.kernel, unit.weight, unit.bias, ...(residual ? [residual] : [])];
  return operation(inputs, (_, save) => {
    const convolved = convolve(x, unit.kernel, geometry);
    const normalized = normalize(convolved, unit, normalization, epsilon);
    let output = tf.add(tf.mul(convolved, normalized.scale), normalized.shift);
    if (residual) output = tf.add(output, residual);
    if (relu) output = tf.relu(output);
    save([x, unit.kernel, convolved, normalized.mean, normalized.inverseDeviation, normalized.scale, ...(relu ? [tf.greater(output, 0)] : [])]);
    return {
      value: output as tf.Tensor4D,
      gradient: (dy, [savedX, savedKernel, savedConvolved, mean, inverseDeviation, scale, mask]) => {
        // g: the gradient before the ReLU, which the residual receives as it is.
        const g = mask ? tf.mul(dy, tf.cast(mask, 'float32')) : dy;
        const norm = normalizeGradient(g, savedConvolved!, { mean: mean!, inverseDeviation: inverseDeviation!, scale: scale!, shift: scale! }, train);
        const convolution = convolutionGradients(savedX as tf.Tensor4D, norm.z, savedKernel as tf.Tensor4D, geometry, inputGradient);
        return [...(convolution.x ? [convolution.x] : []), convolution.kernel, norm.weight, norm.bias, ...(residual ? [g] : [])];
      },
    };
  });
}

export interface BottleneckUnits {
  readonly conv1: ConvolutionUnit;
  readonly conv2: ConvolutionUnit;
  readonly conv3: ConvolutionUnit;
  /** The shortcut's 1x1 projection (first block of a stage); absent: the identity. */
  readonly downsample?: ConvolutionUnit;
}

export interface BottleneckOptions {
  /** On the 3x3 convolution and the projection (torchvision's ResNet v1.5). */
  readonly stride: number;
  /** For each unit: train-mode statistics or eval-mode running estimates. */
  readonly normalization: (unit: keyof BottleneckUnits) => Normalization;
  readonly epsilon: number;
  readonly inputGradient: boolean;
}

/**
 * A ResNet bottleneck block, `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`, as
 * one operation on NHWC `x`. It keeps `x` and the four convolutions' outputs and recomputes the other
 * activations (elementwise) for the gradients: less memory than unit by unit, which keeps every unit's
 * input, output and mask.
 */
export function bottleneck(x: tf.Tensor4D, units: BottleneckUnits, options: BottleneckOptions): tf.Tensor4D {
  const { stride, epsilon, inputGradient } = options;
  const names = ['conv1', 'conv2', 'conv3', ...(units.downsample ? ['downsample' as const] : [])] as (keyof BottleneckUnits)[];
  const geometries: Record<keyof BottleneckUnits, ConvolutionGeometry> = {
    conv1: { stride: 1, padding: 0 },
    conv2: { stride, padding: 1 },
    conv3: { stride: 1, padding: 0 },
    downsample: { stride, padding: 0 },
  };
  const normalizations = names.map((name) => options.normalization(name));
  const parameters = names.flatMap((name) => [units[name]!.kernel, units[name]!.weight, units[name]!.bias]);
  return operation([...(inputGradient ? [x] : []), ...parameters], (_, save) => {
    const convolved: tf.Tensor[] = [];
    const normalized: Normalized[] = [];
    const apply = (index: number, input: tf.Tensor) => {
      const name = names[index]!;
      convolved[index] = convolve(input as tf.Tensor4D, units[name]!.kernel, geometries[name]);
      normalized[index] = normalize(convolved[index]!, units[name]!, normalizations[index]!, epsilon);
      return tf.add(tf.mul(convolved[index]!, normalized[index]!.scale), normalized[index]!.shift);
    };
    const first = tf.relu(apply(0, x));
    const second = tf.relu(apply(1, first));
    const shortcut = units.downsample ? apply(3, x) : x;
    const output = tf.relu(tf.add(apply(2, second), shortcut));
    const perUnit = normalized.flatMap(({ mean, inverseDeviation, scale, shift }) => [mean, inverseDeviation, scale, shift]);
    save([x, ...names.map((name) => units[name]!.kernel), ...convolved, ...perUnit]);
    return {
      value: output as tf.Tensor4D,
      gradient: (dy, saved) => {
        const count = names.length;
        const savedX = saved[0] as tf.Tensor4D;
        const kernels = saved.slice(1, 1 + count) as tf.Tensor4D[];
        const outputs = saved.slice(1 + count, 1 + 2 * count);
        const norms: Normalized[] = names.map((_, index) => {
          const [mean, inverseDeviation, scale, shift] = saved.slice(1 + 2 * count + 4 * index, 5 + 2 * count + 4 * index);
          return { mean: mean!, inverseDeviation: inverseDeviation!, scale: scale!, shift: shift! };
        });
        const train = (index: number) => normalizations[index]!.mode === 'train';
        const preActivation = (index: number) => tf.add(tf.mul(outputs[index]!, norms[index]!.scale), norms[index]!.shift);
        const gradients = new Map<string, tf.Tensor>();
        // Each unit in a tidy of its own, so its intermediates go before the next unit's are made.
        const backward = (index: number, g: tf.Tensor, input: () => tf.Tensor, needInput: boolean): tf.Tensor | undefined =>
          tf.tidy(() => {
            const norm = normalizeGradient(g, outputs[index]!, norms[index]!, train(index));
            const convolution = convolutionGradients(input() as tf.Tensor4D, norm.z, kernels[index]!, geometries[names[index]!], needInput);
            gradients.set(`${index}.kernel`, tf.keep(convolution.kernel));
            gradients.set(`${index}.weight`, tf.keep(norm.weight as tf.Tensor));
            gradients.set(`${index}.bias`, tf.keep(norm.bias as tf.Tensor));
            return convolution.x;
          });
        const shortcut = () => (units.downsample ? preActivation(3) : savedX);
        const outputGradient = tf.tidy(() => throughRelu(dy, tf.add(preActivation(2), shortcut())));
        const secondGradient = tf.tidy(() => {
          const second = tf.relu(preActivation(1));
          return throughRelu(backward(2, outputGradient, () => second, true)!, second);
        });
        const firstGradient = tf.tidy(() => {
          const first = tf.relu(preActivation(0));
          return throughRelu(backward(1, secondGradient, () => first, true)!, first);
        });
        secondGradient.dispose();
        let xGradient = backward(0, firstGradient, () => savedX, inputGradient);
        firstGradient.dispose();
        // The shortcut: through the projection, or straight to the input.
        const shortcutGradient = units.downsample ? backward(3, outputGradient, () => savedX, inputGradient) : outputGradient;
        if (xGradient && shortcutGradient) xGradient = tf.add(xGradient, shortcutGradient);
        const result = [...(xGradient ? [xGradient] : [])];
        names.forEach((_, index) => result.push(gradients.get(`${index}.kernel`)!, gradients.get(`${index}.weight`)!, gradients.get(`${index}.bias`)!));
        return result;
      },
    };
  });
}

/**
 * PyTorch's running estimates after a train-mode batch of `count` values per channel: each moves by
 * `momentum` towards the batch mean and the batch's unbiased variance.
 */
export function updateRunningStatistics(
  running: { mean: tf.Variable; variance: tf.Variable },
  batch: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number },
  momentum: number,
): void {
  const { count } = batch;
  running.mean.assign(tf.add(tf.mul(running.mean, 1 - momentum), tf.mul(batch.mean, momentum)));
  running.variance.assign(tf.add(tf.mul(running.variance, 1 - momentum), tf.mul(batch.variance, (momentum * count) / (count - 1))));
}

/** PyTorch's `Conv2d` (no bias, symmetric padding) of NHWC `x` with an HWIO kernel. */
function convolve(x: tf.Tensor4D, kernel: tf.Tensor4D, { stride, padding }: ConvolutionGeometry): tf.Tensor4D {
  return tf.conv2d(x, kernel, stride, padding4D(padding, padding, padding, padding));
}

/** A convolution's kernel gradient, and its input gradient when asked for. */
function convolutionGradients(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernel: tf.Tensor4D,
  geometry: ConvolutionGeometry,
  inputGradient: boolean,
): { x?: tf.Tensor4D; kernel: tf.Tensor4D } {
  const kernelGradient = convolutionKernelGradient(x, dy, kernel.shape, geometry);
  return inputGradient ? { x: convolutionInputGradient(dy, kernel, x.shape, geometry), kernel: kernelGradient } : { kernel: kernelGradient };
}

function convolutionKernelGradient(x: tf.Tensor4D, dy: tf.Tensor4D, kernelShape: [number, number, number, number], geometry: ConvolutionGeometry): tf.Tensor4D {
  const { stride, padding } = geometry;
  const [kernelSize, , inputChannels, outputChannels] = kernelShape;
  if (!rewriteForXnnpack()) {
    return tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: [stride, stride], pad: padding4D(padding, padding, padding, padding), dataFormat: 'NHWC', filterShape: kernelShape },
      ) as tf.Tensor4D;
  }
  if (kernelSize === 1 && stride === 1 && padding === 0) {
    const rows = x.size / inputChannels;
    return tf.reshape(transposedProduct(tf.reshape(x, [rows, inputChannels]), tf.reshape(dy, [rows, outputChannels])), kernelShape);
  }
  // dW[i, j, c, o] = Σ_{n, y, x} x_padded[n, s·y + i, s·x + j, c] · dy[n, y, x, o]: a convolution of x with
  // channels and batch swapped ([c, h, w, n]) by dy as the kernel ([y, x, n, o]), dilated by the stride.
  const swapped = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyKernel = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  let gradient = tf.conv2d(swapped, dyKernel, 1, padding4D(padding, padding, padding, padding), 'NHWC', stride); // [c, ≥k, ≥k, o]
  if (gradient.shape[1] !== kernelSize || gradient.shape[2] !== kernelSize)
    gradient = tf.slice(gradient, [0, 0, 0, 0], [inputChannels, kernelSize, kernelSize, outputChannels]);
  return tf.transpose(gradient, [1, 2, 0, 3]);
}

function convolutionInputGradient(
  dy: tf.Tensor4D,
  kernel: tf.Tensor4D,
  inputShape: [number, number, number, number],
  geometry: ConvolutionGeometry,
): tf.Tensor4D {
  const { stride, padding } = geometry;
  const [batch, height, width, inputChannels] = inputShape;
  const [kernelSize, , , outputChannels] = kernel.shape;
  if (!rewriteForXnnpack()) return tf.conv2dTranspose(dy, kernel, inputShape, stride, padding4D(padding, padding, padding, padding));
  if (kernelSize === 1 && stride === 1 && padding === 0) {
    const rows = dy.size / outputChannels;
    return tf.reshape(product(tf.reshape(dy, [rows, outputChannels]), tf.reshape(kernel, [inputChannels, outputChannels]), false, true), inputShape);
  }
  // dx is the stride-1 convolution of dy, spread out by the stride with zeros between, by the kernel
  // flipped in space with its channels swapped.
  let spread: tf.Tensor4D = dy;
  const [, rows, columns] = dy.shape;
  if (stride > 1) {
    const gaps = tf.pad(tf.reshape(dy, [batch, rows, 1, columns, 1, outputChannels]), [
      [0, 0],
      [0, 0],
      [0, stride - 1],
      [0, 0],
      [0, stride - 1],
      [0, 0],
    ]);
    spread = tf.reshape(gaps, [batch, rows * stride, columns * stride, outputChannels]);
  }
  const before = kernelSize - 1 - padding;
  const fit = (extent: number, size: number) => Math.min(extent, size + kernelSize - 1 - before);
  const spreadRows = fit(spread.shape[1], height);
  const spreadColumns = fit(spread.shape[2], width);
  if (spreadRows !== spread.shape[1] || spreadColumns !== spread.shape[2])
    spread = tf.slice(spread, [0, 0, 0, 0], [batch, spreadRows, spreadColumns, outputChannels]);
  // Flipped in space by a product with the reversing permutation: exact, and far faster than tfjs-wasm's Reverse.
  const taps = kernelSize * kernelSize;
  const reversing = tf.tensor2d(
    Float32Array.from({ length: taps * taps }, (_, index) => (Math.floor(index / taps) + (index % taps) === taps - 1 ? 1 : 0)),
    [taps, taps],
  );
  const swapped = tf.reshape(tf.transpose(kernel, [0, 1, 3, 2]), [taps, outputChannels * inputChannels]);
  const flipped = tf.reshape(tf.matMul(reversing, swapped), [kernelSize, kernelSize, outputChannels, inputChannels]) as tf.Tensor4D;
  const pad = padding4D(before, height + kernelSize - 1 - before - spreadRows, before, width + kernelSize - 1 - before - spreadColumns);
  return tf.conv2d(spread, flipped, 1, pad);
}

/** Max pooling with symmetric padding (PyTorch's `MaxPool2d(size, stride, padding)`; padding never wins). */
export function maxPool(x: tf.Tensor4D, size: number, stride: number, padding: number): tf.Tensor4D {
  return operation([x], ([input], save) => {
    const output = tf.maxPool(input as tf.Tensor4D, size, stride, padding);
    save([input!, output]);
    return {
      value: output,
      gradient: (dy, [savedInput, savedOutput]) => {
        let input = savedInput!;
        let pooled = savedOutput!;
        if (rewriteForXnnpack()) {
          // tfjs-wasm's MaxPoolGrad lets the padding win over a window of negative values (its gradient is
          // lost). Max pooling commutes with adding a constant: shifted above zero, the real maximum wins.
          const shift = tf.sub(1, tf.min(input));
          input = tf.add(input, shift);
          pooled = tf.add(pooled, shift);
        }
        return [tf.engine().runKernel('MaxPoolGrad', { dy, input, output: pooled }, { filterSize: size, strides: stride, pad: padding }) as tf.Tensor];
      },
    };
  });
}

/** The mean over space of NHWC `x`: `[batch, channels]` (a model's embedding: its gradient is not released). */
export function globalAveragePool(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, height, width, channels] = x.shape;
  return operation(
    [x],
    ([input]) => ({
      value: tf.mean(input!, [1, 2]) as tf.Tensor2D,
      gradient: (dy) => [tf.broadcastTo(tf.reshape(tf.div(dy, height * width), [batch, 1, 1, channels]), [batch, height, width, channels])],
    }),
    { releaseOutputGradient: false },
  );
}

// ----- vision-transformer pieces -----

/**
 * Products of matrices `[batch, m, k]·[batch, k, n]`, either operand transposed in its last two axes.
 * tfjs-wasm runs batched products in a reference loop (under 1 GFLOP/s); there they run as one depthwise
 * convolution instead, which XNNPACK computes as a grouped product (3-4x faster): channel g of the
 * `[1, m, k, batch]` input, convolved by a `1 x k` kernel with `n` outputs per channel, is `a_g·b_g`.
 */
function batchedProduct(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  if (!rewriteForXnnpack()) return tf.matMul(a, b, transposeA, transposeB);
  const batch = a.shape[0];
  const [m, k] = transposeA ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]];
  const n = transposeB ? b.shape[1] : b.shape[2];
  const input = tf.reshape(tf.transpose(a, transposeA ? [2, 1, 0] : [1, 2, 0]), [1, m, k, batch]) as tf.Tensor4D;
  const kernel = tf.reshape(tf.transpose(b, transposeB ? [2, 0, 1] : [1, 0, 2]), [1, k, batch, n]) as tf.Tensor4D;
  return tf.transpose(tf.reshape(tf.depthwiseConv2d(input, kernel, 1, 'valid'), [m, batch, n]), [1, 0, 2]);
}

export interface QueryKeyValue {
  readonly query: Dense;
  readonly key: Dense;
  readonly value: Dense;
}

/**
 * Multi-head self-attention from the normalised tokens `x` `[batch·tokens, width]`: the query, key and
 * value projections, softmax(q·kᵀ·scale)·v per head, heads merged back to `[batch·tokens, width]` (before
 * the output projection). One operation, so `x` is kept once for the three projections' gradients.
 */
export function attention(x: tf.Tensor2D, projections: QueryKeyValue, batch: number, heads: number, scale: number): tf.Tensor2D {
  const [rows, width] = x.shape;
  const tokens = rows / batch;
  const headWidth = width / heads;
  // [batch·tokens, width] ⇄ [batch·heads, tokens, head width]
  const splitHeads = (tensor: tf.Tensor) =>
    tf.reshape(tf.transpose(tf.reshape(tensor, [batch, tokens, heads, headWidth]), [0, 2, 1, 3]), [batch * heads, tokens, headWidth]) as tf.Tensor3D;
  const mergeHeads = (tensor: tf.Tensor) =>
    tf.reshape(tf.transpose(tf.reshape(tensor, [batch, heads, tokens, headWidth]), [0, 2, 1, 3]), [rows, width]) as tf.Tensor2D;
  const { query, key, value } = projections;
  const inputs = [x, query.weight, query.bias, key.weight, key.bias, value.weight, value.bias];
  return operation(inputs, ([input, queryWeight, queryBias, keyWeight, keyBias, valueWeight, valueBias], save) => {
    const q = affine(input!, queryWeight!, queryBias!);
    const k = affine(input!, keyWeight!, keyBias!);
    const v = affine(input!, valueWeight!, valueBias!);
    const probabilities = tf.softmax(tf.mul(batchedProduct(splitHeads(q), splitHeads(k), false, true), scale)) as tf.Tensor3D;
    save([input!, queryWeight!, keyWeight!, valueWeight!, q, k, v, probabilities]);
    return {
      value: mergeHeads(batchedProduct(probabilities, splitHeads(v), false, false)),
      gradient: (dy, [savedInput, savedQueryWeight, savedKeyWeight, savedValueWeight, savedQ, savedK, savedV, savedProbabilities]) => {
        const P = savedProbabilities as tf.Tensor3D;
        const contextGradient = splitHeads(dy);
        const probabilityGradient = batchedProduct(contextGradient, splitHeads(savedV!), false, true);
        const scoreGradient = tf.mul(tf.mul(P, tf.sub(probabilityGradient, tf.sum(tf.mul(probabilityGradient, P), -1, true))), scale) as tf.Tensor3D;
        const gradients: [tf.Tensor2D, tf.Tensor][] = [
          [mergeHeads(batchedProduct(scoreGradient, splitHeads(savedK!), false, false)), savedQueryWeight!],
          [mergeHeads(batchedProduct(scoreGradient, splitHeads(savedQ!), true, false)), savedKeyWeight!],
          [mergeHeads(batchedProduct(P, contextGradient, true, false)), savedValueWeight!],
        ];
        let inputGradient: tf.Tensor | undefined;
        const parameterGradients: tf.Tensor[] = [];
        for (const [projected, weight] of gradients) {
          const part = product(projected, weight, false, true);
          inputGradient = inputGradient ? tf.add(inputGradient, part) : part;
          parameterGradients.push(transposedProduct(savedInput as tf.Tensor2D, projected), tf.sum(projected, 0));
        }
        return [inputGradient!, ...parameterGradients];
      },
    };
  });
}

/**
 * DINO's and DINOv2's token sequence `[batch·(1 + registers + patches), width]`: for every image the class
 * token (`classToken`: `[1, 1, width]`) plus the class position, the register tokens (`registerTokens`:
 * `[1, registers, width]`, no position), then its patch tokens plus theirs (`positions`: `[1, 1 + patches,
 * width]`, class position first).
 */
export function assembleTokens(
  patches: tf.Tensor2D,
  classToken: tf.Tensor3D,
  positions: tf.Tensor3D,
  batch: number,
  registerTokens?: tf.Tensor3D,
): tf.Tensor2D {
  const [rows, width] = patches.shape;
  const count = rows / batch;
  const registers = registerTokens?.shape[1] ?? 0;
  const prefix = 1 + registers;
  return operation([patches, classToken, positions, ...(registerTokens ? [registerTokens] : [])], ([patchTokens, token, table, registerTable]) => {
    const classRow = tf.add(token!, tf.slice(table!, [0, 0, 0], [1, 1, width]));
    const positioned = tf.add(tf.reshape(patchTokens!, [batch, count, width]), tf.slice(table!, [0, 1, 0], [1, count, width]));
    const before = registerTable
      ? [tf.broadcastTo(classRow, [batch, 1, width]), tf.broadcastTo(registerTable, [batch, registers, width])]
      : [tf.broadcastTo(classRow, [batch, 1, width])];
    const tokens = tf.concat([...before, positioned], 1);
    return {
      value: tf.reshape(tokens, [batch * (prefix + count), width]) as tf.Tensor2D,
      gradient: (dy) => {
        const perImage = tf.reshape(dy, [batch, prefix + count, width]);
        const classGradient = tf.sum(tf.slice(perImage, [0, 0, 0], [batch, 1, width]), 0, true);
        const patchGradient = tf.slice(perImage, [0, prefix, 0], [batch, count, width]);
        const gradients = [tf.reshape(patchGradient, [rows, width]), classGradient, tf.concat([classGradient, tf.sum(patchGradient, 0, true)], 1)];
        return registerTable ? [...gradients, tf.sum(tf.slice(perImage, [0, 1, 0], [batch, registers, width]), 0, true)] : gradients;
      },
    };
  });
}

/** The class token of every image, `[batch, width]`, from tokens `[batch·tokens, width]`. */
export function classTokens(tokens: tf.Tensor2D, batch: number, options: OperationOptions = {}): tf.Tensor2D {
  const [rows, width] = tokens.shape;
  const count = rows / batch;
  return operation(
    [tokens],
    ([input]) => ({
      value: tf.reshape(tf.slice(tf.reshape(input!, [batch, count, width]), [0, 0, 0], [batch, 1, width]), [batch, width]) as tf.Tensor2D,
      gradient: (dy) => [
        tf.reshape(
          tf.pad(tf.reshape(dy, [batch, 1, width]), [
            [0, 0],
            [0, count - 1],
            [0, 0],
          ]),
          [rows, width],
        ),
      ],
    }),
    options,
  );
}

/** The mean of every image's tokens after the first `skip` (class token and registers), `[batch, width]`. */
export function patchMean(tokens: tf.Tensor2D, batch: number, skip: number, options: OperationOptions = {}): tf.Tensor2D {
  const [rows, width] = tokens.shape;
  const count = rows / batch;
  const patches = count - skip;
  return operation(
    [tokens],
    ([input]) => ({
      value: tf.mean(tf.slice(tf.reshape(input!, [batch, count, width]), [0, skip, 0], [batch, patches, width]), 1) as tf.Tensor2D,
      gradient: (dy) => {
        const spread = tf.broadcastTo(tf.reshape(tf.div(dy, patches), [batch, 1, width]), [batch, patches, width]);
        return [
          tf.reshape(
            tf.pad(spread, [
              [0, 0],
              [skip, 0],
              [0, 0],
            ]),
            [rows, width],
          ),
        ];
      },
    }),
    options,
  );
}

/**
 * DINO's position table resampled for another patch grid, differentiably: `table` `[1, 1 + grid², width]`;
 * patch position (r, c) becomes `Σ_i Σ_j rowWeights[r, i]·columnWeights[c, j]·table[1 + i·grid + j]`
 * (`rowWeights` `[rows, grid]`, `columnWeights` `[columns, grid]`, constants); the class position is kept.
 */
export function interpolatePositions(table: tf.Tensor3D, rowWeights: tf.Tensor2D, columnWeights: tf.Tensor2D): tf.Tensor3D {
  const width = table.shape[2];
  const [rows, grid] = rowWeights.shape;
  const columns = columnWeights.shape[0];
  // Along the grid's rows, then its columns: one matrix product over one grid axis each. `transposed`
  // applies the transposed weights (the gradient), from the new grid back to the stored one.
  const resample = (patches: tf.Tensor, transposed: boolean) => {
    const [rowsIn, rowsOut] = transposed ? rowWeights.shape : [grid, rows];
    const [columnsIn, columnsOut] = transposed ? columnWeights.shape : [grid, columns];
    const alongRows = product(rowWeights, tf.reshape(patches, [rowsIn, columnsIn * width]), transposed, false); // [rowsOut, columnsIn·width]
    const swapped = tf.reshape(tf.transpose(tf.reshape(alongRows, [rowsOut, columnsIn, width]), [1, 0, 2]), [columnsIn, rowsOut * width]);
    const alongColumns = product(columnWeights, swapped, transposed, false); // [columnsOut, rowsOut·width]
    return tf.reshape(tf.transpose(tf.reshape(alongColumns, [columnsOut, rowsOut, width]), [1, 0, 2]), [1, rowsOut * columnsOut, width]);
  };
  return operation([table], ([input]) => ({
    value: tf.concat([tf.slice(input!, [0, 0, 0], [1, 1, width]), resample(tf.slice(input!, [0, 1, 0], [1, grid * grid, width]), false)], 1) as tf.Tensor3D,
    gradient: (dy) => [tf.concat([tf.slice(dy, [0, 0, 0], [1, 1, width]), resample(tf.slice(dy, [0, 1, 0], [1, rows * columns, width]), true)], 1)],
  }));
}

/** Matrices `[batch, width_i]` side by side (by default a model's embedding: its gradient is not released). */
export function concatColumns(parts: tf.Tensor2D[], options: OperationOptions = { releaseOutputGradient: false }): tf.Tensor2D {
  const widths = parts.map((part) => part.shape[1]);
  return operation(parts, (inputs) => ({ value: tf.concat(inputs, 1) as tf.Tensor2D, gradient: (dy) => tf.split(dy, widths, 1) }), options);
}
