import { createRng, type Rng } from '@medssl/core';
import type { FeatureSet } from '@medssl/spec';
import { createKernels } from './src/kernels/kernels.ts';
import { Workspace } from './src/workspace.ts';
import { fitScaling, writeStandardised } from './src/standardise.ts';
import { estimateSpectrum } from './src/spectrum.ts';
import { solveProblems } from './src/solver.ts';
import { layOutProblems } from './src/problems.ts';
import { DEFAULT_L2_GRID } from './src/grid.ts';
type TaskKind = 'binary' | 'multiclass';
type Task = FeatureSet['manifest']['task'];
const DIMENSION = 2048;
/** Latent factors of the features, with variances falling off as 1/j: a decaying spectrum, not a fixed rank. */
const LATENT_FACTORS = 64;

const TASKS_BY_KIND: Record<TaskKind, Task> = {
  binary: { type: 'binary', classes: ['normal', 'abnormal'], primaryMetric: 'auc' },
  // Diabetic-retinopathy-like grades: ordinal, imbalanced, scored by quadratic weighted kappa.
  multiclass: { type: 'multiclass', classes: ['0', '1', '2', '3', '4'], ordinal: true, primaryMetric: 'kappa' },
};
const CLASS_FREQUENCIES: Record<TaskKind, number[]> = {
  binary: [0.7, 0.3],
  multiclass: [0.49, 0.1, 0.27, 0.05, 0.09],
};

/**
 * Features shaped like globally pooled ResNet activations: a few dozen latent factors with decaying
 * variances mixed into all 2048 dimensions, independent noise, a class signal spread over latent and
 * feature directions, then softplus (non-negative and right-skewed, as post-ReLU averages are).
 * 8 % of the labels are redrawn at random, so no split is separable.
 */
class FeatureGenerator {
  private readonly mixing: Float32Array;
  private readonly latentScales: Float64Array;
  private readonly latentShift: Float64Array;
  private readonly featureShift: Float32Array;

  constructor(private readonly kind: TaskKind, seed: number) {
    const rng = createRng(seed);
    this.mixing = Float32Array.from({ length: LATENT_FACTORS * DIMENSION }, () => rng.normal() / Math.sqrt(LATENT_FACTORS) * 1.5);
    this.latentScales = Float64Array.from({ length: LATENT_FACTORS }, (_, index) => 2.5 / Math.sqrt(index + 1));
    // The class moves the latent factors along one direction (grade by grade for the ordinal task) ...
    this.latentShift = Float64Array.from({ length: LATENT_FACTORS }, (_, index) => (rng.normal() * this.latentScales[index]!) / Math.sqrt(LATENT_FACTORS) * 1.1);
    // ... and every feature a little, along a direction of its own.
    this.featureShift = Float32Array.from({ length: DIMENSION }, () => rng.normal() * 0.035);
  }

  split(name: string, rows: number, rng: Rng): FeatureSet {
    const frequencies = CLASS_FREQUENCIES[this.kind];
    const features = new Float32Array(rows * DIMENSION);
    const classes = new Int32Array(rows);
    const latent = new Float64Array(LATENT_FACTORS);
    const row = new Float64Array(DIMENSION);
    for (let index = 0; index < rows; index++) {
      let draw = rng.next();
      let label = 0;
      while (label < frequencies.length - 1 && draw >= frequencies[label]!) draw -= frequencies[label++]!;
      // The signal follows the true grade (0/1 for binary); the recorded label is sometimes wrong.
      const grade = this.kind === 'binary' ? label : label / 2;
      for (let factor = 0; factor < LATENT_FACTORS; factor++) latent[factor] = rng.normal() * this.latentScales[factor]! + grade * this.latentShift[factor]!;
      for (let feature = 0; feature < DIMENSION; feature++) row[feature] = rng.normal() + grade * this.featureShift[feature]!;
      for (let factor = 0; factor < LATENT_FACTORS; factor++) {
        const value = latent[factor]!;
        const start = factor * DIMENSION;
        for (let feature = 0; feature < DIMENSION; feature++) row[feature]! += value * this.mixing[start + feature]!;
      }
      const start = index * DIMENSION;
      for (let feature = 0; feature < DIMENSION; feature++) {
        const value = row[feature]! - 1;
        features[start + feature] = value > 20 ? value : Math.log1p(Math.exp(value));
      }
      classes[index] = rng.next() < 0.08 ? rng.int(frequencies.length) : label;
    }
    const task = TASKS_BY_KIND[this.kind];
    return {
      features: { data: features, shape: [rows, DIMENSION] },
      targets: { type: 'class', data: classes, shape: [rows] },
      ids: Array.from({ length: rows }, (_, position) => `${name}-${position}`),
      manifest: {
        format: 'medssl.features/v1',
        dataset: { id: `bench:${this.kind}`, version: '1' },
        task,
        split: name as 'train',
        backbone: 'synthetic:pooled-cnn',
        weightsSha256: '0'.repeat(64),
        preprocessing: { channels: 3 },
        runtime: { id: 'synthetic', provider: 'cpu', precision: 'float32' },
        count: rows,
        dimension: DIMENSION,
        created: '1970-01-01T00:00:00.000Z',
      },
    };
  }
}


