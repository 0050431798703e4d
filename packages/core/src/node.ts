// Node-only parts of @medssl/core: file I/O and image decoding. The main entry stays free of Node built-ins.
export { loadSubsetFile, saveSubsetFiles, writeFileAtomic } from './files.js';
export { decodeImage, decodeImageFile, readImageFile } from './decode.js';
export { decodePng, isPng } from './png.js';
export {
  byteSourceFromFileHandle,
  inflateRawWithZlib,
  openNpzFile,
  readNpyFile,
  readNpzFile,
  writeNpyFile,
} from './arrays/node.js';
export type { NpzFileArchive } from './arrays/node.js';
export { FEATURE_FILES, readFeatureSet, writeFeatureSet } from './feature-files.js';
export { copyFileAtomic, syncDirectory, writeFileAtomicFrom } from './files.js';
export type { WrittenFile } from './files.js';
// The extraction pipeline and the feature store (issue 6).
export { backboneModel, copyFeatureSet, extractFeatures, extractFeatureSets, InterruptedExtractionError } from './extraction/extract.js';
export type { ExtractFeatureSetsOptions, ExtractFeaturesOptions, ExtractionEvent, ExtractionResult, FeatureModel, LazyWeights } from './extraction/extract.js';
export { createPipelineStats, DEFAULT_DEPTH, embedBatches, embedPrepared, poolMismatch, prepareBatches } from './extraction/pipeline.js';
export type { EmbedBatchesOptions, EmbeddedBatch, PipelineStats, PrepareBatchesOptions, PreparedBatch } from './extraction/pipeline.js';
export { createPreprocessPool, defaultWorkerCount } from './extraction/preprocess-pool.js';
export type { PreprocessPool, PreprocessPoolOptions } from './extraction/preprocess-pool.js';
export {
  STORE_FORMAT,
  checkFeatureFolder,
  defaultFeatureStore,
  fileChecksum,
  listFeatureStore,
  storeEntryFolder,
} from './extraction/store.js';
export type { FeatureFileChecksums, FolderCheck, StoreEntry, StoredFeatureManifest } from './extraction/store.js';
export { mergeFeatureSets, verifyFeatureFolder, verifyStoreEntry } from './extraction/merge.js';
export type { MergeResult, MergeTarget } from './extraction/merge.js';
