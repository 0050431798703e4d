import { rocAuc } from '@medssl/metrics';
import type { FeatureSet, ProtocolInput, Task } from '@medssl/spec';
import { conformanceTasks, describeProtocol, syntheticFeatureSet } from '@medssl/spec/testing';
import { describe, expect, it } from 'vitest';
import { decodeFloat32, featureSet, readCase, type FixtureCase } from './__fixtures__/fixtures.js';
import { DEFAULT_L2_GRID, fitLinearProbe, linearProbe, logspace, sklearnC } from './index.js';

describeProtocol('linearProbe()', () => linearProbe());
describeProtocol("linearProbe({ kernels: 'javascript' })", () => linearProbe({ kernels: 'javascript' }));

function fixtureInput(fixture: FixtureCase): ProtocolInput {
  return { task: fixture.task, train: featureSet(fixture, 'train'), val: featureSet(fixture, 'val'), test: featureSet(fixture, 'test'), seed: 0 };
}

function syntheticInput(task: Task, rows = 120, dimension = 12): ProtocolInput {
  const make = (split: string, seed: number) => syntheticFeatureSet(task, { rows, dimension, seed, split, separation: 1.5 });
  return { task, train: make('train', 1), val: make('val', 2), test: make('test', 3), seed: 0 };
}

describe('the default grid and the mapping to scikit-learn', () => {
  it('is numpy.logspace(-6, 5, 45)', () => {
    const reference = readCase('binary').grid;
    expect(DEFAULT_L2_GRID).toHaveLength(45);
    DEFAULT_L2_GRID.forEach((value, index) => expect(Math.abs(value - reference[index]!) / reference[index]!).toBeLessThan(1e-14));
    expect(logspace(0, 2, 3)).toEqual([1, 10, 100]);
  });

  it('gives C = 1 / (n · λ)', () => {
    expect(sklearnC(0.01, 500)).toBeCloseTo(0.2, 15);
  });
});

// Differences to scikit-learn measured on these fixtures at the default tolerance (1e-6): test AUC,
// kappa and accuracy identical at every λ, with both kernels. Test probabilities: within 1e-3 at
// λ = 1e-4 on the binary case (100 rows for 48 dimensions, nearly separable: the most ill-conditioned
// fit here), within 4e-5 at every other fit.
const PROBABILITY_GAP = 3e-3;
describe.each(['wasm-simd', 'javascript'] as const)('against scikit-learn 1.2.1 (%s kernels)', (kernels) => {
  for (const name of ['binary', 'multiclass', 'multilabel'] as const) {
    const fixture = readCase(name);
    for (const reference of fixture.fits) {
      it(`${name}: the fit at λ = ${reference.l2.toPrecision(3)} (C = ${reference.C.toPrecision(3)}) matches LogisticRegression`, async () => {
        const input = fixtureInput(fixture);
        const report = await fitLinearProbe(input, { l2Grid: [reference.l2], kernels });
        const { result, model } = report;
        expect(result.selected.l2).toBe(reference.l2);
        expect(result.selected.C_sklearn).toBeCloseTo(reference.C, 10);
        for (const [metric, expected] of Object.entries(reference.testMetrics)) {
          expect(Math.abs(result.metrics[metric]! - expected), `test ${metric}`).toBeLessThanOrEqual(0.002);
        }
        if (reference.testPerLabelAuc) {
          const perLabel = result.perLabel!.mean_auc!;
          (fixture.task as unknown as { labels: string[] }).labels.forEach((label, index) => {
            expect(Math.abs(perLabel[label]! - reference.testPerLabelAuc![index]!), `test AUC of ${label}`).toBeLessThanOrEqual(0.002);
          });
        }
        const probabilities = decodeFloat32(reference.testProbabilities);
        const scores = result.scores!.data;
        expect(scores).toHaveLength(probabilities.length);
        let largestProbabilityGap = 0;
        probabilities.forEach((value, index) => (largestProbabilityGap = Math.max(largestProbabilityGap, Math.abs(value - scores[index]!))));
        expect(largestProbabilityGap).toBeLessThan(PROBABILITY_GAP);
        const dimension = fixture.train.shape[1];
        const largestCoefficient = Math.max(...reference.coefficients.flat().map(Math.abs));
        reference.coefficients.forEach((row, output) =>
          row.forEach((expected, feature) => {
            expect(Math.abs(model.weights[output * dimension + feature]! - expected)).toBeLessThan(1e-3 * Math.max(1, largestCoefficient));
          }),
        );
      });
    }
  }

  it('gets 10 times closer with a 10 times smaller tolerance', async () => {
    const fixture = readCase('binary');
    const reference = fixture.fits.find((fit) => fit.gridIndex === 8)!; // λ = 1e-4
    const { result } = await fitLinearProbe(fixtureInput(fixture), { l2Grid: [reference.l2], kernels, tolerance: 1e-7 });
    const probabilities = decodeFloat32(reference.testProbabilities);
    let largestProbabilityGap = 0;
    probabilities.forEach((value, index) => (largestProbabilityGap = Math.max(largestProbabilityGap, Math.abs(value - result.scores!.data[index]!))));
    expect(largestProbabilityGap).toBeLessThan(PROBABILITY_GAP / 10);
  });

  it('chooses the same λ as scikit-learn on the validation AUC (a clear optimum)', async () => {
    const fixture = readCase('binary');
    const selection = fixture.selection!;
    expect(selection.margin).toBeGreaterThan(0.002);
    const report = await fitLinearProbe(fixtureInput(fixture), { kernels });
    expect(report.selectedIndex).toBe(selection.selectedIndex);
    expect(report.result.selected.l2).toBe(DEFAULT_L2_GRID[selection.selectedIndex]);
    expect(report.result.validation.auc).toBeCloseTo(selection.validationScores[selection.selectedIndex]!, 4);
  });
});