const kind = (process.argv[2] ?? 'multiclass') as TaskKind;
const tolerance = Number(process.argv[3] ?? 1e-6);
const gridCount = Number(process.argv[4] ?? 10);
const generator = new FeatureGenerator(kind, 2108);
const rng = createRng(10_048);
const train = generator.split('train', 10000, rng.fork('train'));
const n = 10000, d = DIMENSION;
const grid = DEFAULT_L2_GRID.slice(0, gridCount);
const layout = layOutProblems(TASKS_BY_KIND[kind], train.targets, grid);
const kernels = await createKernels('wasm-simd');
const columns = layout.problems.reduce((s, p) => s + p.outputs, 0);
const workspace = new Workspace(kernels, { trainRows: n, dimension: d, columns: Math.max(columns, 64), evaluationRows: 4 });
const scaling = fitScaling(train.features, undefined);
writeStandardised(train.features, undefined, scaling, workspace.features, workspace.paddedDimension);
workspace.transposeFeatures();
const spectrum = estimateSpectrum(workspace, 64, scaling.varyingFeatures, 1);
const t = performance.now();
const solutions = await solveProblems(workspace, layout.problems, spectrum, { maximumIterations: 1000, tolerance, historySize: Number(process.argv[5] ?? 10), columnBudget: 256 });
console.log('fits', ((performance.now() - t) / 1000).toFixed(1), 's');
// float64 gradient
const X = new Float64Array(n * d);
for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) X[i * d + f] = (train.features.data[i * d + f]! - scaling.mean[f]!) / scaling.scale[f]!;
layout.problems.forEach((problem, index) => {
  const s = solutions[index]!;
  const K = problem.outputs; const p = s.parameters;
  const g = new Float64Array(K * (d + 1));
  const z = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) { let v = p[K * d + k]!; for (let f = 0; f < d; f++) v += X[i * d + f]! * p[k * d + f]!; z[k] = v; max = Math.max(max, v); }
    const y = problem.targets[i]!;
    if (problem.kind === 'sigmoid') {
      const pr = 1 / (1 + Math.exp(-z[0]!)); const r = pr - y;
      for (let f = 0; f < d; f++) g[f] += r * X[i * d + f]! / n; g[d] += r / n;
    } else {
      let tot = 0; for (let k = 0; k < K; k++) tot += Math.exp(z[k]! - max);
      for (let k = 0; k < K; k++) { const r = Math.exp(z[k]! - max) / tot - (k === y ? 1 : 0); for (let f = 0; f < d; f++) g[k * d + f] += r * X[i * d + f]! / n; g[K * d + k] += r / n; }
    }
  }
  for (let k = 0; k < K; k++) for (let f = 0; f < d; f++) g[k * d + f] += problem.l2 * p[k * d + f]!;
  let gmax = 0; for (const v of g) gmax = Math.max(gmax, Math.abs(v));
  let wmax = 0; for (let i = 0; i < K * d; i++) wmax = Math.max(wmax, Math.abs(p[i]!));
  console.log(`λ ${problem.l2.toExponential(2)} it ${s.iterations} ${s.stop} reported |g| ${s.gradientNorm.toExponential(1)} float64 |g| ${gmax.toExponential(1)} |w|max ${wmax.toFixed(2)}`);
});
