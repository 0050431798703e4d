// Full-size parity with PyTorch through the whole user path for the paper's backbones: the checkpoint file
// as each method publishes it (layout and file format), read without running any of it, mapped by the
// backbone package, embedded by `medssl embed` on onnxruntime and by runtime-tfjs (wasm).
import { join } from 'node:path';
import { describeCheckpointParity } from './__fixtures__/checkpoint-parity.js';

describeCheckpointParity(
  "full-size parity with PyTorch, from the paper methods' checkpoint files",
  join(import.meta.dirname, '__fixtures__/reference_paper.py'),
  [
    { name: 'supervised', backbone: 'supervised:resnet50', file: 'supervised.pth' },
    { name: 'simclr', backbone: 'simclr:resnet50-1x', file: 'simclr.pth' },
    { name: 'swav', backbone: 'swav:resnet50', file: 'swav.pth.tar' },
    { name: 'dino', backbone: 'dino:vits16', file: 'dino_full.pth' },
    { name: 'dino-160', backbone: 'dino:vits16', file: 'dino_full.pth', resize: 183, crop: 160 },
  ],
);
