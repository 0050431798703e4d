// WebGPU for real, in Node: Dawn on SwiftShader (correct, not fast: tiny inputs), against PyTorch and
// onnxruntime. Its own file: vitest runs each file in its own process, and switching tfjs backends within
// one process is fragile.
import { afterAll, describe, it } from 'vitest';
import { describeOperationChecks } from './__fixtures__/operation-checks.js';
import { describeOnnxParity } from './__fixtures__/parity-checks.js';
import { measurements } from './__fixtures__/reference.js';
import { describeTrainingChecks, smallVit } from './__fixtures__/training-checks.js';
import { skipReason } from './__fixtures__/webgpu-skip.js';

const measured = measurements('webgpu (Dawn on SwiftShader) against references (max |difference| / max |reference|)');
afterAll(() => measured.print());

if (skipReason) {
  describe('webgpu', () => it.skip(`skipped: ${skipReason}`, () => {}));
} else {
  describeOperationChecks('webgpu', measured.record);
  describeTrainingChecks('webgpu', { resnet: false, cases: ['vit_frozen2'], record: measured.record });
  describeOnnxParity(
    'webgpu',
    [
      { architecture: 'resnet50', embedding: 'pooled', size: 32, batch: 2 },
      // The fixtures' small ViT (its programs are compiled by then: SwiftShader compiles slowly).
      { architecture: { name: 'small ViT', architecture: smallVit }, embedding: 'cls-last-4', size: 80, batch: 2 },
    ],
    measured.record,
  );
}
