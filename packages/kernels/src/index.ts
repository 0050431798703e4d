export { createFloat64Kernels, createKernels, wasmSimdAvailable } from './kernels.js';
export type { Float64MatrixKernels, KernelChoice, MatrixKernels } from './kernels.js';
export { PANEL_WIDTH, PANEL_WIDTH_64, ROW_BLOCK } from './wasm-kernels.js';
export { javascriptPanelProduct, javascriptPanelProduct64 } from './javascript-kernels.js';
