import { truncateText } from '@medssl/arrays';
import { createRng } from '@medssl/core';
import type { Architecture, CanonicalWeights, PositionResampling, ResNetArchitecture, Tensor, VisionTransformerArchitecture } from '@medssl/spec';

/** DINO's position resampling: bicubic with the grid offset of 0.1, no antialiasing. */
export const DINO_POSITION_RESAMPLING = { mode: 'bicubic', offset: 0.1, antialias: false } as const satisfies PositionResampling;

const BOTTLENECK_EXPANSION = 4;
const RESNET_BLOCKS = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
} as const satisfies Record<number, ResNetArchitecture['blocks']>;

/** torchvision's ResNet-50, -101 or -152, at SimCLR's width multipliers. */
export function resnetArchitecture(depth: keyof typeof RESNET_BLOCKS, widthMultiplier = 1): ResNetArchitecture {
  const blocks = RESNET_BLOCKS[depth];
  if (!blocks) throw new RangeError(`ResNet-${depth}: known depths are ${Object.keys(RESNET_BLOCKS).join(', ')}`);
  if (!Number.isSafeInteger(widthMultiplier) || widthMultiplier < 1)
    throw new RangeError(`ResNet width multiplier must be a positive integer, got ${widthMultiplier}`);
  return { family: 'resnet', blocks, width: 64 * widthMultiplier };
}

/**
 * A ViT description with DINO's defaults for what is not given: GELU MLP of 4x the width, no LayerScale,
 * no registers, LayerNorm epsilon 1e-6, positions for 224-pixel inputs resampled as DINO does.
 */
export function vitArchitecture(
  fields: Pick<VisionTransformerArchitecture, 'patchSize' | 'embedDim' | 'depth' | 'heads'> & Partial<Omit<VisionTransformerArchitecture, 'family'>>,
): VisionTransformerArchitecture {
  const { patchSize, embedDim, depth, heads } = fields;
  return {
    family: 'vit',
    patchSize,
    embedDim,
    depth,
    heads,
    mlp: fields.mlp ?? { kind: 'gelu', hidden: 4 * embedDim },
    layerScale: fields.layerScale ?? false,
    registers: fields.registers ?? 0,
    layerNormEpsilon: fields.layerNormEpsilon ?? 1e-6,
    positions: fields.positions ?? { grid: Math.floor(224 / patchSize), resampling: DINO_POSITION_RESAMPLING },
  };
}

/**
 * Named architectures of the backbones of today. Canonical tensor names are those of the official code:
 * - ResNet: torchvision's `resnet50` state dict without the classifier (`fc.*`) and without
 *   `num_batches_tracked` (`conv1.weight`, `bn1.running_mean`, `layer3.5.conv2.weight`, ...). Wider SimCLR
 *   variants multiply every channel count, the stem's included.
 * - ViT: DINO's and DINOv2's `VisionTransformer` state dict without the head (`cls_token`, `pos_embed`,
 *   `register_tokens`, `patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, `blocks.0.ls1.gamma`,
 *   `blocks.0.mlp.fc1.weight` or `blocks.0.mlp.w12.weight`, `norm.weight`, ...).
 */
export const architectures = {
  resnet50: resnetArchitecture(50),
  resnet50x2: resnetArchitecture(50, 2),
  resnet50x4: resnetArchitecture(50, 4),
  resnet101: resnetArchitecture(101),
  resnet152: resnetArchitecture(152),
  vits16: vitArchitecture({ patchSize: 16, embedDim: 384, depth: 12, heads: 6 }),
  vits8: vitArchitecture({ patchSize: 8, embedDim: 384, depth: 12, heads: 6 }),
  vitb16: vitArchitecture({ patchSize: 16, embedDim: 768, depth: 12, heads: 12 }),
  vitb8: vitArchitecture({ patchSize: 8, embedDim: 768, depth: 12, heads: 12 }),
} as const satisfies Record<string, Architecture>;

const BATCH_NORM_PARTS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Canonical names and shapes, in the order the network uses them (a model file has none). */
export function canonicalTensorShapes(architecture: Architecture): Map<string, readonly number[]> {
  if (architecture.family === 'resnet') return resnetShapes(architecture);
  if (architecture.family === 'vit') return vitShapes(architecture);
  return new Map();
}

