import { createFloat64Kernels, type KernelChoice, PANEL_WIDTH_64, ROW_BLOCK } from '@medssl/kernels';

/**
 * The float64 linear algebra the estimators share: Gram matrices, a symmetric eigendecomposition that
 * projects chosen vectors onto the eigenvectors without forming them all, a few leading eigenvectors by
 * inverse iteration, and log-determinants by Cholesky. Written for these estimators, not as a general
 * library: matrices are row-major `Float64Array`s and only what the estimators need is computed.
 */

/** Rows per tile of the Gram matrix, and depth per kernel call: operands of 128 KB to 256 KB stay in L2. */
const TILE = 128;
const DEPTH_BLOCK = 256;

/**
 * The Gram matrix of a row-major `n × d` matrix on the chosen side, both triangles filled: `Xᵀ X`
 * (`d × d`, side `'columns'`) or `X Xᵀ` (`n × n`, side `'rows'`). Float64 products on `@medssl/kernels`
 * (WebAssembly SIMD where the runtime has it), tile by tile on and below the diagonal, each sum running
 * down the depth in order, as a plain loop would.
 */
export async function gramMatrix(matrix: Float64Array, n: number, d: number, side: 'columns' | 'rows', choice: KernelChoice = 'auto'): Promise<Float64Array> {
  const columnsSide = side === 'columns';
  const size = columnsSide ? d : n;
  const depth = columnsSide ? n : d;
  const sizePadded = Math.ceil(size / ROW_BLOCK) * ROW_BLOCK;
  const depthPadded = Math.ceil(depth / ROW_BLOCK) * ROW_BLOCK;
  const kernels = await createFloat64Kernels(choice);
  // A: X itself, padded with zeros (the product's rows for X Xᵀ; read transposed for Xᵀ X).
  // B: the product's columns in panels of four, depth-major.
  const [a, b, c] = kernels.allocate([sizePadded * depthPadded, sizePadded * depthPadded, TILE * TILE]) as [Float64Array, Float64Array, Float64Array];
  const aStride = columnsSide ? sizePadded : depthPadded;
  for (let r = 0; r < n; r++) {
    for (let column = 0; column < d; column++) {
      const value = matrix[r * d + column]!;
      a[r * aStride + column] = value;
      const index = columnsSide ? column : r;
      const step = columnsSide ? r : column;
      b[Math.floor(index / PANEL_WIDTH_64) * depthPadded * PANEL_WIDTH_64 + step * PANEL_WIDTH_64 + (index % PANEL_WIDTH_64)] = value;
    }
  }
  const gram = new Float64Array(size * size);
  for (let rowStart = 0; rowStart < sizePadded; rowStart += TILE) {
    const rowCount = Math.min(TILE, sizePadded - rowStart);
    for (let columnStart = 0; columnStart < rowStart + rowCount; columnStart += TILE) {
      const columnCount = Math.min(TILE, sizePadded - columnStart);
      for (let depthStart = 0; depthStart < depthPadded; depthStart += DEPTH_BLOCK) {
        kernels.product(
          columnsSide,
          rowCount,
          Math.min(DEPTH_BLOCK, depthPadded - depthStart),
          columnCount / PANEL_WIDTH_64,
          a,
          columnsSide ? depthStart * aStride + rowStart : rowStart * aStride + depthStart,
          aStride,
          b,
          (columnStart / PANEL_WIDTH_64) * depthPadded * PANEL_WIDTH_64 + depthStart * PANEL_WIDTH_64,
          depthPadded * PANEL_WIDTH_64,
          c,
          0,
          rowCount * PANEL_WIDTH_64,
          depthStart > 0,
        );
      }
      for (let i = 0; i < rowCount && rowStart + i < size; i++) {
        const row = rowStart + i;
        const last = Math.min(columnStart + columnCount, row + 1);
        for (let column = columnStart; column < last; column++) {
          const local = column - columnStart;
          const value = c[(Math.floor(local / PANEL_WIDTH_64) * rowCount + i) * PANEL_WIDTH_64 + (local % PANEL_WIDTH_64)]!;
          gram[row * size + column] = value;
          gram[column * size + row] = value;
        }
      }
    }
  }
  return gram;
}

/**
 * A symmetric matrix reduced to tridiagonal form `T = Qᵀ A Q` by Householder reflections, kept so that
 * vectors can be carried into and out of the tridiagonal basis.
 */
export interface Tridiagonal {
  readonly size: number;
  readonly diagonal: Float64Array;
  /** `offDiagonal[i]` couples `i` and `i + 1`; the last entry is 0. */
  readonly offDiagonal: Float64Array;
  /** `Qᵀ v` for each vector (length `size`), in place. */
  toTridiagonalBasis(vectors: readonly Float64Array[]): void;
  /** `Q w` for each vector, in place. */
  fromTridiagonalBasis(vectors: readonly Float64Array[]): void;
}

