export { TFJS_BACKENDS, TfjsBackendError, useTfjsBackend } from './backend.js';
export type { TfjsBackendName, UseTfjsBackendOptions } from './backend.js';
export { createTfjsModel } from './model.js';
export type { TfjsModel, TfjsModelBackbone, TfjsModelOptions } from './model.js';
export { tfjsRuntime } from './runtime.js';
/** Moved to `@medssl/core`; re-exported for existing callers. */
export { inputShapeFromPreprocessing } from '@medssl/core';
export type { TfjsRuntime, TfjsRuntimeOptions } from './runtime.js';
