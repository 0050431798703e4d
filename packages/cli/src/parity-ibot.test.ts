// Full-size parity with PyTorch for @medssl/backbone-ibot through the whole user path: iBOT's ViT-S/16 from
// its `checkpoint_teacher.pth` layout and Phikon from a ViTModel `model.safetensors`, each at its own input
// size and at one that resamples the position table (iBOT with DINO's 0.1 offset, Phikon to the grid's size
// as transformers does), embedded by `medssl embed` on onnxruntime and by runtime-tfjs (wasm).
import { join } from 'node:path';
import { describeCheckpointParity } from './__fixtures__/checkpoint-parity.js';

describeCheckpointParity(
  'full-size parity with PyTorch, from the iBOT and Phikon checkpoint files',
  join(import.meta.dirname, '__fixtures__/reference_ibot.py'),
  [
    { name: 'ibot-vits16', backbone: 'ibot:vits16', file: 'ibot_vits16_teacher.pth' },
    { name: 'ibot-vits16-160', backbone: 'ibot:vits16', file: 'ibot_vits16_teacher.pth', resize: 183, crop: 160 },
    { name: 'phikon', backbone: 'ibot:phikon', file: 'phikon/model.safetensors' },
    { name: 'phikon-160', backbone: 'ibot:phikon', file: 'phikon/model.safetensors', resize: 183, crop: 160 },
  ],
);
