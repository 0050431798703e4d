import { describe, expect, it } from 'vitest';
import { DatasetLayoutError, FeatureSetError } from './errors.js';
import { findJsonSyntaxProblem, jsonPath, parseJson } from './json.js';
import { cutText, describeValue, quoteForMessage } from './messages.js';
import { createRng } from './rng.js';
import { findTaskProblem, validateTask } from './task.js';
import type { Task } from '@medssl/spec';

describe('quoteForMessage and describeValue', () => {
  it('never prints undefined, and cuts long echoes to the limit', () => {
    expect(quoteForMessage(undefined)).toBe('nothing');
    expect(quoteForMessage(null)).toBe('null');
    expect(quoteForMessage('abc')).toBe('"abc"');
    expect(quoteForMessage(12.5)).toBe('12.5');
    expect(quoteForMessage({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(quoteForMessage(`${'x'.repeat(8_000_000)}`)).toBe(`"${'x'.repeat(79)}… (7999922 more characters)`);
    expect(quoteForMessage('abcdef', 4)).toBe('"abc… (4 more characters)');
    expect(cutText('short')).toBe('short');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(quoteForMessage(cyclic)).toBe('[object Object]');
  });

  it('says what kind of value was found', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(false)).toBe('false');
    expect(describeValue(3)).toBe('the number 3');
    expect(describeValue('')).toBe('an empty string');
    expect(describeValue('id')).toBe('the string "id"');
    expect(describeValue([])).toBe('an empty array');
    expect(describeValue(['a'])).toBe('an array of 1 entry ["a"]');
    expect(describeValue({})).toBe('an object {}');
    expect(describeValue(Array.from({ length: 1000 }, () => 'id')).length).toBeLessThan(140);
  });
});

describe('typed format errors', () => {
  it('name the file, the key, what was expected and what was found', () => {
    const error = FeatureSetError.expected('/f/manifest.json', '$.task.type', '"binary"', undefined);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('FeatureSetError');
    expect(error.message).toBe('/f/manifest.json: $.task.type: expected "binary", found nothing');
    expect([error.file, error.key]).toEqual(['/f/manifest.json', '$.task.type']);
    const layout = DatasetLayoutError.expected('/d/train.csv', 'line 3, column diagnosis', 'a grade 0..4', '7');
    expect(layout.message).toBe('/d/train.csv: line 3, column diagnosis: expected a grade 0..4, found the string "7"');
    expect(new DatasetLayoutError('/d', '', 'no train folder').message).toBe('/d: no train folder');
  });

  it('write JSON paths', () => {
    expect(jsonPath()).toBe('$');
    expect(jsonPath('task', 'classes', 2)).toBe('$.task.classes[2]');
    expect(jsonPath('odd key')).toBe('$["odd key"]');
  });
});

describe('parseJson', () => {
  const fail = (where: string, message: string) => new FeatureSetError('f.json', where, message);

  it('returns the value of valid text', () => {
    expect(parseJson('{"a": [1, true, null, "\\u00e9"]}', fail)).toEqual({ a: [1, true, null, 'é'] });
  });

  it.each([
    ['', 'line 1, column 1', 'expected a JSON value, found the end of the text (is the file cut short?)'],
    ['{"a":', 'line 1, column 6', 'expected a JSON value, found the end of the text (is the file cut short?)'],
    ['{"a":}', 'line 1, column 6', 'expected a JSON value, found "}"'],
    ['{"a" 1}', 'line 1, column 6', 'expected ":", found "1"'],
    ['[1 2]', 'line 1, column 4', 'expected "," or "]", found "2"'],
    ['{"a":1,}', 'line 1, column 8', 'expected a quoted key, found "}"'],
    ['\n\n  nul', 'line 3, column 3', 'expected a JSON value, found "n"'],
    ['"a\\x"', 'line 1, column 3', 'expected an escape such as \\n or \\u00e9, found "\\\\"'],
    ['"tab\there"', 'line 1, column 5', 'expected no control character inside a string (escape it), found "\\t"'],
    ['01', 'line 1, column 2', 'expected the end of the text, found "1"'],
    ['\ufeff{}', 'line 1, column 1', 'expected a JSON value, found "\ufeff"'],
  ])('places the error in %j', (text, where, message) => {
    expect(() => parseJson(text, fail)).toThrow(`f.json: ${where}: ${message}`);
  });

  it('does not overflow the stack on deep nesting', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(199_999)}`;
    expect(findJsonSyntaxProblem(deep)?.offset).toBe(deep.length);
  });

  it('agrees with JSON.parse on what is valid, over damaged documents', () => {
    const documents = [
      JSON.stringify({ format: 'medssl.features/v1', task: { type: 'binary', classes: ['a', 'b'] }, count: -1.5e3, ok: true, none: null }, null, 2),
      JSON.stringify(['id-1', 'id "2"', 'ïd\\3', '\u0001', 0, 1e-7]),
    ];
    const pieces = ['{', '}', '[', ']', ',', ':', '"', '\\', '1', '-', '.', 'e', 'n', 't', ' ', '\n', 'u', '0'];
    const rng = createRng(20);
    for (let trial = 0; trial < 4000; trial++) {
      let text = documents[trial % documents.length]!;
      const edits = 1 + rng.int(3);
      for (let edit = 0; edit < edits; edit++) {
        const at = rng.int(text.length + 1);
        const kind = rng.int(3);
        if (kind === 0) text = text.slice(0, at);
        else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + pieces[rng.int(pieces.length)] + text.slice(at);
      }
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(findJsonSyntaxProblem(text) === undefined, text).toBe(valid);
    }
  });
});

describe('task checks', () => {
  it.each([
    [null, [], 'a task object { type, classes or labels, primaryMetric }', 'null'],
    [{ classes: ['a', 'b'] }, ['type'], '"binary", "multiclass" or "multilabel"', 'nothing'],
    [{ type: 'binary', classes: ['a', ''], primaryMetric: 'auc' }, ['classes', 1], 'a non-empty string', 'an empty string'],
    [{ type: 'binary', classes: ['a', 'a'], primaryMetric: 'auc' }, ['classes', 1], 'names that differ', '"a" again (also at 0)'],
    [{ type: 'multiclass', classes: ['a', 'b', 'c'], primaryMetric: 'kappa' }, ['ordinal'], 'true or false for a multiclass task', 'nothing'],
    [{ type: 'multilabel', labels: [], primaryMetric: 'mean_auc' }, ['labels'], 'at least 1 names for a multilabel task', '0'],
  ])('finds what is wrong with %j', (task, steps, expected, found) => {
    expect(findTaskProblem(task)).toEqual({ steps, expected, found });
  });

  it('accepts a valid task and names the field of an invalid one', () => {
    expect(findTaskProblem({ type: 'binary', classes: ['a', 'b'], primaryMetric: 'auc' })).toBeUndefined();
    expect(() => validateTask(null as unknown as Task, 'x: task')).toThrow(
      'x: task: expected a task object { type, classes or labels, primaryMetric }, found null',
    );
    expect(() => validateTask({ type: 'binary', classes: ['a'] } as unknown as Task)).toThrow(
      'task.classes: expected exactly 2 names for a binary task, found 1',
    );
  });
});
