import { describe, expect, it } from 'vitest';
import { IssueLog, describeNames, sampleRange } from './dataset-tools.js';

describe('dataset tools', () => {
  it('clamps end like Array.slice and names bad bounds', () => {
    expect(sampleRange('x/train', 10)).toEqual({ start: 0, end: 10 });
    expect(sampleRange('x/train', 10, { start: 3, end: 50 })).toEqual({ start: 3, end: 10 });
    expect(sampleRange('x/train', 10, { start: 12 })).toEqual({ start: 10, end: 10 });
    expect(() => sampleRange('x/train', 10, { start: -1 })).toThrow('x/train: start must be a non-negative integer, got -1');
    expect(() => sampleRange('x/train', 10, { end: 2.5 })).toThrow('x/train: end must be a non-negative integer, got 2.5');
  });

  it('throws problems or records them, as the dataset was told', () => {
    expect(() => new IssueLog('throw').problem({ kind: 'skipped', message: 'row 4: label 7' })).toThrow('row 4: label 7');
    const log = new IssueLog('skip');
    log.problem({ kind: 'skipped', message: 'row 4: label 7', row: 4 });
    log.report({ kind: 'note', message: 'split by patient' });
    expect(log.issues.map((issue) => issue.kind)).toEqual(['skipped', 'note']);
  });

  it('quotes a few names and counts the rest', () => {
    expect(describeNames(['a.png'], 'image')).toBe('1 image (a.png)');
    expect(describeNames(['a', 'b', 'c', 'd', 'e', 'f'], 'row')).toBe('6 rows (first 5: a, b, c, d, e)');
  });
});
