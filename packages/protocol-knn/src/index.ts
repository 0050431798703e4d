export { DEFAULT_KS, DEFAULT_TEMPERATURE, knnProbe, voteScores } from './knn.js';
export type { KnnOptions } from './knn.js';
export { nearestNeighbors, normalizeRows } from './neighbors.js';
export type { Neighbors } from './neighbors.js';
