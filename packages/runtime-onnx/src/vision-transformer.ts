import type { VisionTransformerArchitecture } from '@medssl/spec';
import { positionTableForInput } from '@medssl/weights';
import { attribute, GraphBuilder } from './graph-builder.js';
import { requireTensor, transposeMatrix, type TensorSource } from './tensors.js';

/** DINO builds its ViTs with `partial(nn.LayerNorm, eps=1e-6)`. */
const LAYER_NORM_EPSILON = 1e-6;
/** Blocks whose class tokens DINO's linear evaluation concatenates (`n_last_blocks=4`). */
const LAST_BLOCKS = 4;

export type VisionTransformerEmbedding = 'cls' | 'cls-last-4';

/** onnxruntime's contrib operators: `Attention` does the qkv projection and multi-head attention in one kernel. */
const CONTRIB_DOMAIN = 'com.microsoft';

/**
 * A ViT in DINO's layout (pre-norm blocks, fused qkv, exact GELU), for inputs of one fixed size. Input
 * `image` `[batch, 3, height, width]`; output `embedding`: the class token after the final norm (`cls`,
 * `[batch, width]`), or the class tokens of the last 4 blocks, each after the final norm, concatenated
 * in block order (`cls-last-4`, `[batch, 4·width]`).
 */
export function buildVisionTransformerGraph(
  architecture: VisionTransformerArchitecture,
  tensors: TensorSource,
  imageHeight: number,
  imageWidth: number,
  embedding: VisionTransformerEmbedding,
  options: { readonly fusedAttention?: boolean } = {},
): GraphBuilder {
  const { embedDim: width, patchSize, depth, heads } = architecture;
  const headWidth = width / heads;
  if (!Number.isInteger(headWidth)) throw new Error(`a width of ${width} does not split into ${heads} heads`);
  if (embedding === 'cls-last-4' && depth < LAST_BLOCKS) throw new Error(`cls-last-4 needs at least ${LAST_BLOCKS} blocks, the ViT has ${depth}`);
  const { mlp, layerScale, registers } = architecture;
  if (mlp.kind !== 'gelu' || layerScale || registers > 0) throw new Error(`the ONNX ViT graph does not build SwiGLU, LayerScale or register tokens yet (${JSON.stringify({ mlp: mlp.kind, layerScale, registers })})`);
  const hidden = mlp.hidden;
  const rows = Math.floor(imageHeight / patchSize);
  const columns = Math.floor(imageWidth / patchSize);
  const graph = new GraphBuilder(`vit_p${patchSize}_d${width}_${imageHeight}x${imageWidth}`);
  const tensor = (name: string) => requireTensor(tensors, name);

  // Constants shared by every block.
  const classIndex = graph.integers('constant.class_index', [0], []);
  const queryScale = headWidth ** -0.5;
  const squareRootOfTwo = graph.scalar('constant.sqrt_2', Math.SQRT2);
  const one = graph.scalar('constant.one', 1);
  const half = graph.scalar('constant.half', 0.5);

  const layerNorm = (name: string, input: string, parameters: string) =>
    graph.node('LayerNormalization', name, [input, graph.weight(`${name}.weight`, tensor(`${parameters}.weight`).data, [width]), graph.weight(`${name}.bias`, tensor(`${parameters}.bias`).data, [width])], {
      axis: attribute.int(-1),
      epsilon: attribute.float(LAYER_NORM_EPSILON),
    });
  /** PyTorch's `Linear` (`y = x·Wᵀ + b`) as a MatMul on the transposed weight and an Add. */
  const linear = (name: string, input: string, weight: Float32Array, bias: Float32Array, inputs: number, outputs: number) => {
    const product = graph.node('MatMul', `${name}.matmul`, [input, graph.weight(`${name}.weight`, transposeMatrix(weight, outputs, inputs), [inputs, outputs])]);
    return graph.node('Add', name, [product, graph.weight(`${name}.bias`, bias, [outputs])]);
  };
  /** GELU with erf, in the shape onnxruntime fuses into one kernel: x·½·(1 + erf(x/√2)). */
  const gelu = (name: string, input: string) => {
    const errorFunction = graph.node('Erf', `${name}.erf`, [graph.node('Div', `${name}.div`, [input, squareRootOfTwo])]);
    const gate = graph.node('Mul', `${name}.gate`, [input, graph.node('Add', `${name}.add`, [errorFunction, one])]);
    return graph.node('Mul', name, [gate, half]);
  };

  /**
   * Multi-head attention from standard operators. The fused qkv weight is split into three linears: their
   * outputs reshape straight into heads, which saves transposing and splitting the fused [batch, tokens,
   * 3·width] output. q's rows are pre-scaled by 1/√(head width), exact for power-of-two head widths (64 in
   * every DINO ViT), so q·kᵀ needs no separate scaling. Returns the heads merged back, [batch, tokens, width].
   */
  let shapes: { heads: string; tokens: string } | undefined;
  const plainAttention = (prefix: string, normalised: string, qkvWeight: Float32Array, qkvBias: Float32Array) => {
    shapes ??= { heads: graph.integers('constant.heads_shape', [0, 0, heads, headWidth]), tokens: graph.integers('constant.tokens_shape', [0, 0, width]) };
    const { heads: headsShape, tokens: tokensShape } = shapes;
    const headsOf = (part: 'q' | 'k' | 'v', perm: readonly number[]) => {
      const index = ['q', 'k', 'v'].indexOf(part);
      const scale = part === 'q' ? queryScale : 1;
      const weight = qkvWeight.slice(index * width * width, (index + 1) * width * width).map((value) => value * scale);
      const bias = qkvBias.slice(index * width, (index + 1) * width).map((value) => value * scale);
      const projected = linear(`${prefix}.attn.${part}`, normalised, weight, bias, width, width);
      const heads = graph.node('Reshape', `${prefix}.attn.${part}_heads`, [projected, headsShape]);
      return graph.node('Transpose', `${prefix}.attn.${part}_transposed`, [heads], { perm: attribute.ints(perm) });
    };
    const query = headsOf('q', [0, 2, 1, 3]); // [batch, heads, tokens, head width]
    const keyTransposed = headsOf('k', [0, 2, 3, 1]); // [batch, heads, head width, tokens]
    const value = headsOf('v', [0, 2, 1, 3]);
    const scores = graph.node('MatMul', `${prefix}.attn.scores`, [query, keyTransposed]);
    const weights = graph.node('Softmax', `${prefix}.attn.softmax`, [scores], { axis: attribute.int(-1) });
    const context = graph.node('MatMul', `${prefix}.attn.context`, [weights, value]);
    const contextTokens = graph.node('Transpose', `${prefix}.attn.context_tokens`, [context], { perm: attribute.ints([0, 2, 1, 3]) });
    return graph.node('Reshape', `${prefix}.attn.merged`, [contextTokens, tokensShape]);
  };
  /**
   * The same through onnxruntime's `Attention` contrib operator: the qkv projection (weight `[width,
   * 3·width]`, q | k | v columns), scaling by 1/√(head width), softmax and the heads' merge in one kernel.
   */
  const fusedAttention = (prefix: string, normalised: string, qkvWeight: Float32Array, qkvBias: Float32Array) =>
    graph.domainNode(CONTRIB_DOMAIN, 1, 'Attention', `${prefix}.attn`, [
      normalised,
      graph.weight(`${prefix}.attn.qkv.weight`, transposeMatrix(qkvWeight, 3 * width, width), [width, 3 * width]),
      graph.weight(`${prefix}.attn.qkv.bias`, qkvBias, [3 * width]),
    ], { num_heads: attribute.int(heads) });

  // Tokens: patch embeddings, class token in front, positions added.
  const image = graph.input('image', ['batch', 3, imageHeight, imageWidth]);
  const patchKernel = tensor('patch_embed.proj.weight');
  const patches = graph.node('Conv', 'patch_embed.proj', [image, graph.weight('patch_embed.proj.weight', patchKernel.data, patchKernel.shape), graph.weight('patch_embed.proj.bias', tensor('patch_embed.proj.bias').data, [width])], {
    kernel_shape: attribute.ints([patchSize, patchSize]),
    strides: attribute.ints([patchSize, patchSize]),
  });
  const flatPatches = graph.node('Reshape', 'patch_embed.flatten', [patches, graph.integers('constant.patches_shape', [0, width, -1])]);
  const patchTokens = graph.node('Transpose', 'patch_embed.tokens', [flatPatches], { perm: attribute.ints([0, 2, 1]) });
  const positions = positionTableForInput({ positionEmbedding: tensor('pos_embed').data, width, patchSize, imageHeight, imageWidth });
  const positionedPatches = graph.node('Add', 'patch_embed.positioned', [patchTokens, graph.weight('pos_embed.patches', positions.slice(width), [1, rows * columns, width])]);
  // The class token and its position are both constants: add them here, in float32 as PyTorch does.
  const classToken = tensor('cls_token').data;
  const positionedClassToken = Float32Array.from(classToken, (value, channel) => value + positions[channel]!);
  const batchSize = graph.node('Shape', 'image.batch_size', [image], { start: attribute.int(0), end: attribute.int(1) });
  const classTokenShape = graph.node('Concat', 'cls_token.batch_shape', [batchSize, graph.integers('constant.cls_token_shape', [1, width])], { axis: attribute.int(0) });
  const classTokens = graph.node('Expand', 'cls_token.batch', [graph.weight('cls_token.positioned', positionedClassToken, [1, 1, width]), classTokenShape]);
  let x = graph.node('Concat', 'tokens', [classTokens, positionedPatches], { axis: attribute.int(1) });

  const blockOutputs: string[] = [];
  for (let block = 0; block < depth; block++) {
    const prefix = `blocks.${block}`;
    // Attention, then its output projection and the residual.
    const qkvWeight = tensor(`${prefix}.attn.qkv.weight`).data;
    const qkvBias = tensor(`${prefix}.attn.qkv.bias`).data;
    const normalised = layerNorm(`${prefix}.norm1`, x, `${prefix}.norm1`);
    const attended = options.fusedAttention ? fusedAttention(prefix, normalised, qkvWeight, qkvBias) : plainAttention(prefix, normalised, qkvWeight, qkvBias);
    const projected = linear(`${prefix}.attn.proj`, attended, tensor(`${prefix}.attn.proj.weight`).data, tensor(`${prefix}.attn.proj.bias`).data, width, width);
    x = graph.node('Add', `${prefix}.attention_residual`, [x, projected]);
    // MLP.
    const mlpInput = layerNorm(`${prefix}.norm2`, x, `${prefix}.norm2`);
    const expanded = linear(`${prefix}.mlp.fc1`, mlpInput, tensor(`${prefix}.mlp.fc1.weight`).data, tensor(`${prefix}.mlp.fc1.bias`).data, width, hidden);
    const activated = gelu(`${prefix}.mlp.act`, expanded);
    const contracted = linear(`${prefix}.mlp.fc2`, activated, tensor(`${prefix}.mlp.fc2.weight`).data, tensor(`${prefix}.mlp.fc2.bias`).data, hidden, width);
    x = graph.node('Add', prefix, [x, contracted]);
    blockOutputs.push(x);
  }

  // Layer norm acts on each token alone, so taking the class token first and normalising it alone
  // gives DINO's `norm(x)[:, 0]` without normalising every patch token.
  const normalisedClassToken = (blockOutput: string, name: string) =>
    layerNorm(name, graph.node('Gather', `${name}.cls_token`, [blockOutput, classIndex], { axis: attribute.int(1) }), 'norm');
  if (embedding === 'cls') {
    const output = normalisedClassToken(x, 'embedding');
    graph.output(output, ['batch', width]);
  } else {
    const classTokens = blockOutputs.slice(-LAST_BLOCKS).map((blockOutput, index) => normalisedClassToken(blockOutput, `norm.block_${depth - LAST_BLOCKS + index}`));
    const output = graph.node('Concat', 'embedding', classTokens, { axis: attribute.int(1) });
    graph.output(output, ['batch', LAST_BLOCKS * width]);
  }
  return graph;
}
