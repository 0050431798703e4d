/** Test helpers: the fixtures written by make_fixtures.py and what manifest.json says about them. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { DType, NdArray } from '../ndarray.js';

export const FIXTURE_DIRECTORY = dirname(fileURLToPath(import.meta.url));

export interface ArrayDescription {
  dtype: DType;
  shape: number[];
  dataSha256: string;
  canonicalNpySha256: string;
  dataBase64?: string;
}

export interface NpyFixture extends ArrayDescription {
  fortranOrder: boolean;
  bigEndian: boolean;
  version: [number, number];
}

export interface NpzMemberFixture extends ArrayDescription {
  crc32: number;
  compressed: boolean;
  fileSize: number;
}

export interface Manifest {
  npy: Record<string, NpyFixture>;
  npz: Record<string, { keys: string[]; members: Record<string, NpzMemberFixture> }>;
  invalid: Record<string, Record<string, unknown>>;
}

export const manifest = JSON.parse(readFileSync(join(FIXTURE_DIRECTORY, 'manifest.json'), 'utf8')) as Manifest;

export function fixturePath(fileName: string): string {
  return join(FIXTURE_DIRECTORY, fileName);
}

/** A fixture's bytes, copied into a fresh buffer so that tests can modify them. */
export function readFixture(fileName: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(fileName)));
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The elements' bytes as numpy's `tobytes()` gives them for a little-endian array (tests run on little-endian hosts). */
export function dataBytes(array: NdArray): Uint8Array {
  return new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
}

/**
 * A Python interpreter with numpy, for the tests that check our files against numpy itself, or
 * undefined (CI machines have none). MEDSSL_NUMPY_PYTHON, when set, is the only candidate.
 */
export function findNumpyPython(): string | undefined {
  const override = process.env.MEDSSL_NUMPY_PYTHON;
  const candidates = override !== undefined && override !== '' ? [override] : ['/usr/bin/python3', 'python3'];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import numpy'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}