/**
 * Householder tridiagonalisation of a symmetric `size × size` matrix, read from and worked in its lower
 * triangle (the matrix is overwritten). Reflection `k` is `I − τₖ vₖ vₖᵀ` with `vₖ` zero above `k + 1`
 * and 1 at `k + 1`; the rest of `vₖ` is kept in row `k` of the unused upper triangle.
 */
export function tridiagonalize(matrix: Float64Array, size: number): Tridiagonal {
  const n = size;
  const taus = new Float64Array(Math.max(0, n - 2));
  const offDiagonal = new Float64Array(n);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // x = A[k+1.., k], read down column k of the lower triangle.
    let tailNorm = 0;
    for (let i = k + 2; i < n; i++) tailNorm += matrix[i * n + k]! ** 2;
    const x0 = matrix[(k + 1) * n + k]!;
    if (tailNorm === 0) {
      taus[k] = 0;
      offDiagonal[k] = x0;
      continue;
    }
    const norm = Math.sqrt(x0 * x0 + tailNorm);
    const beta = x0 >= 0 ? -norm : norm;
    const tau = (beta - x0) / beta;
    const scale = 1 / (x0 - beta);
    taus[k] = tau;
    offDiagonal[k] = beta;
    v[k + 1] = 1;
    for (let i = k + 2; i < n; i++) v[i] = matrix[i * n + k]! * scale;
    // p = τ B v over the trailing block B = A[k+1.., k+1..], from its lower triangle.
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let sum = 0;
      for (let j = k + 1; j < i; j++) {
        const a = matrix[row + j]!;
        sum += a * v[j]!;
        p[j] = p[j]! + a * vi;
      }
      p[i] = p[i]! + sum + matrix[row + i]! * vi;
    }
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = p[i]! * tau;
      pv += p[i]! * v[i]!;
    }
    // w = p − (τ/2)(pᵀv) v, kept in p; B ← B − v wᵀ − w vᵀ.
    const half = (tau / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - half * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = k + 1; j <= i; j++) matrix[row + j] = matrix[row + j]! - vi * p[j]! - wi * v[j]!;
    }
    // Keep v (below its leading 1) in the upper triangle of row k: A[k][k+2..].
    for (let i = k + 2; i < n; i++) matrix[k * n + i] = v[i]!;
  }
  if (n >= 2) offDiagonal[n - 2] = matrix[(n - 1) * n + (n - 2)]!;
  const diagonal = new Float64Array(n);
  for (let i = 0; i < n; i++) diagonal[i] = matrix[i * n + i]!;

  const reflect = (k: number, vector: Float64Array): void => {
    const tau = taus[k]!;
    if (tau === 0) return;
    const row = k * n;
    let dot = vector[k + 1]!;
    for (let i = k + 2; i < n; i++) dot += matrix[row + i]! * vector[i]!;
    const factor = tau * dot;
    vector[k + 1] = vector[k + 1]! - factor;
    for (let i = k + 2; i < n; i++) vector[i] = vector[i]! - factor * matrix[row + i]!;
  };
  return {
    size: n,
    diagonal,
    offDiagonal,
    toTridiagonalBasis(vectors) {
      for (const vector of vectors) for (let k = 0; k < taus.length; k++) reflect(k, vector);
    },
    fromTridiagonalBasis(vectors) {
      for (const vector of vectors) for (let k = taus.length - 1; k >= 0; k--) reflect(k, vector);
    },
  };
}

/**
 * Eigenvalues of a symmetric tridiagonal matrix by the implicit QL method with Wilkinson-style shifts,
 * and `Wᵀ c` for each of `vectors` (given in the tridiagonal basis, changed in place), where `W` holds
 * the eigenvectors of `T`: each plane rotation that QL applies to the eigenvector columns is applied to
 * the two matching coordinates of every vector instead, so no eigenvector is formed.
 *
 * Returns the eigenvalues in the order QL leaves them; `vectors[v][i]` is the coordinate on eigenvalue i.
 */
export function tridiagonalEigenvalues(diagonal: Float64Array, offDiagonal: Float64Array, vectors: readonly Float64Array[]): Float64Array {
  const n = diagonal.length;
  const d = Float64Array.from(diagonal);
  const e = Float64Array.from(offDiagonal);
  if (n > 0) e[n - 1] = 0;
  const epsilon = 2 ** -52;
  // A coupling is negligible against its two diagonal entries, or against the whole matrix: the second test
  // (EISPACK's tql2 uses the like) is what converges among many zero eigenvalues, where the first never holds.
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!));
  const negligible = epsilon * norm;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const scale = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= epsilon * scale || Math.abs(e[m]!) <= negligible) break;
      }
      if (m === l) break;
      if (++iterations > 60) throw new Error(`transferability: the eigenvalue iteration did not converge at index ${l} of ${n}`);
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] = d[i + 1]! - p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (const vector of vectors) {
          const next = vector[i + 1]!;
          const current = vector[i]!;
          vector[i + 1] = s * current + c * next;
          vector[i] = c * current - s * next;
        }
      }
      if (deflated) continue;
      d[l] = d[l]! - p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d;
}

