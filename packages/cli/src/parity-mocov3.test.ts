import { join } from 'node:path';
import { describeCheckpointParity } from './__fixtures__/checkpoint-parity.js';

// MoCo v3's pretraining checkpoints (base and momentum encoders, projector, predictor, optimizer state) and
// Barlow Twins' backbone file, from the networks of moco-v3's vits.py and torchvision's resnet50.
describeCheckpointParity(
  'full-size parity with PyTorch, from the MoCo v3 and Barlow Twins checkpoint files',
  join(import.meta.dirname, '__fixtures__/reference_mocov3.py'),
  [
    { name: 'mocov3-resnet50', backbone: 'mocov3:resnet50', file: 'r-50-1000ep.pth.tar' },
    { name: 'mocov3-vits16', backbone: 'mocov3:vits16', file: 'vit-s-300ep.pth.tar' },
    // Another patch grid: MoCo v3 makes its sine-cosine table anew for 10x10 patches.
    { name: 'mocov3-vits16-160', backbone: 'mocov3:vits16', file: 'vit-s-300ep.pth.tar', resize: 183, crop: 160 },
    { name: 'barlowtwins-resnet50', backbone: 'barlowtwins:resnet50', file: 'resnet50.pth' },
  ],
);
