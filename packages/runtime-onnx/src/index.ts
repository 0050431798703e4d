export { onnxRuntime } from './runtime.js';
export type { OnnxRuntime, OnnxRuntimeOptions } from './runtime.js';
export { onnxModelEmbedder } from './model-file.js';
export type { OnnxModelEmbedderOptions } from './model-file.js';
export { buildOnnxModel } from './model.js';
/** Moved to `@medssl/core`; re-exported for existing callers. */
export { inputShapeFromPreprocessing } from '@medssl/core';
export type { BuiltOnnxModel, OnnxExternalData, OnnxModelOptions } from './model.js';
export { createBuiltModelSession, saveOnnxModel } from './model-files.js';
export { createOnnxSession, OnnxEmbedder } from './session.js';
export type { GraphOptimizationLevel, OnnxSession, OnnxSessionOptions } from './session.js';
// Shared with @medssl/runtime-tfjs; re-exported here for existing users.
export { positionTableForInput } from '@medssl/weights';
export type { PositionTableRequest } from '@medssl/weights';
export { foldBatchNorm } from './resnet.js';
export { encodeOnnxModel, encodeOnnxModelWithExternalData, ONNX_IR_VERSION, ONNX_OPSET_VERSION } from './onnx-proto.js';
export type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxModelWithExternalData, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-proto.js';
