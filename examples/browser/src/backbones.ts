// The backbones the page offers, the input size, and reading a weights file into canonical weights.
import { dino } from '@medssl/backbone-dino';
import { simclr } from '@medssl/backbone-simclr';
import { random, randomWeights, supervised } from '@medssl/backbone-supervised';
import { swav } from '@medssl/backbone-swav';
import type { Backbone, CanonicalWeights, Preprocessing } from '@medssl/spec';
import { readCheckpoint } from '@medssl/weights';

export interface BackboneChoice {
  readonly id: string;
  /** What the selector shows. */
  readonly label: string;
  readonly create: () => Backbone;
}

export const BACKBONE_CHOICES: readonly BackboneChoice[] = [
  { id: 'supervised:resnet50', label: 'Supervised ResNet-50 (torchvision)', create: () => supervised() },
  { id: 'simclr:resnet50-1x', label: 'SimCLR v1 ResNet-50 (1x)', create: () => simclr({ variant: 'resnet50-1x' }) },
  { id: 'simclr:resnet50-2x', label: 'SimCLR v1 ResNet-50 (2x)', create: () => simclr({ variant: 'resnet50-2x' }) },
  { id: 'simclr:resnet50-4x', label: 'SimCLR v1 ResNet-50 (4x)', create: () => simclr({ variant: 'resnet50-4x' }) },
  { id: 'swav:resnet50', label: 'SwAV ResNet-50', create: () => swav() },
  { id: 'dino:resnet50', label: 'DINO ResNet-50', create: () => dino({ variant: 'resnet50' }) },
  { id: 'dino:vits16', label: 'DINO ViT-S/16', create: () => dino({ variant: 'vits16' }) },
  { id: 'dino:vits8', label: 'DINO ViT-S/8', create: () => dino({ variant: 'vits8' }) },
  { id: 'dino:vitb16', label: 'DINO ViT-B/16', create: () => dino({ variant: 'vitb16' }) },
  { id: 'dino:vitb8', label: 'DINO ViT-B/8', create: () => dino({ variant: 'vitb8' }) },
  { id: 'random:resnet50', label: 'Random ResNet-50 (no file needed)', create: () => random({ architecture: 'resnet50' }) },
];

export function backboneById(id: string): Backbone {
  const choice = BACKBONE_CHOICES.find((candidate) => candidate.id === id);
  if (choice === undefined)
    throw new RangeError(`unknown backbone ${JSON.stringify(id)}; available: ${BACKBONE_CHOICES.map((candidate) => candidate.id).join(', ')}`);
  return choice.create();
}

/** `random:*` backbones make their weights from a seed; every other backbone needs its checkpoint file. */
export function needsWeightsFile(backbone: Backbone): boolean {
  return backbone.method !== 'random';
}

/** The side of the square input the backbone's preprocessing crops to: 224 as the methods evaluate, or `withInputSize`'s. */
export function inputSideOf(backbone: Backbone): number {
  const crop = backbone.preprocessing.centerCrop;
  if (typeof crop === 'number') return crop;
  if (crop !== undefined) return crop[0];
  throw new Error(`${backbone.id}: its preprocessing has no centre crop`);
}

/**
 * The backbone at another input side: the evaluation transform keeps its shape (resize the shorter side
 * to size·256/224, centre-crop `size`), so 64 means resize to 73 and crop 64. Smaller inputs run much
 * faster and change the features: compare backbones only at one size. ViTs need a multiple of their
 * patch size (the runtime interpolates the position embeddings, as DINO does).
 */
export function withInputSize(backbone: Backbone, size: number): Backbone {
  if (!Number.isSafeInteger(size) || size < 32) throw new RangeError(`input size must be an integer of at least 32, got ${size}`);
  const { architecture } = backbone;
  if (architecture.family === 'vit' && size % architecture.patchSize !== 0) {
    throw new RangeError(`${backbone.id} takes inputs whose side is a multiple of its patch size ${architecture.patchSize}; got ${size}`);
  }
  if (size === inputSideOf(backbone)) return backbone;
  const original = backbone.preprocessing;
  const resizeSide = Math.round((size * 256) / 224);
  const preprocessing: Preprocessing = {
    ...original,
    ...(original.resize ? { resize: { ...original.resize, size: resizeSide } } : {}),
    centerCrop: size,
  };
  return { ...backbone, preprocessing };
}

/** What the page records about the weights a run used. */
export interface WeightsFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Canonical weights for a backbone: from its checkpoint file (PyTorch zip or legacy, or safetensors; read
 * without running any pickled code), or seeded random ones for `random:*`. The SHA-256 of the file goes
 * into the results, so a run states exactly which weights it used.
 */
export async function loadWeights(backbone: Backbone, file: WeightsFile | undefined, seed: number): Promise<CanonicalWeights> {
  if (!needsWeightsFile(backbone)) return randomWeights(backbone, seed);
  if (file === undefined) {
    const official = backbone.checkpoints.map((checkpoint) => checkpoint.file).join(' or ');
    throw new Error(`${backbone.id} needs its weights file${official ? ` (${official})` : ''}`);
  }
  const stateDict = await readCheckpoint(file.bytes, file.name);
  return backbone.fromStateDict(stateDict, { sha256: await sha256Hex(file.bytes), source: file.name });
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
