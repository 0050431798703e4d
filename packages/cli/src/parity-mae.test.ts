// Full-size parity with PyTorch for MAE and RETFound through the whole user path: random weights saved by
// torch.save in the layout each publishes (MAE's pretraining file: the encoder under 'model'; RETFound's:
// encoder, decoder and mask token under 'model'), read without running any of it, mapped by
// @medssl/backbone-mae, embedded by `medssl embed` on onnxruntime and by runtime-tfjs (wasm), against the
// network of MAE's models_vit.py loaded as main_linprobe.py loads it. RETFound's ViT-L (a 1.3 GB file)
// runs on onnxruntime only: on runtime-tfjs (wasm) it agreed within 1.2e-6 but took a minute, over this
// file's share of the test budget.
import { join } from 'node:path';
import { describeCheckpointParity } from './__fixtures__/checkpoint-parity.js';

describeCheckpointParity(
  'full-size parity with PyTorch, from the MAE and RETFound checkpoint files',
  join(import.meta.dirname, '__fixtures__/reference_mae.py'),
  [
    { name: 'mae-vitb16', backbone: 'mae:vitb16', file: 'mae_pretrain_vit_base.pth' },
    // 160 pixels: a 10x10 grid, the stored 14x14 positions resampled as MAE's interpolate_pos_embed does.
    { name: 'mae-vitb16-160', backbone: 'mae:vitb16', file: 'mae_pretrain_vit_base.pth', resize: 183, crop: 160 },
    { name: 'mae-vitb16-global-pool', backbone: 'mae:vitb16-global-pool', file: 'mae_pretrain_vit_base.pth' },
    { name: 'retfound', backbone: 'mae:retfound', file: 'RETFound_mae_natureCFP.pth', tfjs: false },
  ],
);
