import { createRng } from '@medssl/core';
import type { Architecture, CanonicalWeights, ResNetArchitecture, Tensor, VisionTransformerArchitecture } from '@medssl/spec';

/**
 * Canonical tensor names: the layout every runtime builds from and every backbone package maps its
 * official checkpoint onto.
 * - ResNet: torchvision's `resnet50` state dict without the classifier (`fc.*`) and without
 *   `num_batches_tracked` (`conv1.weight`, `bn1.running_mean`, `layer3.5.conv2.weight`, ...). Wider SimCLR
 *   variants multiply every channel count, the stem's included.
 * - ViT: DINO's `VisionTransformer` state dict without the head (`cls_token`, `pos_embed`,
 *   `patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, `norm.weight`, ...).
 */
export const architectures = {
  resnet50: { family: 'resnet', depth: 50, widthMultiplier: 1 },
  resnet50x2: { family: 'resnet', depth: 50, widthMultiplier: 2 },
  resnet50x4: { family: 'resnet', depth: 50, widthMultiplier: 4 },
  vits16: { family: 'vit', patchSize: 16, embedDim: 384, depth: 12, heads: 6, mlpRatio: 4, imageSize: 224 },
  vits8: { family: 'vit', patchSize: 8, embedDim: 384, depth: 12, heads: 6, mlpRatio: 4, imageSize: 224 },
  vitb16: { family: 'vit', patchSize: 16, embedDim: 768, depth: 12, heads: 12, mlpRatio: 4, imageSize: 224 },
  vitb8: { family: 'vit', patchSize: 8, embedDim: 768, depth: 12, heads: 12, mlpRatio: 4, imageSize: 224 },
} as const satisfies Record<string, Architecture>;

const RESNET50_BLOCKS = [3, 4, 6, 3] as const;
const BATCH_NORM_PARTS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Canonical names and shapes, in the order the network uses them. */
export function canonicalTensorShapes(architecture: Architecture): Map<string, readonly number[]> {
  return architecture.family === 'resnet' ? resnetShapes(architecture) : vitShapes(architecture);
}

function resnetShapes(architecture: ResNetArchitecture): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const width = architecture.widthMultiplier;
  const batchNorm = (prefix: string, channels: number) => {
    for (const part of BATCH_NORM_PARTS) shapes.set(`${prefix}.${part}`, [channels]);
  };
  const stem = 64 * width;
  shapes.set('conv1.weight', [stem, 3, 7, 7]);
  batchNorm('bn1', stem);
  let inputChannels = stem;
  RESNET50_BLOCKS.forEach((blocks, stage) => {
    const planes = 64 * 2 ** stage * width;
    const outputChannels = planes * 4;
    for (let block = 0; block < blocks; block++) {
      const prefix = `layer${stage + 1}.${block}`;
      shapes.set(`${prefix}.conv1.weight`, [planes, inputChannels, 1, 1]);
      batchNorm(`${prefix}.bn1`, planes);
      shapes.set(`${prefix}.conv2.weight`, [planes, planes, 3, 3]);
      batchNorm(`${prefix}.bn2`, planes);
      shapes.set(`${prefix}.conv3.weight`, [outputChannels, planes, 1, 1]);
      batchNorm(`${prefix}.bn3`, outputChannels);
      if (block === 0) {
        shapes.set(`${prefix}.downsample.0.weight`, [outputChannels, inputChannels, 1, 1]);
        batchNorm(`${prefix}.downsample.1`, outputChannels);
      }
      inputChannels = outputChannels;
    }
  });
  return shapes;
}

function vitShapes(architecture: VisionTransformerArchitecture): Map<string, readonly number[]> {
  const { embedDim: width, patchSize, depth, mlpRatio, imageSize } = architecture;
  const hidden = Math.round(width * mlpRatio);
  const patches = (imageSize / patchSize) ** 2;
  const shapes = new Map<string, readonly number[]>([
    ['cls_token', [1, 1, width]],
    ['pos_embed', [1, patches + 1, width]],
    ['patch_embed.proj.weight', [width, 3, patchSize, patchSize]],
    ['patch_embed.proj.bias', [width]],
  ]);
  for (let block = 0; block < depth; block++) {
    const prefix = `blocks.${block}`;
    shapes.set(`${prefix}.norm1.weight`, [width]);
    shapes.set(`${prefix}.norm1.bias`, [width]);
    shapes.set(`${prefix}.attn.qkv.weight`, [3 * width, width]);
    shapes.set(`${prefix}.attn.qkv.bias`, [3 * width]);
    shapes.set(`${prefix}.attn.proj.weight`, [width, width]);
    shapes.set(`${prefix}.attn.proj.bias`, [width]);
    shapes.set(`${prefix}.norm2.weight`, [width]);
    shapes.set(`${prefix}.norm2.bias`, [width]);
    shapes.set(`${prefix}.mlp.fc1.weight`, [hidden, width]);
    shapes.set(`${prefix}.mlp.fc1.bias`, [hidden]);
    shapes.set(`${prefix}.mlp.fc2.weight`, [width, hidden]);
    shapes.set(`${prefix}.mlp.fc2.bias`, [width]);
  }
  shapes.set('norm.weight', [width]);
  shapes.set('norm.bias', [width]);
  return shapes;
}

