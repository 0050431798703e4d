import type { BinaryTask, Matrix, Metric, MulticlassTask, MultilabelTask, TargetArray, Task } from '@medssl/spec';
import { describe, expect, it } from 'vitest';
import { taskCases } from './__fixtures__/fixtures.js';
import { UndefinedMetricError } from './errors.js';
import { accuracyMetric, aucMetric, builtInMetrics, computeMetrics, kappaMetric, meanAucMetric, metricsForTask, predictedClasses } from './metric.js';

const TOLERANCE = 1e-9;

const binary: BinaryTask = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };
const grades: MulticlassTask = {
  type: 'multiclass',
  classes: ['none', 'mild', 'moderate', 'severe', 'proliferative'],
  ordinal: true,
  primaryMetric: 'kappa',
};
const nominal: MulticlassTask = { type: 'multiclass', classes: ['a', 'b', 'c'], ordinal: false, primaryMetric: 'accuracy' };
const findings: MultilabelTask = { type: 'multilabel', labels: ['effusion', 'hernia'], primaryMetric: 'mean_auc' };

function matrix(rows: number[][]): Matrix {
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0]?.length ?? 0] };
}

function classTargets(values: number[]): TargetArray {
  return { type: 'class', data: Int32Array.from(values), shape: [values.length] };
}

function targetsOf(fixture: ReturnType<typeof taskCases>[number]): TargetArray {
  return fixture.task.type === 'multilabel'
    ? { type: 'labels', data: Uint8Array.from(fixture.targets), shape: [fixture.targetShape[0]!, fixture.targetShape[1]!] }
    : classTargets(fixture.targets);
}

describe('computeMetrics against scikit-learn on task-level cases', () => {
  it.each(taskCases().map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const scores: Matrix = { data: Float32Array.from(fixture.scores), shape: fixture.scoreShape };
    const targets = targetsOf(fixture);
    const expectedIds = Object.keys(fixture.metrics);
    if (fixture.scoreShape[1] === 1) {
      // One column gives AUC only; class decisions need a column per class.
      expect(Math.abs(aucMetric.compute(targets, scores, fixture.task).value - fixture.metrics.auc!)).toBeLessThanOrEqual(TOLERANCE);
      expect(() => computeMetrics(fixture.task, targets, scores)).toThrow(/without knowing whether it holds probabilities or logits/);
      return;
    }
    const computed = computeMetrics(fixture.task, targets, scores);
    expect(Object.keys(computed.metrics).sort()).toEqual([...expectedIds].sort());
    expect(Object.keys(computed.metrics)[0]).toBe(fixture.task.primaryMetric);
    for (const id of expectedIds) {
      expect(Math.abs(computed.metrics[id]! - fixture.metrics[id]!), id).toBeLessThanOrEqual(TOLERANCE);
    }
    if (fixture.perLabel !== undefined) {
      const detail = computed.perLabel?.mean_auc;
      expect(Object.keys(detail ?? {})).toEqual(Object.keys(fixture.perLabel));
      for (const [label, expected] of Object.entries(fixture.perLabel)) {
        if (expected === null) expect(detail?.[label]).toBeNull();
        else expect(Math.abs(detail![label]! - expected)).toBeLessThanOrEqual(TOLERANCE);
      }
    } else {
      expect(computed.perLabel).toBeUndefined();
    }
  });
});

describe('metricsForTask', () => {
  const ids = (task: Task): string[] => metricsForTask(task).map((metric) => metric.id);

  it('lists the metrics that apply, primary first', () => {
    expect(ids(binary)).toEqual(['auc', 'accuracy', 'balanced_accuracy', 'macro_f1']);
    expect(ids(grades)).toEqual(['kappa', 'linear_kappa', 'accuracy', 'balanced_accuracy', 'macro_f1']);
    expect(ids(nominal)).toEqual(['accuracy', 'balanced_accuracy', 'macro_f1']);
    expect(ids(findings)).toEqual(['mean_auc']);
  });

  it("puts the task's primary metric first, adds it where it applies, and refuses it where it does not", () => {
    expect(ids({ ...grades, primaryMetric: 'accuracy' })[0]).toBe('accuracy');
    expect(ids({ ...binary, primaryMetric: 'kappa' })).toEqual(['kappa', 'auc', 'accuracy', 'balanced_accuracy', 'macro_f1']);
    expect(ids({ ...binary, primaryMetric: 'sensitivity_at_90' })[0]).toBe('auc');
    expect(() => metricsForTask({ ...nominal, primaryMetric: 'kappa' })).toThrow(/'kappa' does not apply to a nominal multiclass task/);
    expect(() => metricsForTask({ ...findings, primaryMetric: 'auc' })).toThrow(/'auc' does not apply to a multilabel task/);
  });

  it('gives objects that satisfy the Metric contract', () => {
    for (const metric of builtInMetrics) {
      const contract: Metric = metric;
      expect(contract.higherIsBetter).toBe(true);
      expect(contract.appliesTo.length).toBeGreaterThan(0);
    }
  });
});

