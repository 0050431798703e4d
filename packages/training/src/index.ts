// @medssl/training: what medssl's training loops share (finetuning, end-to-end DVME), independent of the
// runtime that builds the trainable backbone. Node-only parts (checkpoint files) are in `@medssl/training/node`.
export { AdamW, EarlyStopping, scheduleFactor } from './optimizer.js';
export type { AdamWSettings, ParameterGroup, TrainableParameter } from './optimizer.js';
export { operation } from './operation.js';
export type { OperationGradient, OperationOptions, SaveTensors } from './operation.js';
export { checkTrainableBackbone, trainableParameters } from './backbone.js';
export type { ImageLayout, TrainableBackbone, TrainableBackboneFactory } from './backbone.js';
export { classificationLoss, decisionsFromLogits, metricsFromLogits, probabilitiesFromLogits, targetTensor } from './loss.js';
export {
  FIRST_MOMENT_PREFIX,
  SECOND_MOMENT_PREFIX,
  configDifference,
  isModelTensor,
  memoryCheckpointStore,
  modelTensors,
  optimizerTensors,
  restoreOptimizer,
  tensorsUnder,
} from './checkpoint.js';
export type { CheckpointState, CheckpointStore, EpochRecord, SavedCheckpoint, StoredResult } from './checkpoint.js';
export { trainEpochs } from './loop.js';
export type { EpochLoop, EpochPlan, FinishedRun, KeptValues, LoopCheckpoints, RunSummary, TrainedRun, TrainingModel } from './loop.js';
