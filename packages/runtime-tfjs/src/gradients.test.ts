import { afterAll } from 'vitest';
import { measurements } from './__fixtures__/reference.js';
import { describeTrainingChecks } from './__fixtures__/training-checks.js';

const measured = measurements('train- and eval-mode gradients against PyTorch float64 (max |difference| / max |reference|)');
afterAll(() => measured.print());

describeTrainingChecks('wasm', { resnet: true, record: measured.record });
// The cpu backend runs ResNet-50's training step in minutes: there its operations are checked one by one
// (operations.test.ts) and the ViT whole.
describeTrainingChecks('cpu', { resnet: false, record: measured.record });
