// The linear probe (@medssl/protocol-linear) against scikit-learn fitting the same grid one value after
// another, on the same data, in one run. 10,000 × 2048 float32 training features shaped like pooled CNN
// embeddings, a binary and a 5-class ordinal task, the full 45-value L2 grid.
//
//   cd bench && pnpm exec tsx --conditions=@medssl/source linear-probe.ts [--tasks binary,multiclass]
//     [--repeats 3] [--rows 10000] [--dimension 2048] [--no-sklearn] [--sklearn-max-iter 1000]
//     [--tolerance 1e-6] [--history 10] [--rank 64]
//
// scikit-learn: LogisticRegression(C = 1 / (n·λ), solver lbfgs, default tol 1e-4, max_iter 1000) on
// StandardScaler-transformed features read from .npy files this script writes; λ chosen on the same
// validation metric with the same tie rule. It needs Debian's /usr/bin/python3 with python3-sklearn.
// The machine is shared and noisy: compare the two numbers of one run, never absolute times.
//
// protocol-linear is imported by relative path: the bench package does not depend on it yet.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, type Rng } from '@medssl/core';
import { writeNpyFile } from '@medssl/arrays/node';
import { DEFAULT_L2_GRID, fitLinearProbe, type LinearProbeReport } from '@medssl/protocol-linear';

