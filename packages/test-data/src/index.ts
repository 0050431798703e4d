// Real medical images for tests live outside the repository, in ../shared/data beside it (see its
// README), and are never copied in. Tests find them here, and skip with a message when they are absent;
// every skipped test carries SHARED_DATA_TAG in its name, so the run's summary counts them.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

/** The folder: `$MEDSSL_SHARED_DATA`, else `shared/data` beside the repository. */
export const SHARED_DATA = process.env.MEDSSL_SHARED_DATA ?? resolve(import.meta.dirname, '../../../../shared/data');

/** In the name of every test skipped because the folder is absent: scripts/test-summary.mjs counts them. */
export const SHARED_DATA_TAG = '[shared data]';

/**
 * A test's name, tagged when the data it needs is absent, so that the summary counts tests skipped for
 * missing data apart from those skipped for another reason (no Chromium, no Python).
 */
export function sharedDataTitle(title: string, available: boolean): string {
  return available ? title : `${title} ${SHARED_DATA_TAG}`;
}

/** A path under the shared data folder. */
export function sharedData(...parts: string[]): string {
  return join(SHARED_DATA, ...parts);
}

const warned = new Set<string>();

/**
 * Whether every path (each relative to the shared data folder) exists. When one does not, says once which
 * tests skip and why, so a run without the folder is never silently thinner.
 */
export function haveSharedData(what: string, ...paths: string[]): boolean {
  const missing = paths.map((path) => sharedData(path)).filter((path) => !existsSync(path));
  if (missing.length > 0 && !warned.has(what)) {
    warned.add(what);
    console.warn(
      `skipping ${what}: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} absent (real data lives in ../shared/data beside the repository)`,
    );
  }
  return missing.length === 0;
}

/** `describe`, skipped (with a message, its name tagged) unless every path exists. */
export function describeWithSharedData(title: string, paths: readonly string[], body: () => void): void {
  const available = haveSharedData(title, ...paths);
  describe.skipIf(!available)(sharedDataTitle(title, available), body);
}

/** `it`, skipped (with a message, its name tagged) unless every path exists. */
export function itWithSharedData(title: string, paths: readonly string[], body: () => Promise<void> | void, timeout?: number): void {
  const available = haveSharedData(title, ...paths);
  it.skipIf(!available)(sharedDataTitle(title, available), body, timeout);
}
export { mutateBytes, mutationCount, seededRandom } from './mutations.js';
