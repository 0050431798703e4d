// Tests pick the backend themselves, as a caller of @medssl/dvme does (the package registers none).
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

/** Activates tfjs's wasm backend and checks it is the one running (tfjs would otherwise fall back silently). */
export async function useWasmBackend(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  if (tf.getBackend() !== 'wasm') throw new Error(`the wasm backend did not start (active: ${tf.getBackend()})`);
}
