// @medssl/store: medssl's feature store, for Node. Extraction streams a dataset split through worker threads
// (decode, preprocess) and a runtime into a crash-safe, content-addressed feature-set folder; shards of one
// extraction merge into one set. Feature-set folders are read and written here.
export { FEATURE_FILES, readFeatureSet, writeFeatureFolder, writeFeatureSet } from './feature-files.js';
export type { FeatureFileChecksums, FeatureFolderContents } from './feature-files.js';
export { FEATURE_FORMAT, FEATURE_KEY_VERSION, canonicalJson, featureKey, featureKeyInputs } from './key.js';
export type { FeatureKeyFields, FeatureKeyInputs } from './key.js';
export { batchRanges, checkShard, chunksOf, parseShard, shardRows } from './shards.js';
export type { Chunk, RowRange, ShardSpec } from './shards.js';
export { backboneModel, copyFeatureSet, embeddingLabel, extractFeatures, extractFeatureSets, InterruptedExtractionError } from './extract.js';
export type { ExtractFeatureSetsOptions, ExtractFeaturesOptions, ExtractionEvent, ExtractionResult, FeatureModel, LazyWeights } from './extract.js';
export { createPipelineStats, DEFAULT_DEPTH, embedBatches, embedPrepared, poolMismatch, prepareBatches } from './pipeline.js';
export type { EmbedBatchesOptions, EmbeddedBatch, PipelineStats, PrepareBatchesOptions, PreparedBatch } from './pipeline.js';
export { createPreprocessPool, defaultWorkerCount } from './preprocess-pool.js';
export type { PreprocessPool, PreprocessPoolOptions } from './preprocess-pool.js';
export { STORE_FORMAT, checkFeatureFolder, defaultFeatureStore, listFeatureStore, storeEntryFolder } from './store.js';
export type { FolderCheck, StoreEntry, StoredFeatureManifest } from './store.js';
export { mergeFeatureSets, verifyFeatureFolder, verifyStoreEntry } from './merge.js';
export type { MergeResult, MergeTarget } from './merge.js';
