export {
  DEFAULT_BACKBONE_LEARNING_RATE,
  DEFAULT_BATCH_SIZE,
  DEFAULT_EPOCHS,
  DEFAULT_HEAD_LEARNING_RATE,
  DEFAULT_PATIENCE,
  DEFAULT_WARMUP_EPOCHS,
  DEFAULT_WEIGHT_DECAY,
  finetune,
  resolveSettings,
  runFinetune,
} from './finetune.js';
export type { FinetuneInput, FinetuneOptions, FinetuneResult, FinetuneSettings, ImageSplit } from './finetune.js';
export { finetuneLabelFractions } from './fractions.js';
export type { FinetuneFractionsEvaluation, FinetuneFractionsOptions } from './fractions.js';
export {
  AUGMENTATION_POLICIES,
  DEFAULT_CROP_RANGES,
  MODALITIES,
  cropRegion,
  drawAugmentation,
  inputSize,
  writeAugmentedImage,
  writeEvaluationImage,
} from './augment.js';
export type { Augmentation, AugmentationPolicy, CropRanges, Modality } from './augment.js';
export { LinearHead } from './model.js';
export { CHECKPOINT_FORMAT } from './checkpoint.js';
export { estimateSeconds, formatSeconds, measureThroughput, scaleThroughput } from './estimate.js';
export type { MeasureThroughputOptions, RunPlan, Throughput } from './estimate.js';
