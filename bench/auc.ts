// rocAuc against scikit-learn's roc_auc_score on the same 1,000,000 scores, in one run.
// Prints medians over repeats after a warm-up and their ratio (never quote one absolute time: the
// machine is shared and noisy).
//
//   pnpm exec tsx --conditions=@medssl/source bench/auc.ts
//
// The reference needs Debian's /usr/bin/python3 with python3-sklearn; without it only our timing prints.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@medssl/core';
import { rocAuc } from '@medssl/metrics';

const ROWS = 1_000_000;
const WARM_UP = 3;
const REPEATS = 15;

const rng = createRng(1);
const targets = new Uint8Array(ROWS);
const scores = new Float64Array(ROWS);
for (let row = 0; row < ROWS; row++) {
  targets[row] = rng.next() < 0.3 ? 1 : 0;
  scores[row] = targets[row]! * 0.5 + rng.next();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (let run = 0; run < WARM_UP; run++) rocAuc(targets, scores);
const ours: number[] = [];
let value = 0;
for (let run = 0; run < REPEATS; run++) {
  const started = performance.now();
  value = rocAuc(targets, scores);
  ours.push(performance.now() - started);
}
console.log(`medssl rocAuc: median ${median(ours).toFixed(1)} ms over ${REPEATS} runs, AUC ${value.toFixed(6)}`);

const python = '/usr/bin/python3';
if (!existsSync(python)) {
  console.log('no /usr/bin/python3: reference not measured');
} else {
  const folder = mkdtempSync(join(tmpdir(), 'medssl-bench-auc-'));
  writeFileSync(join(folder, 'targets.u8'), targets);
  writeFileSync(join(folder, 'scores.f8'), new Uint8Array(scores.buffer));
  const script = `
import numpy as np, timeit, json
from sklearn.metrics import roc_auc_score
t = np.fromfile(${JSON.stringify(join(folder, 'targets.u8'))}, dtype=np.uint8)
s = np.fromfile(${JSON.stringify(join(folder, 'scores.f8'))}, dtype=np.float64)
for _ in range(${WARM_UP}): roc_auc_score(t, s)
times = timeit.repeat(lambda: roc_auc_score(t, s), number=1, repeat=${REPEATS})
print(json.dumps({"median_ms": float(np.median(times) * 1000), "auc": float(roc_auc_score(t, s))}))
`;
  try {
    const reference = JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8' })) as { median_ms: number; auc: number };
    console.log(`scikit-learn roc_auc_score: median ${reference.median_ms.toFixed(1)} ms, AUC ${reference.auc.toFixed(6)}`);
    console.log(`ratio: medssl is ${(reference.median_ms / median(ours)).toFixed(1)}x faster; |ΔAUC| = ${Math.abs(reference.auc - value).toExponential(1)}`);
  } catch (error) {
    console.log(`reference not measured: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