type TaskKind = 'binary' | 'multiclass';
type Task = LinearProbeInput['task'];
type LinearProbeInput = Parameters<typeof fitLinearProbe>[0];
type FeatureSet = LinearProbeInput['train'];

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const TRAIN_ROWS = Number(argument('rows', '10000'));
const DIMENSION = Number(argument('dimension', '2048'));
const EVALUATION_ROWS = Math.round(TRAIN_ROWS / 4);
const TASKS = argument('tasks', 'binary,multiclass').split(',') as TaskKind[];
const REPEATS = Number(argument('repeats', '3'));
const RUN_SKLEARN = !process.argv.includes('--no-sklearn');
const SKLEARN_MAX_ITER = Number(argument('sklearn-max-iter', '1000'));
/** Options of the linear probe, to try settings: --tolerance, --history, --rank. */
const PROBE_OPTIONS = {
  ...(process.argv.includes('--tolerance') ? { tolerance: Number(argument('tolerance', '')) } : {}),
  ...(process.argv.includes('--history') ? { historySize: Number(argument('history', '')) } : {}),
  ...(process.argv.includes('--rank') ? { preconditionerRank: Number(argument('rank', '')) } : {}),
};
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

  constructor(
    private readonly kind: TaskKind,
    seed: number,
  ) {
    const rng = createRng(seed);
    this.mixing = Float32Array.from({ length: LATENT_FACTORS * DIMENSION }, () => (rng.normal() / Math.sqrt(LATENT_FACTORS)) * 1.5);
    this.latentScales = Float64Array.from({ length: LATENT_FACTORS }, (_, index) => 2.5 / Math.sqrt(index + 1));
    // The class moves the latent factors along one direction (grade by grade for the ordinal task) ...
    this.latentShift = Float64Array.from(
      { length: LATENT_FACTORS },
      (_, index) => ((rng.normal() * this.latentScales[index]!) / Math.sqrt(LATENT_FACTORS)) * 1.1,
    );
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

interface ReferenceResult {
  seconds: number;
  fitSeconds: number[];
  iterations: number[];
  validationScores: number[];
  selectedIndex: number;
  testMetric: number;
}

const SKLEARN_SCRIPT = `
import json, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
folder, kind, max_iter = sys.argv[1], sys.argv[2], int(sys.argv[3])
grid = json.loads(sys.argv[4])
load = lambda name: np.load(f"{folder}/{name}.npy")
train_x, train_y = load("train_features"), load("train_targets")
val_x, val_y = load("val_features"), load("val_targets")
test_x, test_y = load("test_features"), load("test_targets")
def score(y, probabilities):
    if kind == "binary":
        return roc_auc_score(y, probabilities[:, 1])
    return cohen_kappa_score(y, probabilities.argmax(axis=1), weights="quadratic")
started = time.perf_counter()
scaler = StandardScaler().fit(train_x)
train_s, val_s = scaler.transform(train_x), scaler.transform(val_x)
models, fit_seconds, iterations, scores = [], [], [], []
for l2 in grid:
    begin = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weakly regularised fits may stop at max_iter
        model = LogisticRegression(C=1.0 / (len(train_y) * l2), max_iter=max_iter).fit(train_s, train_y)
    fit_seconds.append(time.perf_counter() - begin)
    iterations.append(int(model.n_iter_.max()))
    scores.append(float(score(val_y, model.predict_proba(val_s))))
    models.append(model)
best = None
for index in sorted(range(len(grid)), key=lambda i: -grid[i]):
    if best is None or scores[index] > scores[best]:
        best = index
test_metric = float(score(test_y, models[best].predict_proba(scaler.transform(test_x))))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "fitSeconds": fit_seconds, "iterations": iterations,
                  "validationScores": scores, "selectedIndex": best, "testMetric": test_metric}))
`;

async function runSklearn(kind: TaskKind, sets: Record<'train' | 'val' | 'test', FeatureSet>): Promise<ReferenceResult | string> {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return 'no /usr/bin/python3';
  const folder = mkdtempSync(join(tmpdir(), 'medssl-bench-linear-'));
  try {
    for (const split of ['train', 'val', 'test'] as const) {
      const set = sets[split];
      await writeNpyFile(join(folder, `${split}_features.npy`), { dtype: 'float32', shape: [...set.features.shape], data: set.features.data });
      await writeNpyFile(join(folder, `${split}_targets.npy`), { dtype: 'int32', shape: [set.targets.shape[0]], data: set.targets.data as Int32Array });
    }
    const output = execFileSync(python, ['-c', SKLEARN_SCRIPT, folder, kind, String(SKLEARN_MAX_ITER), JSON.stringify(DEFAULT_L2_GRID)], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(output) as ReferenceResult;
  } catch (error) {
    return (error as Error).message.split('\n')[0]!;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const kind of TASKS) {
  const task = TASKS_BY_KIND[kind];
  const generator = new FeatureGenerator(kind, 2108);
  const rng = createRng(10_048);
  const generationStart = performance.now();
  const sets = {
    train: generator.split('train', TRAIN_ROWS, rng.fork('train')),
    val: generator.split('val', EVALUATION_ROWS, rng.fork('val')),
    test: generator.split('test', EVALUATION_ROWS, rng.fork('test')),
  };
  console.log(
    `\n${kind}: ${TRAIN_ROWS} × ${DIMENSION} train, ${EVALUATION_ROWS} val, ${EVALUATION_ROWS} test rows, ` +
      `${DEFAULT_L2_GRID.length} L2 values (made in ${((performance.now() - generationStart) / 1000).toFixed(1)} s)`,
  );

  const ours: number[] = [];
  let report: LinearProbeReport | undefined;
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const started = performance.now();
    report = await fitLinearProbe({ task, ...sets, seed: 0 }, PROBE_OPTIONS);
    ours.push((performance.now() - started) / 1000);
  }
  const result = report!;
  const metric = task.primaryMetric;
  const selected = result.grid[result.selectedIndex]!;
  const iterations = result.grid.map((fit) => fit.iterations);
  console.log(
    `medssl linear probe (${result.kernels}, preconditioner rank ${result.preconditionerRank}): ` +
      `${REPEATS > 1 ? `median ${median(ours).toFixed(2)} s over ${REPEATS} runs (${ours.map((value) => value.toFixed(2)).join(', ')})` : `${ours[0]!.toFixed(2)} s`}`,
  );
  const phases = Object.entries(result.seconds)
    .map(([phase, value]) => `${phase} ${value.toFixed(2)} s`)
    .join(', ');
  console.log(`  last run: ${phases}`);
  console.log(
    `  selected λ ${selected.l2.toPrecision(4)} (grid index ${result.selectedIndex}, C ${selected.sklearnC.toPrecision(4)}), ` +
      `val ${metric} ${selected.validationScore.toFixed(5)}, test ${metric} ${result.result.metrics[metric]!.toFixed(5)}`,
  );
  console.log(
    `  iterations per λ (weak → strong): ${iterations.join(' ')}; stops: ` +
      Object.entries(
        result.grid.reduce<Record<string, number>>((counts, fit) => {
          counts[fit.stop] = (counts[fit.stop] ?? 0) + 1;
          return counts;
        }, {}),
      )
        .map(([stop, count]) => `${count} ${stop}`)
        .join(', '),
  );
  if (!RUN_SKLEARN) continue;
  const reference = await runSklearn(kind, sets);
  if (typeof reference === 'string') {
    console.log(`scikit-learn not measured: ${reference}`);
    continue;
  }
  console.log(
    `scikit-learn 1.2 lbfgs (max_iter ${SKLEARN_MAX_ITER}), one λ after another: ${reference.seconds.toFixed(2)} s ` +
      `(fits ${reference.fitSeconds.reduce((sum, value) => sum + value, 0).toFixed(2)} s)`,
  );
  console.log(
    `  selected λ ${DEFAULT_L2_GRID[reference.selectedIndex]!.toPrecision(4)} (grid index ${reference.selectedIndex}), ` +
      `val ${metric} ${reference.validationScores[reference.selectedIndex]!.toFixed(5)}, test ${metric} ${reference.testMetric.toFixed(5)}`,
  );
  console.log(`  iterations per λ (weak → strong): ${reference.iterations.join(' ')}`);
  const largestValidationGap = Math.max(...reference.validationScores.map((score, index) => Math.abs(score - result.grid[index]!.validationScore)));
  console.log(
    `ratio: medssl is ${(reference.seconds / median(ours)).toFixed(1)}x faster; same selected λ: ${reference.selectedIndex === result.selectedIndex ? 'yes' : 'NO'}; ` +
      `|Δ test ${metric}| = ${Math.abs(reference.testMetric - result.result.metrics[metric]!).toExponential(2)}; ` +
      `largest |Δ val ${metric}| over the grid = ${largestValidationGap.toExponential(2)}`,
  );
}
