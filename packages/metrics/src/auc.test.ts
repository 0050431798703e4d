import { describe, expect, it } from 'vitest';
import { aucCases, multilabelCases } from './__fixtures__/fixtures.js';
import { perLabelAuc, rocAuc } from './auc.js';
import { UndefinedMetricError } from './errors.js';

const TOLERANCE = 1e-9;

describe('rocAuc against scikit-learn roc_auc_score', () => {
  const cases = aucCases();

  it('has the fixture cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    if (fixture.expected === null) {
      expect(() => rocAuc(fixture.targets, fixture.scores)).toThrow(UndefinedMetricError);
      return;
    }
    // Plain arrays, and the typed arrays the package meets in practice, give the same value.
    expect(Math.abs(rocAuc(fixture.targets, fixture.scores) - fixture.expected)).toBeLessThanOrEqual(TOLERANCE);
    const typedValue = rocAuc(Uint8Array.from(fixture.targets), Float64Array.from(fixture.scores));
    expect(Math.abs(typedValue - fixture.expected)).toBeLessThanOrEqual(TOLERANCE);
    const float32Value = rocAuc(Uint8Array.from(fixture.targets), Float32Array.from(fixture.scores));
    expect(Math.abs(float32Value - fixture.expectedFloat32!)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('includes cases large enough for the radix sort', () => {
    expect(
      cases.some(
        (fixture) => fixture.targets.filter((target) => target === 0).length >= 2048 && fixture.targets.filter((target) => target === 1).length >= 2048,
      ),
    ).toBe(true);
  });
});

describe('rocAuc', () => {
  it('does not depend on row order, and reversing the scores gives 1 - AUC', () => {
    const targets = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
    const scores = [0.1, 0.4, 0.4, 0.35, 0.8, 0.4, 0.2, 0.9, 0.1, 0.7];
    const value = rocAuc(targets, scores);
    const order = [9, 3, 0, 7, 1, 8, 5, 2, 6, 4];
    expect(
      rocAuc(
        order.map((index) => targets[index]!),
        order.map((index) => scores[index]!),
      ),
    ).toBeCloseTo(value, 15);
    expect(
      rocAuc(
        targets,
        scores.map((score) => -score),
      ),
    ).toBeCloseTo(1 - value, 15);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(rocAuc([0, 1, 0, 1], [1, 1, 1, 1])).toBe(0.5);
    // -0 and +0 are the same score.
    expect(rocAuc([0, 1], [0, -0])).toBe(0.5);
  });

  it('reads float32 scores as they are', () => {
    const scores = Float32Array.from([0.1, 0.3, 0.3, 0.7, 0.2]);
    expect(rocAuc(Uint8Array.from([0, 1, 0, 1, 0]), scores)).toBe(rocAuc([0, 1, 0, 1, 0], Array.from(scores)));
  });

  it('names both lengths when they differ', () => {
    expect(() => rocAuc([0, 1, 1], [0.2, 0.3])).toThrow(/targets has 3 entries but scores has 2/);
  });

  it('names the first NaN or infinite score', () => {
    expect(() => rocAuc([0, 1, 0, 1], [0.1, 0.2, NaN, NaN])).toThrow(/scores\[2\] is NaN/);
    expect(() => rocAuc([0, 1, 0, 1], [0.1, Infinity, 0.3, 0.4])).toThrow(/scores\[1\] is Infinity/);
    expect(() => rocAuc([0, 1], [-Infinity, 0.4])).toThrow(/scores\[0\] is -Infinity/);
  });

  it('refuses targets other than 0 and 1', () => {
    expect(() => rocAuc([0, 2, 1], [0.1, 0.2, 0.3])).toThrow(/targets\[1\] is 2; targets must be 0 or 1/);
    expect(() => rocAuc([0, 0.5], [0.1, 0.2])).toThrow(/targets\[1\] is 0.5/);
  });

  it('says AUC is undefined when the targets hold one class only', () => {
    expect(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(UndefinedMetricError);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(/only one class present in targets \(0 positives, 2 negatives of 2\); ROC AUC is undefined/);
    expect(() => rocAuc([], [])).toThrow(UndefinedMetricError);
  });
});

describe('perLabelAuc against scikit-learn, label by label', () => {
  const cases = multilabelCases();

  it.each(cases.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const targets = Uint8Array.from(fixture.targets);
    const scores = Float32Array.from(fixture.scores);
    const result = perLabelAuc(targets, scores, fixture.labels);
    expect(Object.keys(result.perLabel)).toEqual(fixture.labels);
    fixture.labels.forEach((label, column) => {
      const expected = fixture.perLabel[column];
      const actual = result.perLabel[label];
      if (expected === null || expected === undefined) expect(actual).toBeNull();
      else expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(TOLERANCE);
    });
    expect(Math.abs(result.macroAuc - fixture.macroAuc!)).toBeLessThanOrEqual(TOLERANCE);
    expect(result.excludedLabels).toEqual(fixture.excludedLabels);
  });
});

describe('perLabelAuc', () => {
  const labels = ['effusion', 'hernia'];

  it('leaves a single-class label out of the mean and lists it', () => {
    // effusion: AUC 1; hernia: never present.
    const targets = Uint8Array.from([0, 0, 1, 0, 0, 0, 1, 0]);
    const scores = Float32Array.from([0.1, 0.5, 0.9, 0.5, 0.2, 0.5, 0.8, 0.5]);
    expect(perLabelAuc(targets, scores, labels)).toEqual({
      perLabel: { effusion: 1, hernia: null },
      macroAuc: 1,
      excludedLabels: ['hernia'],
    });
  });

  it('throws when no label has an AUC', () => {
    const targets = Uint8Array.from([0, 1, 0, 1]);
    const scores = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    expect(() => perLabelAuc(targets, scores, labels)).toThrow(UndefinedMetricError);
    expect(() => perLabelAuc(targets, scores, labels)).toThrow(/every label has one class only/);
  });

  it('names what is wrong with the input', () => {
    const scores = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    expect(() => perLabelAuc(Uint8Array.from([0, 1, 1]), scores, labels)).toThrow(/targets has 3 entries but scores has 4; both must be \[rows, 2\]/);
    expect(() => perLabelAuc(Uint8Array.from([0, 1, 1]), Float32Array.from([1, 2, 3]), labels)).toThrow(/3 entries is not a whole number of rows of 2 labels/);
    expect(() => perLabelAuc(Uint8Array.from([0, 1, 2, 0]), scores, labels)).toThrow(/label 'effusion', row 1: target is 2/);
    expect(() => perLabelAuc(Uint8Array.from([0, 1, 1, 0]), Float32Array.from([0.1, NaN, 0.3, 0.4]), labels)).toThrow(/label 'hernia', row 0: score is NaN/);
    expect(() => perLabelAuc(Uint8Array.from([0, 1]), Float32Array.from([0.1, 0.2]), ['a', 'a'])).toThrow(/label 'a' appears more than once/);
  });
});
