export { linearProbe, fitLinearProbe, DEFAULT_MAXIMUM_ITERATIONS, DEFAULT_TOLERANCE } from './linear-probe.js';
export type { GridFit, LinearModel, LinearProbeOptions, LinearProbeReport } from './linear-probe.js';
export { DEFAULT_L2_GRID, logspace, sklearnC } from './grid.js';
export { wasmSimdAvailable } from './kernels/kernels.js';
export type { KernelChoice } from './kernels/kernels.js';
export type { StopReason } from './solver.js';
