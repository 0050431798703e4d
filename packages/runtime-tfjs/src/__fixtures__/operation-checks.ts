// The ResNet's custom-gradient operations against PyTorch (float64) on well-conditioned inputs, on one
// backend: outputs, running estimates and every input gradient under the loss sum(output ⊙ R). Registered
// by each backend's test file.
import { readFixtureArrays, trainingDescription } from '@medssl/parity';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTfjsBackend, type TfjsBackendName } from '../backend.js';
import { kernelFromHwio, kernelToHwio } from '../layout.js';
import { convolutionUnit, maxPool, updateRunningStatistics, type Normalization } from '../operations.js';
import { formulaValues, nchwToNhwc, relativeError, weightedSum } from './reference.js';

const description = trainingDescription().operations;
/** Float32 against a float64 reference on inputs without cancellation or kinks near zero. */
const TOLERANCE = 1e-5;

const elementCount = (shape: readonly number[]) => shape.reduce((product, extent) => product * extent, 1);
const nhwcShape = ([batch, channels, height, width]: readonly number[]) => [batch!, height!, width!, channels!] as [number, number, number, number];
/** A formula tensor `[n, c, h, w]` as NHWC. */
const formulaNhwc = (name: string, shape: readonly number[], offset: number, amplitude: number) =>
  tf.tensor4d(nchwToNhwc(formulaValues(name, elementCount(shape), offset, amplitude), shape), nhwcShape(shape));
/** The projection R of an output `[n, c, h, w]`, as NHWC. */
const projection = (name: string, shape: readonly number[]) => formulaNhwc(`${name}:projection`, shape, 0, 1);

export function describeOperationChecks(backend: TfjsBackendName, record: (line: string) => void): void {
  describe(`ResNet operations on ${backend} against PyTorch`, () => {
    let reference: ReadonlyMap<string, Float32Array>;
    const expected = (name: string) => {
      const array = reference.get(`ops/${name}`);
      if (!array) throw new Error(`training.npz has no ops/${name}`);
      return array;
    };
    const expectClose = async (label: string, actual: tf.Tensor | Float32Array, name: string, nchwShape?: readonly number[]) => {
      const values = actual instanceof Float32Array ? actual : ((await actual.data()) as Float32Array);
      // Activations compare in NHWC: the fixture's NCHW values are reordered.
      let wanted = expected(name);
      if (nchwShape) wanted = nchwToNhwc(wanted, nchwShape);
      const error = relativeError(values, wanted);
      record(`${backend} ${label}: ${error.toExponential(2)}`);
      expect(error, label).toBeLessThanOrEqual(TOLERANCE);
    };

    beforeAll(async () => {
      await useTfjsBackend(backend);
      reference = await readFixtureArrays('training.npz');
    });

    for (const unitCase of description.units) {
      const { tag, kernel, stride, padding, size, inputs, outputs, mode, residual, relu, outputShape } = unitCase;
      const what = `${kernel}x${kernel} convolution, stride ${stride}, padding ${padding} on ${size}x${size}, ${mode}-mode batch norm${residual ? ', residual' : ''}${relu ? ', ReLU' : ''}`;
      it(`${what}: output, running estimates, gradients`, async () => {
        const inputShape = [2, inputs, size, size];
        const x = formulaNhwc(`${tag}:x`, inputShape, 0, 2);
        const hwio = kernelToHwio({ data: formulaValues(`${tag}:weight`, outputs * inputs * kernel * kernel, 0, 1), shape: [outputs, inputs, kernel, kernel] });
        const weight = tf.tensor4d(hwio.data, hwio.shape);
        const gamma = tf.tensor1d(formulaValues(`${tag}:bn_weight`, outputs, 1, 0.25));
        const beta = tf.tensor1d(formulaValues(`${tag}:bn_bias`, outputs, 0, 0.5));
        const running = {
          mean: tf.variable(tf.tensor1d(formulaValues(`${tag}:running_mean`, outputs, 0, 0.125)), false),
          variance: tf.variable(tf.tensor1d(formulaValues(`${tag}:running_var`, outputs, 1, 0.5)), false),
        };
        const shortcut = residual ? formulaNhwc(`${tag}:residual`, outputShape, 0, 1) : undefined;
        const R = projection(tag, outputShape);
        const count = elementCount(outputShape) / outputs;
        const normalization: Normalization =
          mode === 'train'
            ? { mode, statistics: (mean, variance) => updateRunningStatistics(running, { mean, variance, count }, 0.1) }
            : { mode, mean: running.mean, variance: running.variance };
        const run = (input: tf.Tensor, filter: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, added?: tf.Tensor) =>
          convolutionUnit(
            input as tf.Tensor4D,
            { kernel: filter as tf.Tensor4D, weight: scale as tf.Tensor1D, bias: shift as tf.Tensor1D },
            {
              geometry: { stride, padding },
              normalization,
              epsilon: 1e-5,
              relu,
              inputGradient: true,
              ...(added ? { residual: added as tf.Tensor4D } : {}),
            },
          );
        const output = run(x, weight, gamma, beta, shortcut);
        await expectClose(`${tag} output`, output, `${tag}/output`, outputShape);
        await expectClose(`${tag} running mean`, running.mean, `${tag}/running_mean`);
        await expectClose(`${tag} running variance`, running.variance, `${tag}/running_var`);
        const differentiated = shortcut ? [x, weight, gamma, beta, shortcut] : [x, weight, gamma, beta];
        // The second forward moves the running estimates again; only its gradients are compared.
        const gradients = tf.grads((...args: tf.Tensor[]) => weightedSum(run(args[0]!, args[1]!, args[2]!, args[3]!, args[4]), R))(differentiated);
        await expectClose(`${tag} input gradient`, gradients[0]!, `${tag}/x_gradient`, inputShape);
        await expectClose(`${tag} kernel gradient`, kernelFromHwio((await gradients[1]!.data()) as Float32Array, hwio.shape).data, `${tag}/weight_gradient`);
        await expectClose(`${tag} batch-norm weight gradient`, gradients[2]!, `${tag}/bn_weight_gradient`);
        await expectClose(`${tag} batch-norm bias gradient`, gradients[3]!, `${tag}/bn_bias_gradient`);
        if (shortcut) await expectClose(`${tag} residual gradient`, gradients[4]!, `${tag}/residual_gradient`, outputShape);
        tf.dispose([x, weight, gamma, beta, running.mean, running.variance, R, output, ...gradients, ...(shortcut ? [shortcut] : [])]);
      });
    }

    it('max pooling 3x3, stride 2, padding 1 on 9x9: output and gradient', async () => {
      const { shape, outputShape } = description.maxpool;
      const x = formulaNhwc('maxpool:x', shape, 0, 2);
      const R = projection('maxpool', outputShape);
      const output = maxPool(x, 3, 2, 1);
      await expectClose('max pool output', output, 'maxpool/output', outputShape);
      const [dx] = tf.grads((a) => weightedSum(maxPool(a! as tf.Tensor4D, 3, 2, 1), R))([x]);
      await expectClose('max pool gradient', dx!, 'maxpool/x_gradient', shape);
      tf.dispose([x, R, output, dx!]);
    });
  });
}
