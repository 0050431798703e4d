// Node-only parts of @medssl/protocol-finetune: checkpoints as files. The main entry stays free of Node built-ins.
import type { CheckpointStore } from '@medssl/training';
import { fileCheckpointStore as trainingFileCheckpointStore } from '@medssl/training/node';
import { CHECKPOINT_FORMAT } from './checkpoint.js';

export { SIDECAR_FILE } from '@medssl/training/node';

/**
 * Finetuning checkpoints as files (`fileCheckpointStore` of `@medssl/training/node` for the format
 * `medssl.finetune-checkpoint/v1`), one folder per run: each epoch's tensors (backbone under
 * `backbone.<canonical name>`, `head.weight`, `head.bias`, AdamW's `adamw.first.<i>` and
 * `adamw.second.<i>`) in `epoch-<n>.npz`, and `checkpoint.json` beside it.
 */
export function fileCheckpointStore(folder: string): CheckpointStore {
  return trainingFileCheckpointStore(folder, { format: CHECKPOINT_FORMAT });
}
