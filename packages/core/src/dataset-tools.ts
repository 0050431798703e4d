import type { DatasetIssue, OnError, SampleOptions } from '@medssl/spec';
import { DatasetLayoutError } from './errors.js';
import { cutText } from './messages.js';

/**
 * The rows `samples(split, { start, end })` yields: like `Array.slice`, an `end` beyond the split is
 * clamped to its size; bounds that are not non-negative integers are errors naming `where`.
 */
export function sampleRange(where: string, size: number, options: SampleOptions = {}): { start: number; end: number } {
  const start = options.start ?? 0;
  const requestedEnd = options.end ?? size;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`${where}: start must be a non-negative integer, got ${String(options.start)}`);
  if (!Number.isSafeInteger(requestedEnd) || requestedEnd < 0) throw new RangeError(`${where}: end must be a non-negative integer, got ${String(options.end)}`);
  const end = Math.min(requestedEnd, size);
  return { start: Math.min(start, end), end };
}

/** How many names an aggregated issue quotes before it only counts. */
export const NAMES_QUOTED = 5;

/**
 * Collects what a dataset skipped. `problem` is for bad input: it throws with `onError: 'throw'`, and is
 * recorded as a skip otherwise. `report` records something that is never an error (a note, a count).
 */
export class IssueLog {
  readonly issues: DatasetIssue[] = [];

  constructor(private readonly onError: OnError) {}

  problem(issue: DatasetIssue): void {
    if (this.onError === 'throw') throw DatasetLayoutError.withMessage(issue.file ?? '', issue.row === undefined ? '' : `line ${issue.row}`, issue.message);
    this.issues.push(issue);
  }

  report(issue: DatasetIssue): void {
    this.issues.push(issue);
  }
}

/** `3 names (a, b, c)` or `112 names (first 5: a, b, c, d, e)`. */
export function describeNames(names: readonly string[], noun: string): string {
  const quoted = names
    .slice(0, NAMES_QUOTED)
    .map((name) => cutText(name))
    .join(', ');
  const plural = names.length === 1 ? noun : `${noun}s`;
  if (names.length <= NAMES_QUOTED) return `${names.length} ${plural} (${quoted})`;
  return `${names.length} ${plural} (first ${NAMES_QUOTED}: ${quoted})`;
}
