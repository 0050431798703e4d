export { DEFAULT_KS, DEFAULT_TEMPERATURE, knnProbe, voteScores } from './knn.js';
export type { KnnOptions } from './knn.js';
export { nearestNeighbours, normaliseRows } from './neighbours.js';
export type { Neighbours } from './neighbours.js';
