// tfjs against onnxruntime on the architectures the PyTorch fixtures do not hold. Here, beside the other
// checks across packages, not in either runtime's tests: a runtime plugin never depends on another runtime
// (and @medssl/parity, which both runtimes' tests use, depends on neither).
import { describeRuntimeAgreement, type AgreementCase } from '../packages/parity/src/index.js';
import { onnxRuntime } from '../packages/runtime-onnx/src/index.js';
import { tfjsRuntime } from '../packages/runtime-tfjs/src/index.js';

const cases: AgreementCase[] = [
  { architecture: 'vits8', embedding: 'cls-last-4', size: 64, batch: 2 },
  // ViT-B (86M weights) and SimCLR's 2x ResNet-50 (94M): about a minute to build twice and embed, so only
  // on request (MEDSSL_TEST_LARGE_MODELS=1); they differ from the models above only in their widths.
  ...(process.env.MEDSSL_TEST_LARGE_MODELS === '1'
    ? [
        { architecture: 'vitb8' as const, embedding: 'cls' as const, size: 40, batch: 2 },
        { architecture: 'resnet50x2' as const, embedding: 'pooled' as const, size: 32, batch: 2 },
      ]
    : []),
];
describeRuntimeAgreement(
  { runtime: 'tfjs-wasm', reference: 'onnxruntime' },
  () => tfjsRuntime({ backend: 'wasm' }),
  () => onnxRuntime({ threads: 1 }),
  cases,
  console.log,
);
