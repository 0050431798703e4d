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
    // ViT-B (86M weights) and SimCLR's 2x ResNet-50 (94M): about a minute to build twice and embed, so only
    // on request (MEDSSL_TEST_LARGE_MODELS=1); they differ from the models above only in their widths.
    ...(process.env.MEDSSL_TEST_LARGE_MODELS === '1'
      ? [
          { architecture: 'vitb8' as const, embedding: 'cls' as const, size: 40, batch: 2 },
          { architecture: 'resnet50x2' as const, embedding: 'pooled' as const, size: 32, batch: 2 },
        ]
      : []),
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
