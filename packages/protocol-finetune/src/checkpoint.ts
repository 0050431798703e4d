// Finetuning's checkpoints: the store and its files are @medssl/training's; what is finetuning's is the
// format name and how the model's tensors are named in it.

export const CHECKPOINT_FORMAT = 'medssl.finetune-checkpoint/v1';

/** Tensor name prefixes of the model in a checkpoint: the backbone's canonical names, the head. */
export const BACKBONE_PREFIX = 'backbone.';
export const HEAD_PREFIX = 'head.';
