import { webgpuSkipReason } from './dawn.js';

/** Why the WebGPU tests cannot run here (printed), or undefined. */
export const skipReason = await webgpuSkipReason();
if (skipReason) console.warn(`webgpu tests skipped: ${skipReason}`);
