import { describeRuntimeParity, parityDescription } from '@medssl/parity';
import { afterAll } from 'vitest';
import { describeOnnxParity } from './__fixtures__/parity-checks.js';
import { measurements } from './__fixtures__/reference.js';
import { tfjsRuntime } from './runtime.js';

// Every case of @medssl/parity against PyTorch on wasm; on the cpu backend (about 40x slower) the small
// models only: the ResNet-101 structure and the ViT with SwiGLU, LayerScale and registers.
describeRuntimeParity('tfjs-wasm', () => tfjsRuntime({ backend: 'wasm' }));
const fullSize = parityDescription().cases.filter((parityCase) => parityCase.weights === 'resnet50' || parityCase.weights === 'vits16');
describeRuntimeParity('tfjs-cpu', () => tfjsRuntime({ backend: 'cpu' }), {
  skip: Object.fromEntries(fullSize.map((parityCase) => [parityCase.id, 'full-size model; the cpu backend is about 40x slower than wasm, which runs it'])),
});

const measured = measurements('inference parity against onnxruntime (max |difference| / max |reference|)');
afterAll(() => measured.print());

// The other DINO ViTs against onnxruntime at small sizes.
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
