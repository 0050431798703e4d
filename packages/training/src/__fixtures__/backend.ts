// Tests pick the backend themselves, as a caller of @medssl/training does (the package registers none).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

/** Activates tfjs's cpu backend and checks it is the one running (tfjs would otherwise fall back silently). */
export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`the cpu backend did not start (active: ${tf.getBackend()})`);
}
