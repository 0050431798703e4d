import { describe, expect, it } from 'vitest';
import { classificationCases } from './__fixtures__/fixtures.js';
import { accuracy, balancedAccuracy, cohenKappa, confusionMatrix, f1PerClass, macroF1, recallPerClass } from './classification.js';
import { UndefinedMetricError } from './errors.js';

const TOLERANCE = 1e-9;

function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(TOLERANCE);
}

describe('class-prediction metrics against scikit-learn', () => {
  const cases = classificationCases();

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const { targets, predictions, classCount } = fixture;
    expect(Array.from(confusionMatrix(targets, predictions, classCount).counts)).toEqual(fixture.confusion);
    expectClose(accuracy(targets, predictions), fixture.accuracy);
    expectClose(balancedAccuracy(targets, predictions, classCount), fixture.balancedAccuracy);
    expectClose(macroF1(targets, predictions, classCount), fixture.macroF1);
    for (const weights of ['none', 'linear', 'quadratic'] as const) {
      const expected = fixture.kappa[weights];
      if (expected === null) {
        expect(() => cohenKappa(targets, predictions, classCount, weights)).toThrow(UndefinedMetricError);
      } else {
        expectClose(cohenKappa(Int32Array.from(targets), Int32Array.from(predictions), classCount, weights), expected);
      }
    }
    // scikit-learn warns exactly when a predicted class is absent from the targets; here such a class
    // shows as a null recall instead.
    const recalls = recallPerClass(targets, predictions, classCount);
    const predictedButNeverTarget = recalls.some((recall, classIndex) => recall === null && predictions.includes(classIndex));
    expect(predictedButNeverTarget).toBe(fixture.balancedAccuracyWarned);
  });

  it('covers the undefined kappa and the absent-class cases', () => {
    expect(cases.some((fixture) => fixture.kappa.quadratic === null)).toBe(true);
    expect(cases.some((fixture) => fixture.balancedAccuracyWarned)).toBe(true);
  });
});

describe('cohenKappa', () => {
  it('is 1 for perfect agreement and weighs distance by the chosen weights', () => {
    expect(cohenKappa([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], 5, 'quadratic')).toBe(1);
    // Swapping two grades keeps the marginals, so only the weights tell the two apart.
    const targets = [0, 1, 2, 3, 4];
    const offByOne = [1, 0, 2, 3, 4];
    const offByFour = [4, 1, 2, 3, 0];
    expect(cohenKappa(targets, offByOne, 5, 'none')).toBeCloseTo(cohenKappa(targets, offByFour, 5, 'none'), 12);
    expect(cohenKappa(targets, offByOne, 5, 'quadratic')).toBeGreaterThan(cohenKappa(targets, offByFour, 5, 'quadratic'));
  });

  it('is undefined when everything is one class', () => {
    expect(() => cohenKappa([2, 2, 2], [2, 2, 2], 5, 'quadratic')).toThrow(/all 3 targets and predictions are the same single class/);
  });

  it('names a wrong class index, a length mismatch, and unknown weights', () => {
    expect(() => cohenKappa([0, 5, 1], [0, 1, 1], 5, 'quadratic')).toThrow(/cohenKappa: targets\[1\] is 5; expected a class index in \[0, 4\]/);
    expect(() => cohenKappa([0, 1], [0, -1], 5, 'linear')).toThrow(/predictions\[1\] is -1/);
    expect(() => cohenKappa([0, 1], [0, 1.5], 5, 'linear')).toThrow(/predictions\[1\] is 1.5/);
    expect(() => cohenKappa([0, 1, 1], [0, 1], 5, 'none')).toThrow(/targets has 3 entries but predictions has 2/);
    expect(() => cohenKappa([0, 1], [0, 1], 5, 'cubic' as 'linear')).toThrow(/weights must be/);
    expect(() => cohenKappa([0, 1], [0, 1], 0, 'none')).toThrow(/classCount must be a positive integer, got 0/);
  });
});

describe('accuracy, balancedAccuracy, macroF1', () => {
  it('refuses empty input', () => {
    expect(() => accuracy([], [])).toThrow(/accuracy: targets and predictions are empty/);
    expect(() => balancedAccuracy([], [], 2)).toThrow(/empty/);
  });

  it('leaves classes absent from the targets out of balanced accuracy', () => {
    // Class 2 never occurs in the targets but is predicted once.
    expect(recallPerClass([0, 0, 1, 1], [0, 2, 1, 1], 3)).toEqual([0.5, 1, null]);
    expect(balancedAccuracy([0, 0, 1, 1], [0, 2, 1, 1], 3)).toBe(0.75);
  });

  it('counts a class that is neither target nor prediction as F1 = 0 in the macro mean', () => {
    expect(f1PerClass([0, 1], [0, 1], 3)).toEqual([1, 1, 0]);
    expect(macroF1([0, 1], [0, 1], 3)).toBeCloseTo(2 / 3, 15);
  });
});
