/** Test helpers: the fixture files made by make_fixtures.py and the values PyTorch reported for them. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expect } from 'vitest';

import type { CheckpointTensor } from '../tensor.js';

export interface ExpectedTensor {
  readonly dtype: string;
  readonly shape: number[];
  /** Exact sum (math.fsum) of the values as read: floats widened or rounded to float32. */
  readonly sum: number;
  readonly first: number[];
  readonly last: number | null;
}

export interface ExpectedFile {
  readonly tensors: Record<string, ExpectedTensor>;
  readonly [extra: string]: unknown;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export const expected: Record<string, ExpectedFile> = JSON.parse(readFileSync(fixturePath('expected.json'), 'utf8'));

export function expectedFile(name: string): ExpectedFile {
  const file = expected[name];
  if (!file) throw new Error(`expected.json has no entry for ${name}; run make_fixtures.py`);
  return file;
}

/** Checks dtype, shape, the first and last values exactly, and the sum to rounding. */
export function expectTensor(tensor: CheckpointTensor | undefined, want: ExpectedTensor, key: string): void {
  expect(tensor, key).toBeDefined();
  const values = Array.from(tensor!.data as ArrayLike<number | bigint>, Number);
  expect(tensor!.dtype, key).toBe(want.dtype);
  expect(tensor!.shape, key).toEqual(want.shape);
  expect(values.slice(0, 8), key).toEqual(want.first);
  expect(values.length ? values[values.length - 1] : null, key).toBe(want.last);
  const sum = values.reduce((total, value) => total + value, 0);
  const magnitude = values.reduce((total, value) => total + Math.abs(value), 0);
  expect(Math.abs(sum - want.sum), `${key}: sum ${sum} vs ${want.sum}`).toBeLessThanOrEqual(1e-12 * (1 + magnitude));
}

/** Checks a flat tensor map against expected.json: the same keys, and every tensor's values. */
export function expectTensors(tensors: ReadonlyMap<string, CheckpointTensor>, name: string): void {
  const want = expectedFile(name).tensors;
  expect([...tensors.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [key, tensorWant] of Object.entries(want)) expectTensor(tensors.get(key), tensorWant, `${name}: ${key}`);
}
