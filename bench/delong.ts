// DeLong's test of the mean AUC over ChestX-ray14's 14 labels on its official test split's size
// (the paper's 112,120 images in all, used here as one test set), two predictors on the same rows.
// Prints the median over repeats after a warm-up; the machine is shared and noisy.
//
//   pnpm --filter @medssl/bench delong
import { createRng } from '@medssl/core';
import { delongMultilabelTest, delongTest, perLabelAuc } from '@medssl/metrics';

const ROWS = 112_120;
const LABELS = Array.from({ length: 14 }, (_, label) => `label${label}`);
const WARM_UP = 2;
const REPEATS = 7;

const rng = createRng(1);
const targets = new Uint8Array(ROWS * LABELS.length);
const scoresA = new Float32Array(ROWS * LABELS.length);
const scoresB = new Float32Array(ROWS * LABELS.length);
for (let row = 0; row < ROWS; row++) {
  const severity = rng.normal();
  for (let label = 0; label < LABELS.length; label++) {
    const index = row * LABELS.length + label;
    // Prevalences from 0.2 % to 18 %, as ChestX-ray14's labels (hernia to infiltration).
    const threshold = 2.9 - 2.0 * (label / (LABELS.length - 1));
    targets[index] = 0.6 * severity + 0.8 * rng.normal() > threshold ? 1 : 0;
    // Probabilities rounded to 4 decimals: ties, as float32 model outputs have them.
    scoresA[index] = Math.round(10_000 / (1 + Math.exp(-(1.4 * targets[index]! + 0.5 * severity + rng.normal() - 2)))) / 10_000;
    scoresB[index] = Math.round(10_000 / (1 + Math.exp(-(1.2 * targets[index]! + 0.5 * severity + rng.normal() - 2)))) / 10_000;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
function time(name: string, run: () => unknown): void {
  for (let repeat = 0; repeat < WARM_UP; repeat++) run();
  const times: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  console.log(`${name}: median ${median(times).toFixed(1)} ms over ${REPEATS} runs`);
}

const test = delongMultilabelTest(targets, scoresA, scoresB, LABELS);
console.log(
  `${ROWS} rows x ${LABELS.length} labels: mean AUC ${test.meanAucA.toFixed(4)} vs ${test.meanAucB.toFixed(4)}, ` +
    `difference ${test.difference.toFixed(4)} ± ${test.standardError.toFixed(4)}, z ${test.z.toFixed(2)}, p ${test.pValue.toExponential(2)}`,
);
time('delongMultilabelTest (14 labels, both predictors)', () => delongMultilabelTest(targets, scoresA, scoresB, LABELS));
time('perLabelAuc of one predictor (for scale)', () => perLabelAuc(targets, scoresA, LABELS));
const column = (values: Float32Array | Uint8Array) => values.filter((_, index) => index % LABELS.length === LABELS.length - 1);
const [columnA, columnB, columnTargets] = [column(scoresA), column(scoresB), column(targets)];
time('delongTest (one label)', () => delongTest(columnTargets, columnA, columnB));
