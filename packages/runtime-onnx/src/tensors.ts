import type { Tensor } from '@medssl/spec';

/** Canonical tensors by name (see `@medssl/weights`' `canonicalTensorShapes`). */
export type TensorSource = ReadonlyMap<string, Tensor>;

export function requireTensor(tensors: TensorSource, name: string): Tensor {
  const tensor = tensors.get(name);
  if (!tensor) throw new Error(`canonical tensor ${name} is missing`);
  return tensor;
}

/** A row-major `[rows, columns]` matrix as `[columns, rows]`: PyTorch's `Linear` weight for a `MatMul`. */
export function transposeMatrix(data: Float32Array, rows: number, columns: number): Float32Array {
  if (data.length !== rows * columns) throw new Error(`cannot transpose ${data.length} values as a ${rows}x${columns} matrix`);
  const transposed = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) transposed[column * rows + row] = data[row * columns + column]!;
  }
  return transposed;
}
