export {
  architectures,
  canonicalTensorShapes,
  checkCanonicalTensors,
  describeArchitecture,
  randomCanonicalWeights,
} from './canonical.js';
export { mapToCanonical, stateDictInLayout, stripPrefixes } from './mapping.js';
export type { CanonicalMapping } from './mapping.js';
export { IMAGENET_NORMALIZE, defineBackbone, evaluationPreprocessing, isBatchCounter, pooledEmbedding } from './backbone.js';
export type { BackboneDefinition } from './backbone.js';
