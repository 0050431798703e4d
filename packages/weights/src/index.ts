export {
  architectures,
  canonicalTensorShapes,
  checkCanonicalTensors,
  describeArchitecture,
  randomCanonicalWeights,
} from './canonical.js';
