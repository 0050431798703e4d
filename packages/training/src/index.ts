// @medssl/training: what medssl's training loops share (finetuning, end-to-end DVME), independent of the
// runtime that builds the trainable backbone.
export { AdamW, EarlyStopping, scheduleFactor } from './optimizer.js';
export type { AdamWSettings, ParameterGroup, TrainableParameter } from './optimizer.js';
export { operation } from './operation.js';
export type { OperationGradient, OperationOptions, SaveTensors } from './operation.js';
