// WebGPU for real, in Node: Dawn on SwiftShader (correct, not fast: tiny inputs), against PyTorch and
// onnxruntime. Its own file: vitest runs each file in its own process, and switching tfjs backends within
// one process is fragile.
import { parityDescription } from '@medssl/parity';
import { afterAll, describe, it } from 'vitest';
import { describeOperationChecks } from './__fixtures__/operation-checks.js';
import { describeOnnxParity } from './__fixtures__/parity-checks.js';
import { measurements } from './__fixtures__/reference.js';
import { smallVit } from './__fixtures__/training-checks.js';
import { skipReason } from './__fixtures__/webgpu-skip.js';

const registersVit = parityDescription().cases.find((parityCase) => parityCase.id === 'reg4/size-antialias/cls-last-4/42')!.architecture;

const measured = measurements('webgpu (Dawn on SwiftShader) against references (max |difference| / max |reference|)');
afterAll(() => measured.print());

if (skipReason) {
  describe('webgpu', () => it.skip(`skipped: ${skipReason}`, () => {}));
} else {
  // ResNet's training operations one by one; whole models in inference (SwiftShader runs each of
  // ResNet-50's convolutions in about 0.2 s even at 32x32, so one image).
  describeOperationChecks('webgpu', measured.record);
  describeOnnxParity(
    'webgpu',
    [
      { architecture: 'resnet50', embedding: 'pooled', size: 32, batch: 1 },
      // The training fixtures' small ViT (patch 16, width 192, depth 4), positions resampled.
      { architecture: { name: 'small ViT', architecture: smallVit }, embedding: 'cls-last-4', size: 80, batch: 2 },
      // SwiGLU, LayerScale, registers, antialiased positions; class tokens, patch mean and the plain output norm.
      { architecture: { name: 'registers ViT', architecture: registersVit }, embedding: { kind: 'tokens', classTokens: 4, patchMean: true, tokenNorm: 'final', outputNorm: 'plain' }, size: 42, batch: 2 },
    ],
    measured.record,
  );
}
