/** One of `count` deterministic parts of a split: `index` counts from 0. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Rows `[start, end)` of a split. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/** One durable unit of an extraction: rows `[start, end)`, number `index` on the split's chunk grid. */
export interface Chunk extends RowRange {
  readonly index: number;
}

/** Parses `i/n` (e.g. `3/8`, as `--shard $JOB_COMPLETION_INDEX/8`); errors quote the text. */
export function parseShard(text: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new RangeError(`a shard is written i/n with 0 <= i < n (e.g. 0/4), got ${JSON.stringify(text)}`);
  const shard = { index: Number(match[1]), count: Number(match[2]) };
  checkShard(shard);
  return shard;
}

export function checkShard(shard: ShardSpec): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`a shard count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`shard index must be an integer from 0 to ${count - 1} (shards count from 0), got ${index}`);
  }
}

function checkRange(range: RowRange, what: string): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw new RangeError(`${what} must be integers with 0 <= start <= end, got [${range.start}, ${range.end})`);
  }
}

function checkChunkRows(chunkRows: number): void {
  if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunk rows must be a positive integer, got ${chunkRows}`);
}

/**
 * The chunks covering `range` on the split's grid of `chunkRows`-row cells, which starts at row 0. Every
 * extraction of a split cuts it at the same rows, so a chunk holds the same rows whether it is computed in
 * one run, a resumed run or one shard of many.
 */
export function chunksOf(range: RowRange, chunkRows: number): Chunk[] {
  checkRange(range, 'rows');
  checkChunkRows(chunkRows);
  const chunks: Chunk[] = [];
  if (range.start === range.end) return chunks;
  for (let index = Math.floor(range.start / chunkRows); index * chunkRows < range.end; index++) {
    chunks.push({ index, start: Math.max(range.start, index * chunkRows), end: Math.min(range.end, (index + 1) * chunkRows) });
  }
  return chunks;
}

/**
 * The rows shard `i` of `n` takes from `range`: whole chunks of the grid, the chunks dealt out in contiguous
 * runs whose sizes differ by at most one chunk. Depends only on its arguments, so every pod of a job computes
 * the same partition; the shards cover the range exactly once.
 */
export function shardRows(range: RowRange, shard: ShardSpec, chunkRows: number): RowRange {
  checkRange(range, 'rows');
  checkShard(shard);
  checkChunkRows(chunkRows);
  const chunks = chunksOf(range, chunkRows);
  const first = Math.floor((shard.index * chunks.length) / shard.count);
  const last = Math.floor(((shard.index + 1) * chunks.length) / shard.count);
  if (first === last) {
    // More shards than chunks: this one is empty, placed where its neighbours meet.
    const at = first < chunks.length ? chunks[first]!.start : range.end;
    return { start: at, end: at };
  }
  return { start: chunks[first]!.start, end: chunks[last - 1]!.end };
}

/**
 * Inference batches inside one chunk: `batchSize` rows each from the chunk's start, the last one shorter.
 * Batches never cross chunks, so a chunk's features never depend on where a run started.
 */
export function batchRanges(chunk: RowRange, batchSize: number): RowRange[] {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const ranges: RowRange[] = [];
  for (let start = chunk.start; start < chunk.end; start += batchSize) ranges.push({ start, end: Math.min(chunk.end, start + batchSize) });
  return ranges;
}
