export {
  DINO_POSITION_RESAMPLING,
  architectureName,
  architectures,
  canonicalTensorShapes,
  checkCanonicalTensors,
  describeArchitecture,
  multiplyAdds,
  randomCanonicalWeights,
  resnetArchitecture,
  resnetDepth,
  sameArchitecture,
  vitArchitecture,
} from './canonical.js';
export { mapToCanonical, stateDictInLayout, stripPrefixes } from './mapping.js';
export type { CanonicalMapping, CanonicalTarget } from './mapping.js';
export { positionInterpolation, positionTableForInput, sineCosinePositions } from './position-embedding.js';
export type { PositionInterpolation, PositionInterpolationRequest, PositionTableRequest } from './position-embedding.js';
export {
  IMAGENET_NORMALIZE,
  classTokenEmbedding,
  defineBackbone,
  defineBackboneProvider,
  evaluationPreprocessing,
  isBatchCounter,
  pooledEmbedding,
  withDimension,
} from './backbone.js';
export type { BackboneDefinition, BackboneProviderDefinition } from './backbone.js';
export {
  flattenTensors,
  type FlattenOptions,
  readCheckpoint,
  readCheckpointContents,
  type CheckpointContents,
  type CheckpointFormat,
  type ReadCheckpointOptions,
} from './checkpoint.js';
export { CheckpointFormatError, UnsafeCheckpointError } from './errors.js';
export { encodeTorchCheckpoint, encodeTorchCheckpointParts, type TorchDictionary, type TorchValue } from './torch-writer.js';
export { OpaqueObject, unpickle, type PickleDict, type PickleSet, type PickleValue, type UnpickleOptions, type UnpickleResult } from './pickle.js';
export {
  encodeSafetensors,
  encodeSafetensorsParts,
  looksLikeSafetensors,
  readSafetensors,
  type SafetensorsContents,
  type SafetensorsDType,
  type WritableTensor,
  type WritableTensorData,
} from './safetensors.js';
export {
  CheckpointTensor,
  floatingTensors,
  type CheckpointDType,
  type CheckpointTensorData,
  type TensorDataByDType,
} from './tensor.js';
export { huggingFaceCanonicalName, huggingFaceCheckpointKey, type HuggingFaceVisionModel } from './hugging-face.js';