/** Layers of a ResNet: 2 (stem and classifier) plus 3 per bottleneck; 50 for ResNet-50. */
export function resnetDepth(architecture: ResNetArchitecture): number {
  return 2 + 3 * architecture.blocks.reduce((sum, count) => sum + count, 0);
}

function resnetShapes(architecture: ResNetArchitecture): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const batchNorm = (prefix: string, channels: number) => {
    for (const part of BATCH_NORM_PARTS) shapes.set(`${prefix}.${part}`, [channels]);
  };
  const stem = architecture.width;
  shapes.set('conv1.weight', [stem, 3, 7, 7]);
  batchNorm('bn1', stem);
  let inputChannels = stem;
  architecture.blocks.forEach((blocks, stage) => {
    const planes = architecture.width * 2 ** stage;
    const outputChannels = planes * BOTTLENECK_EXPANSION;
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
  const { embedDim: width, patchSize, depth, mlp, registers, layerScale } = architecture;
  const grid = architecture.positions.grid;
  const shapes = new Map<string, readonly number[]>([
    ['cls_token', [1, 1, width]],
    ['pos_embed', [1, grid * grid + 1, width]],
  ]);
  if (registers > 0) shapes.set('register_tokens', [1, registers, width]);
  shapes.set('patch_embed.proj.weight', [width, 3, patchSize, patchSize]);
  shapes.set('patch_embed.proj.bias', [width]);
  for (let block = 0; block < depth; block++) {
    const prefix = `blocks.${block}`;
    shapes.set(`${prefix}.norm1.weight`, [width]);
    shapes.set(`${prefix}.norm1.bias`, [width]);
    shapes.set(`${prefix}.attn.qkv.weight`, [3 * width, width]);
    shapes.set(`${prefix}.attn.qkv.bias`, [3 * width]);
    shapes.set(`${prefix}.attn.proj.weight`, [width, width]);
    shapes.set(`${prefix}.attn.proj.bias`, [width]);
    if (layerScale) shapes.set(`${prefix}.ls1.gamma`, [width]);
    shapes.set(`${prefix}.norm2.weight`, [width]);
    shapes.set(`${prefix}.norm2.bias`, [width]);
    if (mlp.kind === 'gelu') {
      shapes.set(`${prefix}.mlp.fc1.weight`, [mlp.hidden, width]);
      shapes.set(`${prefix}.mlp.fc1.bias`, [mlp.hidden]);
      shapes.set(`${prefix}.mlp.fc2.weight`, [width, mlp.hidden]);
      shapes.set(`${prefix}.mlp.fc2.bias`, [width]);
    } else {
      shapes.set(`${prefix}.mlp.w12.weight`, [2 * mlp.hidden, width]);
      shapes.set(`${prefix}.mlp.w12.bias`, [2 * mlp.hidden]);
      shapes.set(`${prefix}.mlp.w3.weight`, [width, mlp.hidden]);
      shapes.set(`${prefix}.mlp.w3.bias`, [width]);
    }
    if (layerScale) shapes.set(`${prefix}.ls2.gamma`, [width]);
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
    if (!shape) throw new Error(`${source}: unexpected tensor ${truncateText(name)} for a ${describeArchitecture(architecture)}`);
    if (shape.join() !== tensor.shape.join()) {
      throw new Error(`${source}: tensor ${name} should have shape [${shape.join(', ')}], got [${truncateText(tensor.shape.join(', '))}]`);
    }
    const count = shape.reduce((product, extent) => product * extent, 1);
    if (tensor.data.length !== count) throw new Error(`${source}: tensor ${name} of shape [${shape.join(', ')}] holds ${tensor.data.length} values`);
  }
}

/**
 * Whether two descriptions name the same network, field by field and nested fields too: descriptions
 * written apart (a literal, a JSON file, a backbone package's constant) are the same when their fields are.
 */
export function sameArchitecture(first: Architecture, second: Architecture): boolean {
  const same = (left: unknown, right: unknown): boolean => {
    if (left === right) return true;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null || Array.isArray(left) !== Array.isArray(right)) return false;
    const fields = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...fields].every((field) => same((left as Record<string, unknown>)[field], (right as Record<string, unknown>)[field]));
  };
  return same(first, second);
}

