export { createKernels, wasmSimdAvailable } from './kernels.js';
export type { KernelChoice, MatrixKernels } from './kernels.js';
export { PANEL_WIDTH, ROW_BLOCK } from './wasm-kernels.js';
export { javascriptPanelProduct } from './javascript-kernels.js';
