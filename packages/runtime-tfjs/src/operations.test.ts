import { afterAll } from 'vitest';
import { describeOperationChecks } from './__fixtures__/operation-checks.js';
import { measurements } from './__fixtures__/reference.js';

const measured = measurements('custom-gradient operations against PyTorch float64 (max |difference| / max |reference|)');
afterAll(() => measured.print());

// wasm rewrites the gradients for XNNPACK; cpu uses tfjs' own backprop kernels: both must match PyTorch.
describeOperationChecks('wasm', measured.record);
describeOperationChecks('cpu', measured.record);