/**
 * Checks a set of canonical tensors against an architecture: every name present with its shape and value
 * count, nothing extra. Errors name the tensor and the expected and actual shapes.
 */
export function checkCanonicalTensors(architecture: Architecture, tensors: ReadonlyMap<string, Tensor>, source: string): void {
  const expected = canonicalTensorShapes(architecture);
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) {
    throw new Error(`${source}: ${missing.length} canonical tensor(s) missing, first ${missing.slice(0, 3).join(', ')}`);
  }
  for (const [name, tensor] of tensors) {
    const shape = expected.get(name);
    if (!shape) throw new Error(`${source}: unexpected tensor ${name} for a ${describeArchitecture(architecture)}`);
    if (shape.join() !== tensor.shape.join()) {
      throw new Error(`${source}: tensor ${name} should have shape [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`);
    }
    const count = shape.reduce((product, extent) => product * extent, 1);
    if (tensor.data.length !== count) throw new Error(`${source}: tensor ${name} of shape [${shape.join(', ')}] holds ${tensor.data.length} values`);
  }
}

export function describeArchitecture(architecture: Architecture): string {
  return architecture.family === 'resnet'
    ? `ResNet-${architecture.depth} (${architecture.widthMultiplier}x width)`
    : `ViT (patch ${architecture.patchSize}, width ${architecture.embedDim}, depth ${architecture.depth}, ${architecture.heads} heads)`;
}

/**
 * Seeded random weights in the canonical layout, initialised the way torchvision and DINO initialise them
 * (He-normal convolutions, truncated-normal transformer weights), with batch-norm and layer-norm
 * statistics perturbed away from identity so tests exercise every parameter. For `random:*` backbones and
 * for tests; `sha256` is the hash of the recipe (generator version, architecture, seed) rather than of a file.
 */
export async function randomCanonicalWeights(architecture: Architecture, seed: number): Promise<CanonicalWeights> {
  const rng = createRng(seed).fork(`canonical-weights:${describeArchitecture(architecture)}`);
  const tensors = new Map<string, Tensor>();
  const fill = (shape: readonly number[], draw: () => number): Tensor => {
    const data = new Float32Array(shape.reduce((product, extent) => product * extent, 1));
    for (let index = 0; index < data.length; index++) data[index] = draw();
    return { data, shape };
  };
  const truncatedNormal = (std: number) => () => {
    let value = rng.normal();
    while (Math.abs(value) > 2) value = rng.normal();
    return value * std;
  };
  for (const [name, shape] of canonicalTensorShapes(architecture)) {
    let draw: () => number;
    if (name.endsWith('running_var')) draw = () => 0.5 + rng.next();
    else if (name.endsWith('running_mean')) draw = () => 0.1 * rng.normal();
    else if (/(bn\d|downsample\.1|norm\d?)\.weight$/.test(name)) draw = () => 0.75 + 0.5 * rng.next();
    else if (name.endsWith('.bias')) draw = () => 0.02 * rng.normal();
    else if (shape.length === 4 && architecture.family === 'resnet') {
      const fanOut = shape[0]! * shape[2]! * shape[3]!; // torchvision: kaiming_normal_(mode='fan_out', relu)
      draw = () => rng.normal() * Math.sqrt(2 / fanOut);
    } else draw = truncatedNormal(0.02);
    tensors.set(name, fill(shape, draw));
  }
  const recipe = `medssl-random-weights/v1 ${describeArchitecture(architecture)} seed=${seed}`;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(recipe));
  const sha256 = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  return { architecture, tensors, sha256, source: `random(seed=${seed})` };
}
