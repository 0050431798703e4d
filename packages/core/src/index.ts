export { assertSeed, createRng } from './rng.js';
export type { Rng } from './rng.js';
export { findTaskProblem, outputCount, targetNames, targetRows, validateTargets, validateTask } from './task.js';
export type { TaskProblem } from './task.js';
export { DatasetLayoutError, FeatureSetError } from './errors.js';
export { MESSAGE_ECHO_LIMIT, cutText, describeValue, quoteForMessage } from './messages.js';
export { findJsonSyntaxProblem, jsonPath, parseJson } from './json.js';
export type { JsonSyntaxProblem } from './json.js';
export {
  DEFAULT_FRACTIONS,
  SUBSET_FORMAT,
  assertFraction,
  fingerprintPool,
  labelFractionSubsets,
  parseSubset,
  serializeSubset,
  subsetFileName,
} from './subsets.js';
export type { LabelFractionSubset, LabelFractionSubsetsOptions } from './subsets.js';
export { batches, inOrder, mapConcurrent, readAhead, wakeUp } from './batching.js';
export { csvColumns, parseCsv } from './csv.js';
export { ProviderOptionError, defineDatasetProvider, readOptions } from './provider.js';
export type { DatasetProviderDefinition, OptionKind } from './provider.js';
export { IssueLog, NAMES_QUOTED, describeNames, sampleRange } from './dataset-tools.js';
export { assertFiniteFeatures, assertSameSamples, parseFeatureIds, parseFeatureManifest, validateFeatureRows, validateFeatureSet } from './features.js';
export { evaluateLabelFractions, summarize } from './evaluation.js';
export type {
  EvaluationRow,
  FractionSummary,
  LabelFractionEvaluation,
  LabelFractionEvaluationOptions,
  LabelFractionRun,
  LabelFractionRunInput,
  LabelPool,
  MetricSummary,
} from './evaluation.js';
export type { CsvTable } from './csv.js';
export type { MapConcurrentOptions } from './batching.js';
export * from './preprocess/index.js';
export { DEFAULT_MAX_PIXELS, ImageDecodeError, resolveMaxPixels, sniffImageFormat } from './image-errors.js';
export type { ImageDecodeProblem } from './image-errors.js';
