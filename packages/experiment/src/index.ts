// @medssl/experiment: the experiment runner. A config (or a preset) names datasets and backbones by id; the
// providers it is given turn ids into plugins. It extracts what the feature store lacks, runs every
// protocol and fusion at every label fraction and seed, writes one results document per unit, and renders
// the report. Re-running picks up where a run stopped.
export { createRegistry, pretrainingLookup } from './registry.js';
export type { Registry } from './registry.js';
export { ExperimentRequestError } from './errors.js';
export type { Io } from './io.js';
export { defineExperiment, validateExperimentConfig, ExperimentConfigError } from './config.js';
export type {
  BackboneEntry,
  DatasetEntry,
  ExperimentConfig,
  ExtractionSettings,
  FinetuneEntry,
  FusionEntry,
  FusionMethod,
  ProtocolEntry,
  SplitNames,
} from './config.js';
export { loadExperimentConfig } from './load-config.js';
export { entryBackbone, registryOf, runExperiment, splitNames } from './runner.js';
export type {
  ExtractBackbone,
  ExtractedSplit,
  ExtractRequest,
  ExtractSplit,
  FinetuneRequest,
  FusionRequest,
  RunExperimentOptions,
  RunFinetune,
  RunFusion,
  RunOutcome,
} from './runner.js';
export { runExperimentWithDefaults } from './run-with-defaults.js';
export type { RunWithDefaultsOptions } from './run-with-defaults.js';
export { PAPER_PROTOCOLS, foundationExperiment, paperExperiment, presetBackboneIds } from './presets.js';
export type { FoundationExperiment, FoundationExperimentOptions, MissingCheckpoint, PaperExperimentOptions } from './presets.js';
export { CHECKPOINT_READ_OPTIONS, checkpointReaders, checkWeightsRequest, loadBackboneWeights } from './weights.js';
export type { CheckpointReaders } from './weights.js';
export { embedSplit, embeddingCost, extractSplit, extractionReporter, groupByPreprocessing, overridePreprocessing, passReporters } from './extraction.js';
export type { ExtractedSplitFolder, ExtractSplitBackbone, ExtractSplitRequest } from './extraction.js';
export { checkFeatureSets, evaluateFusion } from './fusion-evaluation.js';
export type { FusionEvaluationRequest } from './fusion-evaluation.js';
export { FINETUNE_RUNTIMES, runFinetuneEvaluation } from './finetune-evaluation.js';
export type { FinetuneEvaluationOptions, FinetuneRuntimeName } from './finetune-evaluation.js';
export { featureSetSource, writeEvaluationDocument } from './results.js';
export type { EvaluationDocumentInput, EvaluationSource, EvaluationSplits } from './results.js';
export { markdownSummary } from './report-table.js';
export {
  domainComparisons,
  pretrainingGroup,
  pretrainingGroupLabel,
  PRETRAINING_GROUPS,
  readResultsDocument,
  ResultsDocumentError,
  readTransferabilityDocuments,
  renderReport,
  transferabilityAgreement,
} from './report/index.js';
export type {
  DomainComparison,
  DomainVerdict,
  PretrainingGroup,
  ReportOptions,
  ReportPretraining,
  ResultsDocument,
  TransferabilityDocument,
} from './report/index.js';
export { createProgress, formatDuration } from './progress.js';
export type { Progress, ProgressOptions } from './progress.js';
export { slug } from './file-names.js';
export { writeSyntheticDataset } from './demo/write-dataset.js';
export { SYNTHETIC_CLASSES, syntheticPatch, syntheticSamples } from './demo/synthetic-patches.js';
export type { SyntheticSplitSizes } from './demo/synthetic-patches.js';
export { version } from './version.js';
export { DEFAULT_TRANSFERABILITY_ROWS, ranksOf, scoreFeatureSets, TRANSFERABILITY_FORMAT, writeTransferabilityDocument } from './transferability.js';
export type { FeatureSetScores, ScoreFeatureSetsOptions, TransferabilityDocumentInput } from './transferability.js';
