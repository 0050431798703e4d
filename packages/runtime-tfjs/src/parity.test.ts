import { describeRuntimeParity, parityDescription } from '@medssl/parity';
import { tfjsRuntime } from './runtime.js';

// Every case of @medssl/parity against PyTorch on wasm; on the cpu backend (about 40x slower) the small
// models only: the ResNet-101 structure and the ViT with SwiGLU, LayerScale and registers.
describeRuntimeParity('tfjs-wasm', () => tfjsRuntime({ backend: 'wasm' }));
const fullSize = parityDescription().cases.filter((parityCase) => parityCase.weights === 'resnet50' || parityCase.weights === 'vits16');
describeRuntimeParity('tfjs-cpu', () => tfjsRuntime({ backend: 'cpu' }), {
  skip: Object.fromEntries(fullSize.map((parityCase) => [parityCase.id, 'full-size model; the cpu backend is about 40x slower than wasm, which runs it'])),
});
