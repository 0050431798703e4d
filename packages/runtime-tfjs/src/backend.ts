import * as tf from '@tensorflow/tfjs-core';

/** The TensorFlow.js backends medssl runs on. `cpu` is plain JavaScript: about 40x slower than `wasm`, for tests. */
export type TfjsBackendName = 'wasm' | 'cpu' | 'webgpu';

export const TFJS_BACKENDS: readonly TfjsBackendName[] = ['wasm', 'cpu', 'webgpu'];

export interface UseTfjsBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` files: a URL prefix ending in `/` (browsers, where a bundler
   * must serve them). In Node the files are found beside the package.
   */
  readonly wasmPaths?: string;
}

/** Raised when a requested backend cannot start; tfjs itself would silently fall back to another one. */
export class TfjsBackendError extends Error {
  override readonly name = 'TfjsBackendError';
}

/**
 * Registers and activates one tfjs backend, then checks that it is the one really running. The backend
 * package is imported here, on demand, so importing `@medssl/runtime-tfjs` registers nothing by side effect.
 * Returns the active backend's name.
 */
export async function useTfjsBackend(name: TfjsBackendName, options: UseTfjsBackendOptions = {}): Promise<TfjsBackendName> {
  if (!TFJS_BACKENDS.includes(name)) {
    throw new TfjsBackendError(`unknown tfjs backend ${JSON.stringify(name)}; expected one of ${TFJS_BACKENDS.join(', ')}`);
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
  } else if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const { navigator } = globalThis as { navigator?: { gpu?: unknown } };
    if (navigator?.gpu === undefined) {
      throw new TfjsBackendError(
        'the webgpu backend needs navigator.gpu: a browser with WebGPU, or in Node the "webgpu" package (Dawn) set up as globalThis.navigator.gpu',
      );
    }
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  let started: boolean;
  try {
    started = await tf.setBackend(name);
    await tf.ready();
  } catch (cause) {
    throw new TfjsBackendError(`tfjs backend "${name}" failed to start: ${(cause as Error).message}`, { cause });
  }
  const active = tf.getBackend();
  if (!started || active !== name) {
    throw new TfjsBackendError(`tfjs backend "${name}" did not start (active backend: ${active ?? 'none'}); refusing to fall back silently`);
  }
  return name;
}
