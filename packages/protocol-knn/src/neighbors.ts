/**
 * Nearest neighbours by cosine similarity on L2-normalised rows, computed block by block so the full
 * query x train similarity matrix never exists in memory.
 */
export interface Neighbors {
  /** `[queries, k]`: train row of each neighbour, most similar first. */
  readonly rows: Int32Array;
  /** `[queries, k]`: cosine similarity of each neighbour. */
  readonly similarities: Float32Array;
  readonly k: number;
}

/** Scales each row to unit L2 norm (an all-zero row stays zero). */
export function normalizeRows(data: Float32Array, rows: number, columns: number): Float32Array {
  const result = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    const offset = row * columns;
    let squares = 0;
    for (let column = 0; column < columns; column++) squares += data[offset + column]! ** 2;
    const scale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    for (let column = 0; column < columns; column++) result[offset + column] = data[offset + column]! * scale;
  }
  return result;
}

const QUERY_BLOCK = 32;
const TRAIN_BLOCK = 256;

/** The `k` most similar train rows of every query; ties keep the lower train row first. */
export function nearestNeighbors(queries: Float32Array, queryCount: number, train: Float32Array, trainCount: number, dimension: number, k: number): Neighbors {
  const rows = new Int32Array(queryCount * k);
  const similarities = new Float32Array(queryCount * k);
  const block = new Float32Array(QUERY_BLOCK * TRAIN_BLOCK);
  // One bounded min-heap of size k per query in the block: the root is the weakest neighbour kept.
  const heapSimilarity = new Float32Array(QUERY_BLOCK * k);
  const heapRow = new Int32Array(QUERY_BLOCK * k);
  const heapSize = new Int32Array(QUERY_BLOCK);

  for (let queryStart = 0; queryStart < queryCount; queryStart += QUERY_BLOCK) {
    const queryEnd = Math.min(queryCount, queryStart + QUERY_BLOCK);
    heapSize.fill(0);
    for (let trainStart = 0; trainStart < trainCount; trainStart += TRAIN_BLOCK) {
      const trainEnd = Math.min(trainCount, trainStart + TRAIN_BLOCK);
      const width = trainEnd - trainStart;
      for (let query = queryStart; query < queryEnd; query++) {
        const queryOffset = query * dimension;
        const blockOffset = (query - queryStart) * TRAIN_BLOCK;
        for (let trainRow = trainStart; trainRow < trainEnd; trainRow++) {
          const trainOffset = trainRow * dimension;
          let dot0 = 0;
          let dot1 = 0;
          let dot2 = 0;
          let dot3 = 0;
          let column = 0;
          for (; column + 3 < dimension; column += 4) {
            dot0 += queries[queryOffset + column]! * train[trainOffset + column]!;
            dot1 += queries[queryOffset + column + 1]! * train[trainOffset + column + 1]!;
            dot2 += queries[queryOffset + column + 2]! * train[trainOffset + column + 2]!;
            dot3 += queries[queryOffset + column + 3]! * train[trainOffset + column + 3]!;
          }
          for (; column < dimension; column++) dot0 += queries[queryOffset + column]! * train[trainOffset + column]!;
          block[blockOffset + trainRow - trainStart] = dot0 + dot1 + dot2 + dot3;
        }
        const heapOffset = (query - queryStart) * k;
        for (let index = 0; index < width; index++) {
          pushBounded(heapSimilarity, heapRow, heapOffset, heapSize, query - queryStart, k, block[blockOffset + index]!, trainStart + index);
        }
      }
    }
    for (let query = queryStart; query < queryEnd; query++) {
      const local = query - queryStart;
      const size = heapSize[local]!;
      const order = Array.from({ length: size }, (_, index) => index).sort((a, b) => {
        const difference = heapSimilarity[local * k + b]! - heapSimilarity[local * k + a]!;
        return difference !== 0 ? difference : heapRow[local * k + a]! - heapRow[local * k + b]!;
      });
      order.forEach((heapIndex, rank) => {
        rows[query * k + rank] = heapRow[local * k + heapIndex]!;
        similarities[query * k + rank] = heapSimilarity[local * k + heapIndex]!;
      });
    }
  }
  return { rows, similarities, k };
}

/** `a` is weaker than `b`: lower similarity, or equal similarity and a later train row. */
function weaker(similarityA: number, rowA: number, similarityB: number, rowB: number): boolean {
  return similarityA < similarityB || (similarityA === similarityB && rowA > rowB);
}

function pushBounded(
  similarity: Float32Array,
  row: Int32Array,
  offset: number,
  sizes: Int32Array,
  heap: number,
  capacity: number,
  candidateSimilarity: number,
  candidateRow: number,
): void {
  let size = sizes[heap]!;
  if (size < capacity) {
    // Sift up from the end.
    let child = size++;
    sizes[heap] = size;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!weaker(candidateSimilarity, candidateRow, similarity[offset + parent]!, row[offset + parent]!)) break;
      similarity[offset + child] = similarity[offset + parent]!;
      row[offset + child] = row[offset + parent]!;
      child = parent;
    }
    similarity[offset + child] = candidateSimilarity;
    row[offset + child] = candidateRow;
    return;
  }
  if (!weaker(similarity[offset]!, row[offset]!, candidateSimilarity, candidateRow)) return;
  // Replace the root and sift down.
  let parent = 0;
  while (true) {
    const left = 2 * parent + 1;
    if (left >= size) break;
    const right = left + 1;
    let weakest = left;
    if (right < size && weaker(similarity[offset + right]!, row[offset + right]!, similarity[offset + left]!, row[offset + left]!)) weakest = right;
    if (!weaker(similarity[offset + weakest]!, row[offset + weakest]!, candidateSimilarity, candidateRow)) break;
    similarity[offset + parent] = similarity[offset + weakest]!;
    row[offset + parent] = row[offset + weakest]!;
    parent = weakest;
  }
  similarity[offset + parent] = candidateSimilarity;
  row[offset + parent] = candidateRow;
}
