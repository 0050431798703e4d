// WebGPU for real, in Node: Dawn on SwiftShader (correct, not fast: small models only), against PyTorch.
// Its own file: vitest runs each file in its own process, and switching tfjs backends within one process
// is fragile.
import { describeRuntimeParity, parityDescription } from '@medssl/parity';
import { afterAll, describe, it } from 'vitest';
import { describeOperationChecks } from './__fixtures__/operation-checks.js';
import { measurements } from './__fixtures__/reference.js';
import { tfjsRuntime } from './runtime.js';
import { skipReason } from './__fixtures__/webgpu-skip.js';

// SwiftShader runs each of ResNet-50's convolutions in about 0.2 s even at small sizes: the small models,
// and of the registers ViT one case per resampling rule and the embeddings with every token piece.
const SMALL = new Set([
  'resnet101-w16/pooled/64',
  'reg4/offset/cls-last-4/42',
  'reg4/size-antialias/cls-last-4/42',
  'reg4/size-antialias/cls+avgpool/98',
  'reg4/size-antialias/global-pool/98',
]);
const slow = parityDescription().cases.filter((parityCase) => !SMALL.has(parityCase.id));

const measured = measurements('webgpu (Dawn on SwiftShader) against references (max |difference| / max |reference|)');
afterAll(() => measured.print());

if (skipReason) {
  describe('webgpu', () => it.skip(`skipped: ${skipReason}`, () => {}));
} else {
  // ResNet's training operations one by one; whole small models in inference.
  describeOperationChecks('webgpu', measured.record);
  describeRuntimeParity('tfjs-webgpu', () => tfjsRuntime({ backend: 'webgpu' }), {
    skip: Object.fromEntries(slow.map((parityCase) => [parityCase.id, 'SwiftShader runs it too slowly; wasm and onnxruntime run it'])),
  });
}
