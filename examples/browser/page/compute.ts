// Which TensorFlow.js backend the page computes on: WebGPU where the browser has it, otherwise
// WebAssembly on the CPU, with a notice saying why. tfjs would fall back silently; useTfjsBackend refuses.
import { tfjsRuntime, useTfjsBackend, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { Runtime } from '@medssl/spec';

export interface ComputeBackend {
  readonly name: TfjsBackendName;
  readonly runtime: Runtime;
  /** The GPU adapter WebGPU runs on, as the browser describes it (e.g. `google swiftshader`). */
  readonly adapter?: string;
  /** Set when WebGPU could not start: why, and what runs instead. */
  readonly fallbackNotice?: string;
}

/**
 * Starts WebGPU, or wasm when WebGPU is missing or fails. `wasmPaths` is the URL folder the page serves
 * tfjs's `.wasm` files from (the Vite config copies them there): the page fetches nothing from elsewhere.
 */
export async function startComputeBackend(wasmPaths: string): Promise<ComputeBackend> {
  let reason: string;
  const gpu = (navigator as { gpu?: GpuEntry }).gpu;
  if (gpu === undefined) {
    reason = 'this browser has no WebGPU, or it is turned off';
  } else {
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter === null) {
      reason = 'the browser has WebGPU but found no GPU it can use';
    } else {
      try {
        const name = await useTfjsBackend('webgpu');
        const description = describeAdapter(adapter.info);
        return { name, runtime: tfjsRuntime({ backend: name }), ...(description ? { adapter: description } : {}) };
      } catch (error) {
        reason = `TensorFlow.js could not start on it: ${(error as Error).message}`;
      }
    }
  }
  const name = await useTfjsBackend('wasm', { wasmPaths });
  return {
    name,
    runtime: tfjsRuntime({ backend: name, wasmPaths }),
    fallbackNotice:
      `WebGPU is not available (${reason}), so the backbone runs on the CPU with WebAssembly: expect it to be 10 to 100 times slower. ` +
      'Current Chrome, Edge and Safari have WebGPU; pages opened from file:// do not.',
  };
}

/** The part of the WebGPU API used here (the DOM library of TypeScript 5.9 does not declare it). */
interface GpuEntry {
  requestAdapter(): Promise<{ readonly info?: GpuAdapterInfo } | null>;
}

interface GpuAdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
}

function describeAdapter(info: GpuAdapterInfo | undefined): string | undefined {
  if (info === undefined) return undefined;
  const words = [info.vendor, info.architecture, info.description].filter((word): word is string => Boolean(word));
  return words.length > 0 ? words.join(' ') : undefined;
}
