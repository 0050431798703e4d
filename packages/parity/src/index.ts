export { embeddingLayout, testBackbone, type TestEmbedding } from './backbones.js';
export {
  fixtureArray,
  parityDescription,
  parityFixturePath,
  readFixtureArrays,
  trainingDescription,
  type ConvolutionUnitCase,
  type ParityCase,
  type ParityDescription,
  type PositionTableCase,
  type TrainingCase,
  type TrainingDescription,
} from './fixtures.js';
export { checksum, FORMULA_VERSION, formulaCanonicalWeights, formulaImages, formulaRule, formulaValues } from './formula-weights.js';
export {
  checkFormulaFixtures,
  checkParityCase,
  describeRuntimeParity,
  embedParityCase,
  PARITY_TOLERANCE,
  parityCaseWeights,
  relativeError,
  type FormulaWeightCache,
  type ParityMeasurement,
  type RuntimeParityOptions,
} from './parity.js';
export { describeRuntimeAgreement } from './agreement.js';
export type { AgreementCase } from './agreement.js';
