// The transferability estimators (@medssl/transferability) against the numpy / scikit-learn reference
// written from the papers (packages/transferability/src/__fixtures__/make_fixtures.py, kNN vectorised), on
// the same features in one run: 10,000 × 2048 float32 features shaped like pooled CNN embeddings, a binary task.
//
//   cd bench && pnpm transferability [--rows 10000] [--dimension 2048] [--repeats 3] [--no-python] [--routes svd,gram]
//
// The reference runs two routes: `svd` (the fixture script as written: an SVD of the n × d features) and
// `gram` (the d × d Gram matrix and numpy's eigh, as LogME's official code does when n > d). On this machine
// numpy's eigh of 2048 × 2048 took minutes: leave `gram` out with --routes svd for a quicker run.
//
// Each estimator is timed alone (median of the repeats after one warm-up at a tenth of the size), then all
// six together, which share one decomposition. The reference needs Debian's /usr/bin/python3 with numpy,
// scipy and python3-sklearn; numpy's BLAS uses every core, the package one JavaScript thread. The machine
// is shared and noisy: compare the numbers of one run, never absolute times.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpyFile } from '@medssl/arrays/node';
import { createRng } from '@medssl/core';
import type { Task } from '@medssl/spec';
import { ESTIMATOR_IDS, type EstimatorId, estimateTransferability } from '@medssl/transferability';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const ROWS = Number(argument('rows', '10000'));
const DIMENSION = Number(argument('dimension', '2048'));
const REPEATS = Number(argument('repeats', '3'));
const RUN_PYTHON = !process.argv.includes('--no-python');
const ROUTES = argument('routes', 'svd,gram').split(',') as ('svd' | 'gram')[];
const LATENT = 64;
const TASK: Task = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

/** Latent factors with variances falling as 1/j mixed into every dimension, noise, a class shift, softplus. */
function features(rows: number, dimension: number, seed: number): { data: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const mixing = Float32Array.from({ length: LATENT * dimension }, () => rng.normal() / Math.sqrt(LATENT));
  const shift = Float32Array.from({ length: LATENT }, () => rng.normal() * 0.4);
  const labels = Int32Array.from({ length: rows }, () => (rng.next() < 0.3 ? 1 : 0));
  const data = new Float32Array(rows * dimension);
  const latent = new Float64Array(LATENT);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < LATENT; j++) latent[j] = (rng.normal() * 2.5) / Math.sqrt(j + 1) + labels[r]! * shift[j]!;
    for (let c = 0; c < dimension; c++) {
      let value = 0.3 * rng.normal();
      for (let j = 0; j < LATENT; j++) value += latent[j]! * mixing[j * dimension + c]!;
      data[r * dimension + c] = Math.log1p(Math.exp(value));
    }
  }
  return { data, labels };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function time(data: Float32Array, labels: Int32Array, rows: number, estimators: readonly EstimatorId[]) {
  const started = performance.now();
  const scores = await estimateTransferability(
    { features: { data, shape: [rows, DIMENSION] }, targets: { type: 'class', data: labels, shape: [rows] }, task: TASK },
    { estimators },
  );
  return { seconds: (performance.now() - started) / 1000, scores };
}

const { data, labels } = features(ROWS, DIMENSION, 7);
console.log(`transferability: ${ROWS} × ${DIMENSION} float32 features, binary (30 % positive), ${REPEATS} repeats, median seconds`);
const warm = Math.max(50, Math.round(ROWS / 10));
await time(data.subarray(0, warm * DIMENSION), labels.subarray(0, warm), warm, ESTIMATOR_IDS);

type PythonTimes = Record<string, { seconds: number[]; score: number }>;
const python: { svd?: PythonTimes; gram?: PythonTimes } = {};
if (RUN_PYTHON) {
  const folder = mkdtempSync(join(tmpdir(), 'medssl-bench-transferability-'));
  try {
    await writeNpyFile(join(folder, 'features.npy'), { dtype: 'float32', data, shape: [ROWS, DIMENSION] });
    await writeNpyFile(join(folder, 'targets.npy'), { dtype: 'int32', data: labels, shape: [ROWS] });
    const script = new URL('./transferability_reference.py', import.meta.url).pathname;
    for (const route of ROUTES) {
      const output = execFileSync('/usr/bin/python3', [script, join(folder, 'features.npy'), join(folder, 'targets.npy'), String(REPEATS), route], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      python[route] = JSON.parse(output.trim().split('\n').at(-1)!);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const rows: string[][] = [['estimator', 'medssl s', 'numpy svd s', 'numpy gram s', 'medssl / svd', 'medssl / gram', 'score (medssl)', 'score (numpy)']];
const ratio = (ours: number, theirs: number | undefined) => (theirs ? (ours / theirs).toFixed(1) : '-');
const referenceMedian = (route: 'svd' | 'gram', id: string) => (python[route]?.[id] ? median(python[route][id].seconds) : undefined);
let total = 0;
for (const id of ESTIMATOR_IDS) {
  const runs = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) runs.push(await time(data, labels, ROWS, [id]));
  const seconds = median(runs.map((run) => run.seconds));
  total += seconds;
  const svd = referenceMedian('svd', id);
  const gram = referenceMedian('gram', id);
  rows.push([
    id,
    seconds.toFixed(2),
    svd?.toFixed(2) ?? '-',
    gram?.toFixed(2) ?? '-',
    ratio(seconds, svd),
    ratio(seconds, gram),
    runs[0]!.scores[id].toPrecision(8),
    (python.gram?.[id] ?? python.svd?.[id])?.score.toPrecision(8) ?? '-',
  ]);
}
const together = [];
for (let repeat = 0; repeat < REPEATS; repeat++) together.push((await time(data, labels, ROWS, ESTIMATOR_IDS)).seconds);
const sum = (route: 'svd' | 'gram') => (python[route] ? ESTIMATOR_IDS.reduce((accumulated, id) => accumulated + referenceMedian(route, id)!, 0) : undefined);
const svdTotal = sum('svd');
const gramTotal = sum('gram');
rows.push([
  'each alone, summed',
  total.toFixed(2),
  svdTotal?.toFixed(2) ?? '-',
  gramTotal?.toFixed(2) ?? '-',
  ratio(total, svdTotal),
  ratio(total, gramTotal),
  '',
  '',
]);
rows.push(['all six together', median(together).toFixed(2), '', '', ratio(median(together), svdTotal), ratio(median(together), gramTotal), '', '']);
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