describe('results', () => {
  it('reports the selected fit, the validation metrics at it and the test scores', async () => {
    const input = syntheticInput(conformanceTasks.binary);
    const report = await fitLinearProbe(input);
    const { result } = report;
    expect(Object.keys(result.selected)).toEqual(['l2', 'C_sklearn', 'iterations', 'stop']);
    expect(result.selected.C_sklearn).toBeCloseTo(1 / (120 * (result.selected.l2 as number)), 12);
    expect(result.selected.stop).toBe('converged');
    expect(result.scores!.shape).toEqual([120, 2]);
    expect(result.validation.auc).toBe(report.grid[report.selectedIndex]!.validationScore);
    // Nothing beats the selected value on the validation split; equal scores go to the stronger λ.
    for (const fit of report.grid) {
      expect(fit.validationScore).toBeLessThanOrEqual(result.validation.auc!);
      if (fit.validationScore === result.validation.auc) expect(fit.l2).toBeLessThanOrEqual(result.selected.l2 as number);
    }
    // The scores are the model's probabilities. Metrics come from the logits, which order the rows the
    // same way but keep apart probabilities that float32 rounds to the same value near 0 or 1.
    const positive = Float64Array.from({ length: 120 }, (_, row) => result.scores!.data[row * 2 + 1]!);
    expect(Math.abs(rocAuc(input.test.targets.data as Int32Array, positive) - result.metrics.auc!)).toBeLessThan(2e-3);
  });

  it('is deterministic, and the two kernel implementations agree', async () => {
    const input = syntheticInput(conformanceTasks.multiclass);
    const first = await fitLinearProbe(input);
    const second = await fitLinearProbe(input);
    expect(second.result.scores!.data).toEqual(first.result.scores!.data);
    expect(second.result.metrics).toEqual(first.result.metrics);
    expect(second.model.weights).toEqual(first.model.weights);
    const javascript = await fitLinearProbe(input, { kernels: 'javascript' });
    expect(javascript.selectedIndex).toBe(first.selectedIndex);
    javascript.result.scores!.data.forEach((value, index) => expect(Math.abs(value - first.result.scores!.data[index]!)).toBeLessThan(1e-4));
  });

  it('standardises with the training rows used, and handles a constant feature', async () => {
    const input = syntheticInput(conformanceTasks.binary, 80, 6);
    const constant = Float32Array.from(input.train.features.data);
    for (let row = 0; row < 80; row++) constant[row * 6 + 2] = 4;
    const trainRows = Int32Array.from({ length: 40 }, (_, index) => index + 20);
    const report = await fitLinearProbe({ ...input, train: { ...input.train, features: { data: constant, shape: [80, 6] } }, trainRows });
    let mean = 0;
    trainRows.forEach((row) => (mean += constant[row * 6]! / 40));
    expect(report.model.featureMean[0]).toBeCloseTo(mean, 6);
    expect(report.model.featureScale[2]).toBe(1);
    expect(report.model.weights[2]).toBe(0);
  });

  it('fits a multiclass task on the classes present, giving absent classes probability 0', async () => {
    const input = syntheticInput(conformanceTasks.multiclass);
    const trainRows = Int32Array.from({ length: 120 }, (_, row) => row).filter((row) => input.train.targets.data[row] !== 3);
    const { result, model } = await fitLinearProbe({ ...input, trainRows });
    expect(result.selected.absentClasses).toBe('3');
    for (let row = 0; row < 120; row++) expect(result.scores!.data[row * 5 + 3]).toBe(0);
    expect(model.intercepts[3]).toBe(-Infinity);
  });

  it('gives a multilabel label with one class only in the training rows a constant score, and names it', async () => {
    const input = syntheticInput(conformanceTasks.multilabel);
    const flags = Uint8Array.from(input.train.targets.data);
    for (let row = 0; row < 120; row++) flags[row * 3 + 1] = 0;
    const train: FeatureSet = { ...input.train, targets: { type: 'labels', data: flags, shape: [120, 3] } };
    const { result } = await fitLinearProbe({ ...input, train });
    expect(result.selected.constantLabels).toBe('b');
    expect(result.perLabel!.mean_auc!.b).toBe(0.5);
    expect(result.perLabel!.mean_auc!.a).toBeGreaterThan(0.8);
    for (let row = 0; row < 120; row++) expect(result.scores!.data[row * 3 + 1]).toBe(0);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(linearProbe().evaluate({ ...syntheticInput(conformanceTasks.binary), signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});

describe('bad input', () => {
  const binary = () => syntheticInput(conformanceTasks.binary, 40, 5);
  const probe = linearProbe({ l2Grid: [0.1, 1] });

  it('refuses feature sets of different dimensions, naming both shapes', async () => {
    const input = binary();
    const val = syntheticFeatureSet(conformanceTasks.binary, { rows: 40, dimension: 6, seed: 4, split: 'val' });
    await expect(probe.evaluate({ ...input, val })).rejects.toThrow('linear: train features are [40, 5] but val features are [40, 6]');
  });

  it('refuses ids or targets that do not line up with the features', async () => {
    const input = binary();
    await expect(probe.evaluate({ ...input, test: { ...input.test, ids: input.test.ids.slice(1) } })).rejects.toThrow(
      'linear: test has 40 feature rows but 40 target rows and 39 ids',
    );
    const targets = { type: 'class' as const, data: input.val.targets.data.slice(0, 39) as Int32Array, shape: [39] as [number] };
    await expect(probe.evaluate({ ...input, val: { ...input.val, targets } })).rejects.toThrow('linear: val has 40 feature rows but 39 target rows and 40 ids');
  });

  it('refuses NaN and infinite features, naming split, row and column', async () => {
    const input = binary();
    const broken = Float32Array.from(input.val.features.data);
    broken[7 * 5 + 3] = Number.NaN;
    await expect(probe.evaluate({ ...input, val: { ...input.val, features: { data: broken, shape: [40, 5] } } })).rejects.toThrow(
      'linear: val: feature row 7 (val-7), column 3 is NaN',
    );
    const infinite = Float32Array.from(input.train.features.data);
    infinite[2 * 5] = Number.POSITIVE_INFINITY;
    await expect(probe.evaluate({ ...input, train: { ...input.train, features: { data: infinite, shape: [40, 5] } } })).rejects.toThrow(
      'linear: train: feature row 2 (train-2), column 0 is Infinity',
    );
  });

  it('refuses training rows with one class only', async () => {
    const input = binary();
    const negatives = Int32Array.from({ length: 40 }, (_, row) => row).filter((row) => input.train.targets.data[row] === 0);
    await expect(probe.evaluate({ ...input, trainRows: negatives })).rejects.toThrow(
      `linear: the ${negatives.length} training rows hold one class only ('normal'); a binary classifier needs at least two of 'normal', 'tumour'`,
    );
    const multilabel = syntheticInput(conformanceTasks.multilabel, 30, 4);
    const none = { type: 'labels' as const, data: new Uint8Array(90), shape: [30, 3] as [number, number] };
    await expect(probe.evaluate({ ...multilabel, train: { ...multilabel.train, targets: none } })).rejects.toThrow(
      'linear: every label has one class only in the 30 training rows',
    );
  });

  it('refuses targets outside the task', async () => {
    const input = binary();
    const classes = Int32Array.from(input.train.targets.data);
    classes[5] = 2;
    await expect(probe.evaluate({ ...input, train: { ...input.train, targets: { type: 'class', data: classes, shape: [40] } } })).rejects.toThrow(
      'linear: train targets: row 5 has class 2, expected 0..1',
    );
    const multilabel = syntheticInput(conformanceTasks.multilabel, 30, 4);
    const flags = Uint8Array.from(multilabel.test.targets.data);
    flags[4] = 2;
    await expect(probe.evaluate({ ...multilabel, test: { ...multilabel.test, targets: { type: 'labels', data: flags, shape: [30, 3] } } })).rejects.toThrow(
      'linear: test targets: row 1, label b is 2, expected 0 or 1',
    );
  });

  it('refuses training rows outside the train split', async () => {
    await expect(probe.evaluate({ ...binary(), trainRows: Int32Array.of(0, 1, 40) })).rejects.toThrow(
      'linear: trainRows[2] = 40 is not a row of the 40-row train split',
    );
  });

  it('refuses a primary metric it cannot select on', async () => {
    const task: Task = { ...conformanceTasks.binary, primaryMetric: 'brier' };
    await expect(probe.evaluate({ ...syntheticInput(task, 40, 5), task })).rejects.toThrow("linear: the task's primary metric 'brier'");
  });

  it('refuses bad options when the protocol is made', () => {
    expect(() => linearProbe({ l2Grid: [] })).toThrow('linear: l2Grid must hold positive finite L2 strengths');
    expect(() => linearProbe({ l2Grid: [1, 0] })).toThrow('got [1, 0]');
    expect(() => linearProbe({ maximumIterations: 0 })).toThrow('linear: maximumIterations must be a positive integer, got 0');
    expect(() => linearProbe({ tolerance: -1 })).toThrow('linear: tolerance must be positive, got -1');
  });
});
