export { SPECIFICATION_VERSION } from './version.js';
export type { SpecificationVersion } from './version.js';
export type {
  BinaryTask,
  MetricId,
  MulticlassTask,
  MultilabelTask,
  Target,
  Task,
  TaskType,
} from './task.js';
export type { Matrix, RawImage, Tensor } from './image.js';
export type { Dataset, DatasetInfo, DatasetIssue, DatasetSizes, Modality, OnError, Sample, SampleOptions, SplitName } from './dataset.js';
export type { Interpolation, Preprocessing } from './preprocessing.js';
export { describeEmbedding, embeddingDimension } from './backbone.js';
export type {
  Architecture,
  Backbone,
  CanonicalWeights,
  CheckpointInfo,
  EmbeddingDefinition,
  EmbeddingLayout,
  ModelFileArchitecture,
  ModelOutputEmbedding,
  PooledEmbedding,
  BicubicPositionResampling,
  PositionResampling,
  SineCosinePositions,
  Pretraining,
  ResNetArchitecture,
  StateDict,
  TokenEmbedding,
  VisionTransformerArchitecture,
} from './backbone.js';
export type { BackboneProvider, DatasetProvider, Provider, ProviderOptions } from './provider.js';
export type { Embedder, Runtime, RuntimeOptions } from './runtime.js';
export type { ClassTargets, FeatureManifest, FeatureSet, LabelTargets, TargetArray } from './features.js';
export type {
  AttentionMap,
  Fusion,
  FusionInput,
  FusionResult,
  Metric,
  MetricResult,
  Protocol,
  ProtocolInput,
  ProtocolResult,
} from './protocol.js';
