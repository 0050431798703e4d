// The page's pure steps that need no browser: labels, splits, the ROC curve and the plots.
import { rocAuc } from '@medssl/metrics';
import { describe, expect, it } from 'vitest';
import { rocCurve } from './evaluate.js';
import { assignSplits, classTargets, inferTask, matchImages, pathInChosenFolder, readLabelTable, type ImageFile } from './labels.js';
import { labelFractionSvg, rocCurveSvg } from './plots.js';

function table(rows: number, labelOf: (row: number) => string): string {
  return ['path,label', ...Array.from({ length: rows }, (_, row) => `images/${row}.png,${labelOf(row)}`)].join('\n');
}

describe('labels', () => {
  it('reads path,label,split with PCam split names and extra columns, and names bad lines', () => {
    const labels = readLabelTable('path,split,label,patch_index\r\n./a/1.jpg,train,1,7\nb\\2.jpg,valid,0,8\nc.jpg,test,1,9\n', 'labels.csv');
    expect(labels.rows.map(({ path, label, split }) => [path, label, split])).toEqual([
      ['a/1.jpg', '1', 'train'],
      ['b/2.jpg', '0', 'val'],
      ['c.jpg', '1', 'test'],
    ]);
    expect(() => readLabelTable('path,label,split\na.jpg,1,holdout\n', 'labels.csv')).toThrow('labels.csv: line 2: split "holdout"');
    expect(() => readLabelTable('path,label\na.jpg,1\na.jpg,0\n', 'labels.csv')).toThrow('line 3: a.jpg is listed again (first on line 2)');
    expect(() => readLabelTable('file,label\na.jpg,1\n', 'labels.csv')).toThrow('missing column "path"');
  });

  it('infers the task from the labels', () => {
    expect(inferTask(['1', '0', '1'], 'x')).toEqual({ type: 'binary', classes: ['0', '1'], primaryMetric: 'auc' });
    expect(inferTask(['10', '2', '0'], 'x')).toEqual({ type: 'multiclass', classes: ['0', '2', '10'], ordinal: true, primaryMetric: 'kappa' });
    expect(inferTask(['cat', 'ant', 'bee'], 'x')).toMatchObject({ ordinal: false, primaryMetric: 'accuracy', classes: ['ant', 'bee', 'cat'] });
    expect(() => inferTask(['a', 'a'], 'labels.csv')).toThrow('at least two classes');
  });

  it('draws a seeded, stratified 60/20/20 split when the CSV has none', async () => {
    const labels = readLabelTable(
      table(100, (row) => (row % 4 === 0 ? 'tumour' : 'normal')),
      'labels.csv',
    );
    const task = inferTask(
      labels.rows.map((row) => row.label),
      'labels.csv',
    );
    const targets = classTargets(task, labels.rows);
    const splits = await assignSplits(labels, task, targets, 0);
    expect(splits.origin).toBe('seeded');
    expect([splits.train.length, splits.val.length, splits.test.length]).toEqual([60, 20, 20]);
    const all = [...splits.train, ...splits.val, ...splits.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, row) => row));
    for (const rows of [splits.val, splits.test]) expect(Array.from(rows).filter((row) => row % 4 === 0)).toHaveLength(5);
    expect(await assignSplits(labels, task, targets, 0)).toEqual(splits);
    expect(await assignSplits(labels, task, targets, 1)).not.toEqual(splits);
  });

  it('refuses a split without both classes of a binary task', async () => {
    const labels = readLabelTable('path,label,split\na,0,train\nb,1,train\nc,0,val\nd,1,val\ne,0,test\n', 'labels.csv');
    const task = inferTask(
      labels.rows.map((row) => row.label),
      'labels.csv',
    );
    await expect(assignSplits(labels, task, classTargets(task, labels.rows), 0)).rejects.toThrow(
      'class "1" has no image in the test split (by its split column)',
    );
  });

  it('matches rows to the chosen folder, and names a missing image', () => {
    expect(pathInChosenFolder('pcam/data/test/0/x.jpg')).toBe('data/test/0/x.jpg');
    const labels = readLabelTable('path,label\ndata/a.png,0\ndata/b.png,1\n', 'labels.csv');
    const file = (path: string): ImageFile => ({ path, decode: () => Promise.reject(new Error('not decoded here')) });
    const files = new Map([
      ['data/b.png', file('data/b.png')],
      ['data/a.png', file('data/a.png')],
      ['other.png', file('other.png')],
    ]);
    expect(matchImages(labels, files).map((image) => image.path)).toEqual(['data/a.png', 'data/b.png']);
    files.delete('data/a.png');
    expect(() => matchImages(labels, files)).toThrow('1 of 2 rows name an image that is not in the chosen folder; first on line 2: "data/a.png"');
  });
});

describe('plots', () => {
  it('draws a ROC curve whose area is the AUC of @medssl/metrics, ties included', () => {
    const targets = { type: 'class' as const, data: Int32Array.from([0, 1, 1, 0, 1, 0, 0, 1]), shape: [8] as const };
    const scores = Float32Array.from([0.1, 0.9, 0.4, 0.4, 0.8, 0.3, 0.7, 0.4]);
    const points = rocCurve(targets, scores);
    expect(points[0]).toEqual({ falsePositiveRate: 0, truePositiveRate: 0 });
    expect(points.at(-1)).toEqual({ falsePositiveRate: 1, truePositiveRate: 1 });
    let area = 0;
    for (let index = 1; index < points.length; index++) {
      const [previous, point] = [points[index - 1]!, points[index]!];
      area += ((point.falsePositiveRate - previous.falsePositiveRate) * (point.truePositiveRate + previous.truePositiveRate)) / 2;
    }
    expect(area).toBeCloseTo(rocAuc(targets.data, scores), 12);
    const svg = rocCurveSvg(points, area, 'tumour');
    expect(svg).toContain(`Test ROC curve (AUC ${area.toFixed(3)})`);
    expect(svg).toContain('positive class tumour');
  });

  it('labels each label fraction with its training images and value, and escapes text', () => {
    const svg = labelFractionSvg(
      [
        { fraction: 0.1, trainCount: 3, value: -0.2 },
        { fraction: 1, trainCount: 30, value: 0.81 },
      ],
      'kappa',
    );
    expect(svg).toContain('30 (100%)');
    expect(svg).toContain('>0.81<');
    expect(svg).toContain('>-0.4<'); // the axis reaches below the lowest kappa
    expect(labelFractionSvg([{ fraction: 1, trainCount: 1, value: 0.5 }], '<b>')).toContain('&#60;b&#62;');
  });
});
