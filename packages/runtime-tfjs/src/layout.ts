// Canonical tensors are PyTorch's layouts (OIHW kernels, `[outputs, inputs]` linear weights); tfjs runs
// NHWC convolutions with HWIO kernels and `x·W` products with `[inputs, outputs]` weights.
import type { Tensor } from '@medssl/spec';

/** PyTorch's `[out, in, h, w]` kernel as tfjs' `[h, w, in, out]`. */
export function kernelToHwio(kernel: Tensor): { data: Float32Array; shape: [number, number, number, number] } {
  const [outputs, inputs, height, width] = kernel.shape as [number, number, number, number];
  const data = new Float32Array(kernel.data.length);
  const spatial = height * width;
  for (let output = 0; output < outputs; output++) {
    for (let input = 0; input < inputs; input++) {
      const source = (output * inputs + input) * spatial;
      for (let position = 0; position < spatial; position++) data[(position * inputs + input) * outputs + output] = kernel.data[source + position]!;
    }
  }
  return { data, shape: [height, width, inputs, outputs] };
}

/** tfjs' `[h, w, in, out]` kernel back as PyTorch's `[out, in, h, w]`. */
export function kernelFromHwio(data: Float32Array, shape: readonly number[]): Tensor {
  const [height, width, inputs, outputs] = shape as [number, number, number, number];
  const kernel = new Float32Array(data.length);
  const spatial = height * width;
  for (let output = 0; output < outputs; output++) {
    for (let input = 0; input < inputs; input++) {
      const target = (output * inputs + input) * spatial;
      for (let position = 0; position < spatial; position++) kernel[target + position] = data[(position * inputs + input) * outputs + output]!;
    }
  }
  return { data: kernel, shape: [outputs, inputs, height, width] };
}

/** A row-major `[rows, columns]` matrix as `[columns, rows]`. */
export function transposeMatrix(data: Float32Array, rows: number, columns: number): Float32Array {
  if (data.length !== rows * columns) throw new Error(`cannot transpose ${data.length} values as a ${rows}x${columns} matrix`);
  const transposed = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) transposed[column * rows + row] = data[row * columns + column]!;
  }
  return transposed;
}
