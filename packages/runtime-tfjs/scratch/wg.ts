import '../src/__fixtures__/dawn.js';
import * as tf from '@tensorflow/tfjs-core';
import { architectures } from '@medssl/weights';
import { tfjsRuntime } from '../src/index.js';
import { formulaCanonicalWeights, formulaImages, testBackbone } from '../src/__fixtures__/reference.js';
const w = formulaCanonicalWeights(architectures.resnet50);
const b = testBackbone('r', architectures.resnet50, { kind: 'pooled', dimension: 2048 }, 32);
let t = performance.now();
const e = await tfjsRuntime({ backend: 'webgpu' }).createEmbedder(b, w);
console.log('create', (performance.now() - t).toFixed(0));
for (let i = 0; i < 2; i++) { t = performance.now(); await e.embed(formulaImages(2, 32)); console.log('embed', (performance.now() - t).toFixed(0)); }
if (process.argv[2] === 'compile-only') {
  const e2 = await tfjsRuntime({ backend: 'webgpu' }).createEmbedder(testBackbone('r', architectures.resnet50, { kind: 'pooled', dimension: 2048 }, 48), w);
  t = performance.now();
  tf.env().set('ENGINE_COMPILE_ONLY', true);
  try { await e2.embed(formulaImages(2, 48)); } catch (error) { console.log('compile-only embed threw', (error as Error).message.slice(0, 80)); }
  tf.env().set('ENGINE_COMPILE_ONLY', false);
  await (tf.backend() as unknown as { checkCompileCompletionAsync(): Promise<void> }).checkCompileCompletionAsync();
  console.log('parallel compile 48', (performance.now() - t).toFixed(0));
  t = performance.now(); await e2.embed(formulaImages(2, 48)); console.log('embed 48', (performance.now() - t).toFixed(0));
}
process.exit(0);
