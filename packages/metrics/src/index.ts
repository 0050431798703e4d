export { UndefinedMetricError } from './errors.js';
export { rocAuc, perLabelAuc } from './auc.js';
export type { PerLabelAuc } from './auc.js';
export {
  accuracy,
  balancedAccuracy,
  cohenKappa,
  confusionMatrix,
  f1PerClass,
  macroF1,
  recallPerClass,
} from './classification.js';
export type { ConfusionMatrix, KappaWeights } from './classification.js';
export { bootstrapInterval, pairedBootstrap } from './bootstrap.js';
export type { BootstrapInterval, BootstrapOptions, PairedBootstrap } from './bootstrap.js';
export { delongMultilabelTest, delongTest, delongVariance } from './delong.js';
export type { DelongMultilabelTest, DelongOptions, DelongTest, DelongVariance, ExcludedLabel, NormalInterval } from './delong.js';
export { holmAdjust } from './holm.js';
export { normalCdf, normalQuantile, twoSidedNormalPValue } from './normal.js';
export {
  accuracyMetric,
  aucMetric,
  balancedAccuracyMetric,
  builtInMetrics,
  computeMetrics,
  kappaMetric,
  linearKappaMetric,
  macroF1Metric,
  meanAucMetric,
  metricsForTask,
  predictedClasses,
} from './metric.js';
export type { ComputedMetrics } from './metric.js';
