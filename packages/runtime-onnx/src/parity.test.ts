// Parity with PyTorch: every case of @medssl/parity (torchvision ResNets, DINO's ViT-S/16, a DINOv2-style
// ViT with SwiGLU, LayerScale and registers under every position rule and token embedding), built from
// the same closed-form weights as the PyTorch reference networks.
import { describeRuntimeParity, parityDescription } from '@medssl/parity';
import { onnxRuntime } from './runtime.js';

describeRuntimeParity('onnx, fused Attention', () => onnxRuntime());

// Attention from standard operators, as `buildOnnxModel` saves models by default: DINO's ViT-S/16 once,
// the small ViT's cases (quick to build) all again.
const sameAsFused = parityDescription().cases.filter((parityCase) => parityCase.weights !== 'reg4' && parityCase.id !== 'vits16/cls-last-4/224');
describeRuntimeParity('onnx, standard-operator attention', () => onnxRuntime({ fusedAttention: false }), {
  skip: Object.fromEntries(
    sameAsFused.map((parityCase) => [
      parityCase.id,
      parityCase.architecture.family === 'resnet' ? 'a ResNet has no attention' : 'its attention is checked once, at 224',
    ]),
  ),
});