describe('metric objects', () => {
  it('read binary scores from column 1 of [n, 2] or the only column of [n, 1]', () => {
    const targets = classTargets([0, 1, 0, 1]);
    const twoColumns = matrix([
      [0.9, 0.1],
      [0.2, 0.8],
      [0.6, 0.4],
      [0.7, 0.3],
    ]);
    const oneColumn = matrix([[0.1], [0.8], [0.4], [0.3]]);
    expect(aucMetric.compute(targets, twoColumns, binary).value).toBe(0.75);
    expect(aucMetric.compute(targets, oneColumn, binary).value).toBe(0.75);
  });

  it('name expected and actual shapes', () => {
    const targets = classTargets([0, 1, 0]);
    expect(() => aucMetric.compute(targets, matrix([[0.1, 0.2, 0.7]]), binary)).toThrow(/targets have shape \[3\] but scores have shape \[1, 3\]/);
    expect(() =>
      aucMetric.compute(
        targets,
        matrix([
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
        ]),
        binary,
      ),
    ).toThrow(/needs scores of shape \[3, 2\] \(one per class\) or \[3, 1\] \(positive class\), got \[3, 3\]/);
    expect(() =>
      kappaMetric.compute(
        targets,
        matrix([
          [1, 0],
          [0, 1],
          [1, 0],
        ]),
        grades,
      ),
    ).toThrow(/a multiclass task with 5 classes needs scores of shape \[3, 5\], got \[3, 2\]/);
    const labelTargets: TargetArray = { type: 'labels', data: Uint8Array.from([0, 1, 1, 0, 1, 0]), shape: [2, 3] };
    expect(() =>
      meanAucMetric.compute(
        labelTargets,
        matrix([
          [1, 2, 3],
          [1, 2, 3],
        ]),
        findings,
      ),
    ).toThrow(/2 labels needs targets of shape \[2, 2\], got labels targets \[2, 3\]/);
    const badData: Matrix = { data: new Float32Array(5), shape: [3, 2] };
    expect(() => accuracyMetric.compute(targets, badData, binary)).toThrow(/holds 5 values but its shape \[3, 2\] needs 6/);
  });

  it('refuse a task type they do not apply to, and weighted kappa on nominal classes', () => {
    const targets = classTargets([0, 1, 2]);
    const scores = matrix([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(() => meanAucMetric.compute(targets, scores, nominal)).toThrow(/applies to multilabel tasks, not to a multiclass task/);
    expect(() => kappaMetric.compute(targets, scores, nominal)).toThrow(/ordinal: false/);
    expect(accuracyMetric.compute(targets, scores, nominal).value).toBe(1);
  });

  it('report per-class detail keyed by class name', () => {
    // Class 'c' never occurs in the targets: its recall is undefined.
    const targets = classTargets([0, 0, 1]);
    const scores = matrix([
      [0.9, 0.1, 0],
      [0.1, 0.2, 0.7],
      [0, 1, 0],
    ]);
    const balanced = builtInMetrics.find((metric) => metric.id === 'balanced_accuracy')!;
    expect(balanced.compute(targets, scores, nominal)).toEqual({ value: 0.75, detail: { a: 0.5, b: 1, c: null } });
  });

  it('fail loudly where a metric is undefined on the data', () => {
    expect(() =>
      computeMetrics(
        binary,
        classTargets([1, 1]),
        matrix([
          [0.2, 0.8],
          [0.6, 0.4],
        ]),
      ),
    ).toThrow(UndefinedMetricError);
  });
});

describe('predictedClasses', () => {
  it('takes the first of tied maxima, as numpy argmax', () => {
    expect(
      Array.from(
        predictedClasses(
          matrix([
            [0.2, 0.4, 0.4],
            [0.5, 0.5, 0],
            [-Infinity, -Infinity, -Infinity],
          ]),
        ),
      ),
    ).toEqual([1, 0, 0]);
  });

  it('names a NaN score', () => {
    expect(() =>
      predictedClasses(
        matrix([
          [0.1, 0.2],
          [0.3, NaN],
        ]),
      ),
    ).toThrow(/row 1, column 1 is NaN/);
  });
});
