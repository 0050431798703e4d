// WebGPU in Node for the tests: Dawn from the `webgpu` package, on SwiftShader (a software Vulkan driver
// that Debian's chromium ships) where no GPU driver is configured. Imported for its effect, before
// anything imports @tensorflow/tfjs-backend-webgpu; no top-level await here (see ../shared/ENVIRONMENT.md).
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let failure: string | undefined;
// Dawn reads the Vulkan driver list when it starts: set it first. A driver chosen by the environment wins.
if (process.env.VK_ICD_FILENAMES === undefined) {
  if (existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  else failure = `no Vulkan driver configured (VK_ICD_FILENAMES) and SwiftShader's ${SWIFTSHADER_ICD} is missing (apt-get install -y chromium libvulkan1)`;
}
try {
  Object.assign(globalThis, globals);
  const existing = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', { value: { ...existing, gpu: create([]) }, configurable: true, writable: true });
} catch (error) {
  failure = `Dawn (the "webgpu" package) failed to load: ${(error as Error).message}`;
}

/** Why WebGPU cannot run here, or undefined when an adapter answers. */
export async function webgpuSkipReason(): Promise<string | undefined> {
  if (failure) return failure;
  try {
    const { gpu } = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<unknown> } } }).navigator;
    const adapter = await gpu.requestAdapter();
    return adapter ? undefined : `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`;
  } catch (error) {
    return `Dawn's requestAdapter failed: ${(error as Error).message}`;
  }
}
