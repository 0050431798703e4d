import { createRng } from '@medssl/core';
import { describe, expect, it } from 'vitest';
import { createFloat64Kernels, createKernels, wasmSimdAvailable, type MatrixKernels } from './kernels.js';
import { PANEL_WIDTH, PANEL_WIDTH_64 } from './wasm-kernels.js';

/** C = A·B in float64, A row-major `rows × depth`, B and C in 8-column panels. */
function referenceProduct(a: Float32Array, b: Float32Array, rows: number, depth: number, panels: number): Float64Array {
  const c = new Float64Array(panels * rows * PANEL_WIDTH);
  for (let panel = 0; panel < panels; panel++) {
    for (let row = 0; row < rows; row++) {
      for (let lane = 0; lane < PANEL_WIDTH; lane++) {
        let sum = 0;
        for (let step = 0; step < depth; step++) sum += a[row * depth + step]! * b[(panel * depth + step) * PANEL_WIDTH + lane]!;
        c[(panel * rows + row) * PANEL_WIDTH + lane] = sum;
      }
    }
  }
  return c;
}

function largestError(actual: Float32Array, expected: Float64Array): number {
  let largest = 0;
  expected.forEach((value, index) => (largest = Math.max(largest, Math.abs(value - actual[index]!) / (1 + Math.abs(value)))));
  return largest;
}

describe.each(['wasm-simd', 'javascript'] as const)('%s matrix kernels', (choice) => {
  const rows = 12;
  const depth = 20;
  const panels = 3;

  async function setUp(): Promise<{ kernels: MatrixKernels; buffers: Float32Array[]; expected: Float64Array }> {
    const kernels = await createKernels(choice);
    expect(kernels.name).toBe(choice);
    const rng = createRng(7);
    const [a, transposed, b, c] = kernels.allocate([rows * depth, depth * rows, depth * panels * PANEL_WIDTH, rows * panels * PANEL_WIDTH]) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    a.forEach((_, index) => (a[index] = rng.normal()));
    b.forEach((_, index) => (b[index] = rng.normal()));
    for (let row = 0; row < rows; row++) for (let step = 0; step < depth; step++) transposed[step * rows + row] = a[row * depth + step]!;
    return { kernels, buffers: [a, transposed, b, c], expected: referenceProduct(a, b, rows, depth, panels) };
  }

  it('multiplies a row-major matrix by a panel matrix', async () => {
    const { kernels, buffers, expected } = await setUp();
    const [a, , b, c] = buffers as [Float32Array, Float32Array, Float32Array, Float32Array];
    kernels.product(false, rows, depth, panels, a, 0, depth, b, 0, depth * PANEL_WIDTH, c, 0, rows * PANEL_WIDTH, false);
    expect(largestError(c, expected)).toBeLessThan(1e-6);
  });

  it('reads A transposed in place, and accumulates over slices of the depth', async () => {
    const { kernels, buffers, expected } = await setUp();
    const [, transposed, b, c] = buffers as [Float32Array, Float32Array, Float32Array, Float32Array];
    c.fill(123);
    // Depth 20 in slices of 8, 8 and 4: the first overwrites C, the others add to it.
    for (const [start, length] of [
      [0, 8],
      [8, 8],
      [16, 4],
    ] as const) {
      kernels.product(
        true,
        rows,
        length,
        panels,
        transposed,
        start * rows,
        rows,
        b,
        start * PANEL_WIDTH,
        depth * PANEL_WIDTH,
        c,
        0,
        rows * PANEL_WIDTH,
        start > 0,
      );
    }
    expect(largestError(c, expected)).toBeLessThan(1e-6);
  });
});

it('has WebAssembly SIMD in this Node (the fast path the benchmark measures)', async () => {
  expect(await wasmSimdAvailable()).toBe(true);
});

describe.each(['wasm-simd', 'javascript'] as const)('%s float64 kernels', (choice) => {
  it('multiply row-major and transposed A by 4-column panels to float64 rounding, accumulating over slices of the depth', async () => {
    const rows = 8;
    const depth = 24;
    const panels = 3;
    const rng = createRng(11);
    const a = Float64Array.from({ length: rows * depth }, () => rng.normal());
    const b = Float64Array.from({ length: panels * depth * PANEL_WIDTH_64 }, () => rng.normal());
    const expected = new Float64Array(panels * rows * PANEL_WIDTH_64);
    for (let panel = 0; panel < panels; panel++)
      for (let row = 0; row < rows; row++)
        for (let lane = 0; lane < PANEL_WIDTH_64; lane++) {
          let sum = 0;
          for (let step = 0; step < depth; step++) sum += a[row * depth + step]! * b[(panel * depth + step) * PANEL_WIDTH_64 + lane]!;
          expected[(panel * rows + row) * PANEL_WIDTH_64 + lane] = sum;
        }
    const kernels = await createFloat64Kernels(choice);
    expect(kernels.name).toBe(choice);
    const [aBuffer, transposed, bBuffer, c] = kernels.allocate([a.length, a.length, b.length, expected.length]) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    aBuffer.set(a);
    bBuffer.set(b);
    for (let row = 0; row < rows; row++) for (let step = 0; step < depth; step++) transposed[step * rows + row] = a[row * depth + step]!;
    const largest = () => expected.reduce((worst, value, index) => Math.max(worst, Math.abs(value - c[index]!) / (1 + Math.abs(value))), 0);
    kernels.product(false, rows, depth, panels, aBuffer, 0, depth, bBuffer, 0, depth * PANEL_WIDTH_64, c, 0, rows * PANEL_WIDTH_64, false);
    expect(largest()).toBeLessThan(1e-14);
    c.fill(0);
    for (const [start, length] of [
      [0, 8],
      [8, 16],
    ] as const) {
      kernels.product(
        true,
        rows,
        length,
        panels,
        transposed,
        start * rows,
        rows,
        bBuffer,
        start * PANEL_WIDTH_64,
        depth * PANEL_WIDTH_64,
        c,
        0,
        rows * PANEL_WIDTH_64,
        start > 0,
      );
    }
    expect(largest()).toBeLessThan(1e-14);
  });
});