/**
 * An eigenvector of the symmetric tridiagonal `T` for its (accurately known) eigenvalue `value`, by
 * inverse iteration with a partially pivoted LU of `T − value·I`, orthogonalised against `previous`
 * (eigenvectors of nearby eigenvalues). `start` seeds the iteration.
 */
export function tridiagonalEigenvector(
  diagonal: Float64Array,
  offDiagonal: Float64Array,
  value: number,
  previous: readonly Float64Array[],
  start: Float64Array,
): Float64Array {
  const n = diagonal.length;
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(diagonal[i]!) + Math.abs(offDiagonal[i]!) + (i > 0 ? Math.abs(offDiagonal[i - 1]!) : 0));
  const tiny = Math.max(norm, Number.MIN_VALUE) * 2 ** -52;
  // LU with row interchanges: U has the diagonal u0 and two superdiagonals u1, u2; l holds the multipliers.
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const multipliers = new Float64Array(n);
  const swapped = new Uint8Array(n);
  let a = diagonal[0]! - value;
  let b = n > 1 ? offDiagonal[0]! : 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (i === n - 1) {
      u0[i] = Math.abs(a) < tiny ? tiny : a;
      break;
    }
    const below = offDiagonal[i]!;
    const nextDiagonal = diagonal[i + 1]! - value;
    const nextOff = i + 2 < n ? offDiagonal[i + 1]! : 0;
    if (Math.abs(a) >= Math.abs(below)) {
      const pivot = Math.abs(a) < tiny ? tiny : a;
      const factor = below / pivot;
      u0[i] = pivot;
      u1[i] = b;
      u2[i] = c;
      multipliers[i] = factor;
      a = nextDiagonal - factor * b;
      b = nextOff - factor * c;
      c = 0;
    } else {
      const factor = a / below;
      u0[i] = below;
      u1[i] = nextDiagonal;
      u2[i] = nextOff;
      multipliers[i] = factor;
      swapped[i] = 1;
      a = b - factor * nextDiagonal;
      b = c - factor * nextOff;
      c = 0;
    }
  }
  let x = Float64Array.from(start);
  for (let iteration = 0; iteration < 3; iteration++) {
    for (const other of previous) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += x[i]! * other[i]!;
      for (let i = 0; i < n; i++) x[i] = x[i]! - dot * other[i]!;
    }
    // Forward: apply the interchanges and multipliers to x.
    for (let i = 0; i + 1 < n; i++) {
      if (swapped[i]) {
        const top = x[i]!;
        x[i] = x[i + 1]!;
        x[i + 1] = top - multipliers[i]! * x[i]!;
      } else {
        x[i + 1] = x[i + 1]! - multipliers[i]! * x[i]!;
      }
    }
    // Back substitution with U.
    const y = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let sum = x[i]!;
      if (i + 1 < n) sum -= u1[i]! * y[i + 1]!;
      if (i + 2 < n) sum -= u2[i]! * y[i + 2]!;
      y[i] = sum / u0[i]!;
    }
    for (const other of previous) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += y[i]! * other[i]!;
      for (let i = 0; i < n; i++) y[i] = y[i]! - dot * other[i]!;
    }
    let length = 0;
    for (let i = 0; i < n; i++) length += y[i]! ** 2;
    length = Math.sqrt(length);
    if (!(length > 0)) throw new Error('transferability: inverse iteration lost its vector');
    for (let i = 0; i < n; i++) y[i] = y[i]! / length;
    x = y;
  }
  return x;
}

/**
 * `log det(I + scale · S)` for a symmetric positive semi-definite `S` (`size × size`, overwritten), by
 * Cholesky: the factor's diagonal is at least 1, so the factorisation cannot break down.
 */
export function logDeterminantOfIdentityPlus(matrix: Float64Array, size: number, scale: number): number {
  const n = size;
  for (let i = 0; i < n * n; i++) matrix[i] = matrix[i]! * scale;
  for (let i = 0; i < n; i++) matrix[i * n + i] = matrix[i * n + i]! + 1;
  let logDeterminant = 0;
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diagonal = matrix[rowJ + j]!;
    for (let k = 0; k < j; k++) diagonal -= matrix[rowJ + k]! ** 2;
    if (!(diagonal > 0)) throw new Error('transferability: a coding-rate matrix is not positive definite');
    const pivot = Math.sqrt(diagonal);
    matrix[rowJ + j] = pivot;
    logDeterminant += 2 * Math.log(pivot);
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = matrix[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= matrix[rowI + k]! * matrix[rowJ + k]!;
      matrix[rowI + j] = sum / pivot;
    }
  }
  return logDeterminant;
}
