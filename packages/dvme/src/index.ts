export { TFJS_CORE_VERSION, bestSingleSource, concatenation, dme, dvme, fitFusion, fusionOf, standardizationOf } from './fusion.js';
export type { FusionReport } from './fusion.js';
export { trainEndToEnd } from './end-to-end.js';
export type { EndToEndInput, EndToEndOptions, EndToEndReport, ImageSplit } from './end-to-end.js';
export { FusionModel } from './model.js';
export type { ApplyContext, ModelOutput, ModuleKind, Standardization } from './model.js';
export type { Parameter } from './parameters.js';
export { DEFAULT_ARCHITECTURE, DEFAULT_TRAINING, FUSION_KINDS, resolveArchitecture, resolveTraining } from './options.js';
export type {
  ArchitectureOptions,
  EpochRecord,
  FusionKind,
  FusionOptions,
  ResolvedArchitecture,
  ResolvedTraining,
  TrainingOptions,
} from './options.js';
export { checkFusionInput, sourceNames } from './validation.js';
export type { CheckedFusionInput } from './validation.js';