export function describeArchitecture(architecture: Architecture): string {
  if (architecture.family === 'model-file') return `${architecture.format.toUpperCase()} model file ${architecture.path}`;
  if (architecture.family === 'resnet') return `ResNet-${resnetDepth(architecture)} (${architecture.width / 64}x width)`;
  const { patchSize, embedDim, depth, heads, mlp, layerScale, registers, positions } = architecture;
  // Fields at DINO's defaults are left out, so the DINO ViTs keep the names their random weights were made under.
  const extras = [
    mlp.kind === 'swiglu' ? `SwiGLU MLP ${mlp.hidden}` : mlp.hidden !== 4 * embedDim ? `MLP ${mlp.hidden}` : undefined,
    layerScale ? 'LayerScale' : undefined,
    registers > 0 ? `${registers} registers` : undefined,
    positions.grid * patchSize !== 224 ? `positions for ${positions.grid}x${positions.grid} patches` : undefined,
  ].filter((part) => part !== undefined);
  return `ViT (patch ${patchSize}, width ${embedDim}, depth ${depth}, ${heads} heads${extras.map((part) => `, ${part}`).join('')})`;
}

/**
 * Multiply-adds of one forward pass on a `height` x `width` image: convolutions, linear layers and
 * attention's two products (norms, activations and softmax, a few percent, are left out), as papers count a
 * network's cost: 4.1 G for ResNet-50 and 17.6 G for ViT-B/16 at 224. `undefined` for a model file.
 */
export function multiplyAdds(architecture: Architecture, height: number, width: number): number | undefined {
  if (architecture.family === 'model-file') return undefined;
  if (architecture.family === 'resnet') return resnetMultiplyAdds(architecture, height, width);
  const { patchSize, embedDim, depth, mlp, registers } = architecture;
  const patches = Math.floor(height / patchSize) * Math.floor(width / patchSize);
  const tokens = 1 + registers + patches;
  const mlpCost = mlp.kind === 'swiglu' ? 3 * tokens * embedDim * mlp.hidden : 2 * tokens * embedDim * mlp.hidden;
  const block = 4 * tokens * embedDim * embedDim + 2 * tokens * tokens * embedDim + mlpCost;
  return patches * 3 * patchSize * patchSize * embedDim + depth * block;
}

function resnetMultiplyAdds(architecture: ResNetArchitecture, height: number, width: number): number {
  const out = (size: number, kernel: number, stride: number, padding: number) => Math.floor((size + 2 * padding - kernel) / stride) + 1;
  let h = out(height, 7, 2, 3);
  let w = out(width, 7, 2, 3);
  let total = h * w * architecture.width * 3 * 49;
  h = out(h, 3, 2, 1);
  w = out(w, 3, 2, 1);
  let channels = architecture.width;
  architecture.blocks.forEach((count, stage) => {
    const inner = architecture.width * 2 ** stage;
    for (let block = 0; block < count; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const h2 = out(h, 3, stride, 1);
      const w2 = out(w, 3, stride, 1);
      total += h * w * channels * inner + h2 * w2 * inner * inner * 9 + h2 * w2 * inner * 4 * inner;
      if (block === 0) total += h2 * w2 * channels * 4 * inner;
      channels = 4 * inner;
      h = h2;
      w = w2;
    }
  });
  return total;
}

const VIT_SIZES: Readonly<Record<number, string>> = { 192: 'Ti', 384: 'S', 768: 'B', 1024: 'L', 1280: 'H', 1536: 'g' };

/**
 * The name people use for an architecture, for listings: `ResNet-50`, `ResNet-50 2x`, `ViT-B/14, 12 blocks,
 * no registers` (the size letter from the width, as the ViT papers name them).
 */
export function architectureName(architecture: Architecture): string {
  if (architecture.family === 'model-file') return describeArchitecture(architecture);
  if (architecture.family === 'resnet') {
    const multiple = architecture.width / 64;
    return `ResNet-${resnetDepth(architecture)}${multiple === 1 ? '' : ` ${multiple}x`}`;
  }
  const { embedDim, patchSize, depth, registers } = architecture;
  const size = VIT_SIZES[embedDim];
  return `${size ? `ViT-${size}/${patchSize}` : `ViT/${patchSize} width ${embedDim}`}, ${depth} blocks, ${registers > 0 ? `${registers} registers` : 'no registers'}`;
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
    else if (/(bn\d|downsample\.1|norm\d?)\.weight$/.test(name) || name.endsWith('.gamma')) draw = () => 0.75 + 0.5 * rng.next();
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
