import { createRng } from '@medssl/core';
import { describe, expect, it } from 'vitest';
import { delongDocument, delongMultilabelCases } from './__fixtures__/fixtures.js';
import { rocAuc } from './auc.js';
import { delongMultilabelTest, delongTest, delongVariance } from './delong.js';
import { UndefinedMetricError } from './errors.js';

const RELATIVE = 1e-9;

/** |actual − expected| ≤ 1e-9 · |expected|, or ≤ 1e-15 where the expected value is 0. */
function expectClose(actual: number, expected: number, what: string): void {
  const tolerance = expected === 0 ? 1e-15 : RELATIVE * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (relative tolerance ${RELATIVE})`);
  }
}

describe('delongTest and delongVariance against pROC', () => {
  const document = delongDocument();

  it('has the cases the brief asks for', () => {
    const names = document.delong.map((fixture) => fixture.name);
    expect(names).toEqual(expect.arrayContaining(['imbalanced 6 %', 'AUCs near 1', 'heavy ties, one decimal', 'identical predictors', 'A perfect']));
    // Ties: rounded probabilities repeat.
    for (const fixture of document.delong) expect(new Set(fixture.scoresA).size).toBeLessThan(fixture.scoresA.length);
  });

  it.each(document.delong.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const test = delongTest(fixture.targets, fixture.scoresA, fixture.scoresB);
    expectClose(test.aucA, fixture.aucA, 'aucA');
    expectClose(test.aucB, fixture.aucB, 'aucB');
    expectClose(test.covariance[0][0], fixture.varianceA, 'var A');
    expectClose(test.covariance[1][1], fixture.varianceB, 'var B');
    expectClose(test.covariance[0][1], fixture.covariance, 'cov');
    expectClose(test.covariance[1][0], fixture.covariance, 'cov');
    expectClose(test.z, fixture.z, 'z');
    expectClose(test.pValue, fixture.pValue, 'p');
    expectClose(test.interval.lower, fixture.interval95[0], '95 % lower');
    expectClose(test.interval.upper, fixture.interval95[1], '95 % upper');
    expect(test.interval.confidence).toBe(0.95);
    expectClose(test.difference, fixture.aucA - fixture.aucB, 'difference');
    expectClose(test.variance, fixture.varianceA + fixture.varianceB - 2 * fixture.covariance, 'variance of the difference');
    expect(test.standardError).toBe(Math.sqrt(test.variance));
    expect(test.positives + test.negatives).toBe(fixture.targets.length);

    const test90 = delongTest(fixture.targets, fixture.scoresA, fixture.scoresB, { confidence: 0.9 });
    expectClose(test90.interval.lower, fixture.interval90[0], '90 % lower');
    expectClose(test90.interval.upper, fixture.interval90[1], '90 % upper');

    const single = delongVariance(fixture.targets, fixture.scoresA);
    expectClose(single.auc, fixture.aucA, 'auc');
    expectClose(single.variance, fixture.varianceA, 'var');
    expectClose(single.interval.lower, fixture.aucIntervalA95[0], 'ci.auc 95 % lower');
    expectClose(single.interval.upper, fixture.aucIntervalA95[1], 'ci.auc 95 % upper');
    const single90 = delongVariance(fixture.targets, fixture.scoresA, { confidence: 0.9 });
    expectClose(single90.interval.lower, fixture.aucIntervalA90[0], 'ci.auc 90 % lower');
    expectClose(single90.interval.upper, fixture.aucIntervalA90[1], 'ci.auc 90 % upper');
  });

  it('reports the same predictor twice as z = 0, p = 1, as pROC does', () => {
    const fixture = document.delong.find((candidate) => candidate.name === 'identical predictors')!;
    expect(delongTest(fixture.targets, fixture.scoresA, fixture.scoresA)).toMatchObject({ difference: 0, variance: 0, z: 0, pValue: 1 });
  });
});

describe('delongTest', () => {
  const fixture = delongDocument().delong[0]!;

  it('gives exactly rocAuc, and the same for typed arrays and plain arrays', () => {
    const test = delongTest(fixture.targets, fixture.scoresA, fixture.scoresB);
    expect(test.aucA).toBe(rocAuc(fixture.targets, fixture.scoresA));
    expect(test.aucB).toBe(rocAuc(fixture.targets, fixture.scoresB));
    expect(delongTest(Uint8Array.from(fixture.targets), Float64Array.from(fixture.scoresA), Float64Array.from(fixture.scoresB))).toEqual(test);
  });

  it('reads Float32Array scores as the float32 values they hold', () => {
    const scoresA = Float32Array.from(fixture.scoresA);
    const scoresB = Float32Array.from(fixture.scoresB);
    const fromFloat32 = delongTest(fixture.targets, scoresA, scoresB);
    const fromWidened = delongTest(fixture.targets, Float64Array.from(scoresA), Float64Array.from(scoresB));
    expect(fromFloat32).toEqual(fromWidened);
  });

  it('is antisymmetric in A and B, and unchanged by reordering rows', () => {
    const forward = delongTest(fixture.targets, fixture.scoresA, fixture.scoresB);
    const backward = delongTest(fixture.targets, fixture.scoresB, fixture.scoresA);
    expect(backward.difference).toBe(-forward.difference);
    expectClose(backward.variance, forward.variance, 'variance');
    expectClose(backward.z, -forward.z, 'z');
    expectClose(backward.pValue, forward.pValue, 'p');

    const order = createRng(3).shuffle(Array.from(fixture.targets, (_, row) => row));
    const shuffled = delongTest(
      order.map((row) => fixture.targets[row]!),
      order.map((row) => fixture.scoresA[row]!),
      order.map((row) => fixture.scoresB[row]!),
    );
    expect(shuffled.aucA).toBe(forward.aucA);
    expectClose(shuffled.variance, forward.variance, 'variance');
  });

  it('matches a direct O(n²) computation where each class takes the radix-sort path', () => {
    // 2,500 of each class: the sorted arrays go through the radix sort (2,048 values or more).
    const random = createRng(17);
    const rowCount = 5000;
    const targets = new Uint8Array(rowCount);
    const scoresA = new Float32Array(rowCount);
    const scoresB = new Float32Array(rowCount);
    for (let row = 0; row < rowCount; row++) {
      targets[row] = row % 2;
      const shared = random.normal();
      scoresA[row] = Math.round((targets[row]! * 0.8 + shared + random.normal()) * 50) / 50;
      scoresB[row] = Math.round((targets[row]! * 0.6 + shared + random.normal()) * 50) / 50;
    }
    const direct = directDelong(scoresA, scoresB, targets);
    const test = delongTest(targets, scoresA, scoresB);
    expectClose(test.aucA, direct.aucA, 'aucA');
    expectClose(test.covariance[0][0], direct.varianceA, 'var A');
    expectClose(test.covariance[0][1], direct.covariance, 'cov');
    expectClose(test.variance, direct.varianceA + direct.varianceB - 2 * direct.covariance, 'variance of the difference');
    // The float64 radix path gives the same.
    expect(delongTest(targets, Float64Array.from(scoresA), Float64Array.from(scoresB))).toEqual(test);
  });

  it('refuses malformed input, naming the array and row', () => {
    expect(() => delongTest([0, 1, 0], [0.1, 0.2, 0.3], [0.1, 0.2])).toThrow(/delongTest: scoresB has 2 entries but targets has 3/);
    expect(() => delongTest([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])).toThrow(/targets\[2\] is 2; expected 0 or 1/);
    expect(() => delongTest([0, 1, 0, 1], [0.1, Number.NaN, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])).toThrow(/scoresA\[1\] is NaN; expected a finite number/);
    expect(() => delongTest([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], { confidence: 95 })).toThrow(
      /confidence must lie strictly between 0 and 1, got 95/,
    );
  });

  it('throws UndefinedMetricError where a class has fewer than two rows', () => {
    expect(() => delongTest([0, 0, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])).toThrow(UndefinedMetricError);
    expect(() => delongTest([0, 1, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])).toThrow(
      /1 positive and 2 negatives: the AUC is defined but its DeLong variance is not/,
    );
    expect(() => delongVariance([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(/one class only: 3 positives of 3 rows/);
  });
});

describe('delongMultilabelTest against a direct O(n²) computation (numpy)', () => {
  const cases = delongMultilabelCases();

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const expected = fixture.expected;
    const test = delongMultilabelTest(Uint8Array.from(fixture.targets), fixture.scoresA, fixture.scoresB, fixture.labels, {
      confidence: fixture.confidence,
    });
    expect(test.includedLabels).toEqual(expected.includedLabels);
    expect(test.excludedLabels.map((excluded) => excluded.label)).toEqual(expected.excludedLabels);
    expectClose(test.meanAucA, expected.meanAucA, 'mean AUC A');
    expectClose(test.meanAucB, expected.meanAucB, 'mean AUC B');
    expectClose(test.difference, expected.difference, 'difference');
    expectClose(test.variance, expected.variance, 'variance');
    expectClose(test.z, expected.z, 'z');
    expectClose(test.pValue, expected.pValue, 'p');
    expectClose(test.interval.lower, expected.interval[0], 'lower');
    expectClose(test.interval.upper, expected.interval[1], 'upper');
    expect(test.differenceCovariance).toHaveLength(expected.differenceCovariance.length);
    test.differenceCovariance.forEach((value, index) => {
      expectClose(value, expected.differenceCovariance[index]!, `covariance[${index}]`);
    });
    for (const label of fixture.labels) {
      const expectedLabel = expected.perLabel[label];
      const actualLabel = test.perLabel[label];
      if (expectedLabel === null) {
        expect(actualLabel).toBeNull();
        continue;
      }
      expectClose(actualLabel!.aucA, expectedLabel!.aucA, `${label} aucA`);
      expectClose(actualLabel!.aucB, expectedLabel!.aucB, `${label} aucB`);
      expectClose(actualLabel!.variance, expectedLabel!.variance, `${label} variance`);
      expectClose(actualLabel!.z, expectedLabel!.z, `${label} z`);
      expectClose(actualLabel!.pValue, expectedLabel!.pValue, `${label} p`);
    }
  });

  it('holds labels that really covary: some off-diagonal correlation is not small', () => {
    const fixture = cases.find((candidate) => candidate.name === 'five correlated labels')!;
    const covariance = fixture.expected.differenceCovariance;
    const size = fixture.expected.includedLabels.length;
    let largest = 0;
    for (let k = 0; k < size; k++) {
      for (let l = 0; l < k; l++) {
        const correlation = covariance[k * size + l]! / Math.sqrt(covariance[k * size + k]! * covariance[l * size + l]!);
        largest = Math.max(largest, Math.abs(correlation));
      }
    }
    expect(largest).toBeGreaterThan(0.1);
  });
});

describe('delongMultilabelTest', () => {
  const fixture = delongMultilabelCases().find((candidate) => candidate.name === 'single-class and one-positive labels')!;

  it("gives each label's delongTest on its column", () => {
    const test = delongMultilabelTest(fixture.targets, fixture.scoresA, fixture.scoresB, fixture.labels);
    const labelCount = fixture.labels.length;
    fixture.labels.forEach((label, column) => {
      const columnOf = (values: number[]) => values.filter((_, index) => index % labelCount === column);
      const entry = test.perLabel[label];
      if (entry === null) return;
      expect(entry).toEqual(delongTest(columnOf(fixture.targets), columnOf(fixture.scoresA), columnOf(fixture.scoresB)));
    });
  });

  it('with one label, is delongTest', () => {
    const single = delongMultilabelCases().find((candidate) => candidate.name === 'one label')!;
    const test = delongMultilabelTest(single.targets, single.scoresA, single.scoresB, single.labels);
    const direct = delongTest(single.targets, single.scoresA, single.scoresB);
    expect(test.meanAucA).toBe(direct.aucA);
    expectClose(test.variance, direct.variance, 'variance');
    expectClose(test.pValue, direct.pValue, 'p');
  });

  it('says which labels it left out of the mean, and why', () => {
    const test = delongMultilabelTest(fixture.targets, fixture.scoresA, fixture.scoresB, fixture.labels);
    expect(test.excludedLabels).toEqual([
      { label: 'b', reason: 'one class only: 0 positives of 200 rows, so the AUC is undefined', positives: 0, negatives: 200 },
      { label: 'd', reason: '1 positive and 199 negatives: the AUC is defined but its DeLong variance is not', positives: 1, negatives: 199 },
    ]);
    expect(test.perLabel.b).toBeNull();
    expect(test.perLabel.d).toBeNull();
    expect(test.meanAucA).toBe((test.perLabel.a!.aucA + test.perLabel.c!.aucA) / 2);
  });

  it('throws UndefinedMetricError when no label is left, and RangeError for bad shapes and values', () => {
    const targets = [0, 1, 0, 0, 0, 0];
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], ['x', 'y'])).toThrow(UndefinedMetricError);
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], ['x', 'y'])).toThrow(
      /no label has at least two positives and two negatives among 3 rows \('x': one class only.*'y': 1 positive and 2 negatives/,
    );
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5], ['x', 'y'])).toThrow(
      /scoresB has 5 entries but targets has 6; both must be \[rows, 2\] row-major/,
    );
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], ['x', 'y', 'z', 'w'])).toThrow(
      /targets has 6 entries, not a whole number of rows of 4 labels/,
    );
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], ['x', 'x'])).toThrow(/label 'x' appears more than once/);
    expect(() => delongMultilabelTest(targets, [1, 2, 3, 4, 5, Number.POSITIVE_INFINITY], [1, 2, 3, 4, 5, 6], ['x', 'y'])).toThrow(
      /label 'y', row 2: scoresA is Infinity; expected a finite number/,
    );
    expect(() => delongMultilabelTest([0, 1, 0, 3, 0, 0], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], ['x', 'y'])).toThrow(
      /label 'y', row 1: target is 3; expected 0 or 1/,
    );
  });

  it("estimates the mean difference's sampling variance: labels' covariances included, it is calibrated; left out, it is not", () => {
    // 1,500 simulated test sets of 200 rows: four labels driven by one severity, and each predictor's
    // error shared by the labels of a row, so the per-label differences are strongly correlated.
    const random = createRng(1);
    const rowCount = 200;
    const labels = ['a', 'b', 'c', 'd'];
    const thresholds = [0.5, 0.8, 0.3, 1.0];
    const simulations = 1500;
    const differences = new Float64Array(simulations);
    let estimatedSum = 0;
    let diagonalOnlySum = 0;
    for (let simulation = 0; simulation < simulations; simulation++) {
      const targets = new Uint8Array(rowCount * 4);
      const scoresA = new Float64Array(rowCount * 4);
      const scoresB = new Float64Array(rowCount * 4);
      for (let row = 0; row < rowCount; row++) {
        const severity = random.normal();
        const errorA = random.normal();
        const errorB = random.normal();
        thresholds.forEach((threshold, label) => {
          const target = 0.9 * severity + 0.45 * random.normal() > threshold ? 1 : 0;
          targets[row * 4 + label] = target;
          scoresA[row * 4 + label] = Math.round(100 / (1 + Math.exp(-(1.2 * target + errorA + 0.4 * random.normal())))) / 100;
          scoresB[row * 4 + label] = Math.round(100 / (1 + Math.exp(-(0.9 * target + errorB + 0.4 * random.normal())))) / 100;
        });
      }
      const test = delongMultilabelTest(targets, scoresA, scoresB, labels);
      differences[simulation] = test.difference;
      estimatedSum += test.variance;
      for (let k = 0; k < 4; k++) diagonalOnlySum += test.differenceCovariance[k * 4 + k]! / 16;
    }
    const mean = differences.reduce((sum, value) => sum + value, 0) / simulations;
    const empiricalVariance = differences.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (simulations - 1);
    // The empirical variance of 1,500 draws has a relative standard error of about 3.7 %.
    expect(estimatedSum / simulations / empiricalVariance).toBeGreaterThan(0.88);
    expect(estimatedSum / simulations / empiricalVariance).toBeLessThan(1.12);
    expect(diagonalOnlySum / simulations / empiricalVariance).toBeLessThan(0.6);
  });
});

/** DeLong from the full kernel matrix: every positive against every negative. */
function directDelong(scoresA: ArrayLike<number>, scoresB: ArrayLike<number>, targets: ArrayLike<number>) {
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let row = 0; row < targets.length; row++) (targets[row] === 1 ? positives : negatives).push(row);
  const kernel = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const componentsOf = (scores: ArrayLike<number>) => {
    const positiveComponents = new Float64Array(positives.length);
    const negativeComponents = new Float64Array(negatives.length);
    positives.forEach((positive, i) => {
      negatives.forEach((negative, j) => {
        const value = kernel(scores[positive]!, scores[negative]!);
        positiveComponents[i]! += value / negatives.length;
        negativeComponents[j]! += value / positives.length;
      });
    });
    const auc = positiveComponents.reduce((sum, value) => sum + value, 0) / positives.length;
    return { positiveComponents, negativeComponents, auc };
  };
  const a = componentsOf(scoresA);
  const b = componentsOf(scoresB);
  const covarianceOf = (first: typeof a, second: typeof a) => {
    let positiveSum = 0;
    first.positiveComponents.forEach((value, i) => {
      positiveSum += (value - first.auc) * (second.positiveComponents[i]! - second.auc);
    });
    let negativeSum = 0;
    first.negativeComponents.forEach((value, j) => {
      negativeSum += (value - first.auc) * (second.negativeComponents[j]! - second.auc);
    });
    const m = positives.length;
    const n = negatives.length;
    return positiveSum / (m - 1) / m + negativeSum / (n - 1) / n;
  };
  return { aucA: a.auc, varianceA: covarianceOf(a, a), varianceB: covarianceOf(b, b), covariance: covarianceOf(a, b) };
}
