export { linearProbe, fitLinearProbe, DEFAULT_MAXIMUM_ITERATIONS, DEFAULT_TOLERANCE } from './linear-probe.js';
export type { GridFit, LinearModel, LinearProbeOptions, LinearProbeReport } from './linear-probe.js';
export { DEFAULT_L2_GRID, logspace, sklearnC } from './grid.js';
export { wasmSimdAvailable } from '@medssl/kernels';
export type { KernelChoice } from '@medssl/kernels';
export type { StopReason } from './solver.js';
