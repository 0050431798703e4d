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
export type { Dataset, DatasetInfo, DatasetIssue, OnError, Sample, SampleOptions, SplitName } from './dataset.js';
export type { Interpolation, Preprocessing } from './preprocessing.js';
export type {
  Architecture,
  Backbone,
  CanonicalWeights,
  CheckpointInfo,
  EmbeddingDefinition,
  EmbeddingKind,
  ResNetArchitecture,
  StateDict,
  VisionTransformerArchitecture,
} from './backbone.js';
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
