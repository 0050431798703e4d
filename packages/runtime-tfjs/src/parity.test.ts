import { afterAll } from 'vitest';
import { describeOnnxParity, describePyTorchParity } from './__fixtures__/parity-checks.js';
import { measurements } from './__fixtures__/reference.js';

const measured = measurements('inference parity (max |difference| / max |reference|)');
afterAll(() => measured.print());

// Full size against PyTorch on wasm; the other DINO ViTs against onnxruntime at small sizes.
describePyTorchParity('wasm', measured.record);
describeOnnxParity(
  'wasm',
  [
    { architecture: 'vits8', embedding: 'cls-last-4', size: 64, batch: 2 },
    { architecture: 'vitb8', embedding: 'cls', size: 40, batch: 2 },
    // SimCLR's wider ResNets build and embed 94M-375M weights: about 30 s for 2x, so only on request.
    ...(process.env.MEDSSL_TEST_WIDE_RESNETS === '1' ? [{ architecture: 'resnet50x2' as const, embedding: 'pooled', size: 32, batch: 2 }] : []),
  ],
  measured.record,
);
// The cpu backend is about 40x slower than wasm: small inputs.
describeOnnxParity(
  'cpu',
  [
    { architecture: 'resnet50', embedding: 'pooled', size: 32, batch: 2 },
    { architecture: 'vits16', embedding: 'cls-last-4', size: 48, batch: 2 },
  ],
  measured.record,
);
