import { createRng } from '@medssl/core';
import { describe, expect, it } from 'vitest';
import { gramMatrix, logDeterminantOfIdentityPlus, tridiagonalEigenvalues, tridiagonalize } from './linear-algebra.js';

function randomMatrix(n: number, d: number, rank: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const left = Float64Array.from({ length: n * rank }, () => rng.normal());
  const right = Float64Array.from({ length: rank * d }, () => rng.normal());
  const matrix = new Float64Array(n * d);
  for (let r = 0; r < n; r++)
    for (let k = 0; k < rank; k++) for (let c = 0; c < d; c++) matrix[r * d + c] = matrix[r * d + c]! + left[r * rank + k]! * right[k * d + c]!;
  return matrix;
}

describe('the shared linear algebra', () => {
  it('computes both Gram matrices as plain float64 sums, on SIMD and JavaScript kernels alike', async () => {
    const n = 37;
    const d = 13;
    const x = randomMatrix(n, d, d, 1);
    for (const choice of ['wasm-simd', 'javascript'] as const) {
      const columns = await gramMatrix(x, n, d, 'columns', choice);
      const rows = await gramMatrix(x, n, d, 'rows', choice);
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++) {
          let sum = 0;
          for (let r = 0; r < n; r++) sum += x[r * d + i]! * x[r * d + j]!;
          expect(columns[i * d + j]).toBeCloseTo(sum, 11);
        }
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let c = 0; c < d; c++) sum += x[i * d + c]! * x[j * d + c]!;
          expect(rows[i * n + j]).toBeCloseTo(sum, 11);
        }
    }
  });

  it('finds the eigenvalues of a Gram matrix of rank 3 in 160 dimensions: the zero ones converge too', async () => {
    const n = 200;
    const d = 160;
    const gram = await gramMatrix(randomMatrix(n, d, 3, 2), n, d, 'columns');
    let trace = 0;
    let frobenius = 0;
    for (let i = 0; i < d; i++) trace += gram[i * d + i]!;
    for (const value of gram) frobenius += value * value;
    const tridiagonal = tridiagonalize(Float64Array.from(gram), d);
    const values = [...tridiagonalEigenvalues(tridiagonal.diagonal, tridiagonal.offDiagonal, [])].sort((a, b) => b - a);
    expect(values.reduce((sum, value) => sum + value, 0)).toBeCloseTo(trace, 6);
    expect(values.reduce((sum, value) => sum + value * value, 0) / frobenius).toBeCloseTo(1, 12);
    for (const value of values.slice(3)) expect(Math.abs(value)).toBeLessThan(1e-10 * values[0]!);
  });

  it('takes log det(I + sS) by Cholesky', () => {
    // S = [[2, 1], [1, 2]], s = 0.5: I + S/2 = [[2, 0.5], [0.5, 2]], determinant 3.75.
    expect(logDeterminantOfIdentityPlus(Float64Array.from([2, 1, 1, 2]), 2, 0.5)).toBeCloseTo(Math.log(3.75), 14);
  });
});
