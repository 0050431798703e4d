import { embeddingDimension, type TokenEmbedding, type VisionTransformerArchitecture } from '@medssl/spec';
import { positionTableForInput } from '@medssl/weights';
import { attribute, GraphBuilder } from './graph-builder.js';
import { requireTensor, transposeMatrix, type TensorSource } from './tensors.js';

/** Which tokens form the embedding (see `TokenEmbedding` in `@medssl/spec`). */
export type VisionTransformerEmbedding = Omit<TokenEmbedding, 'kind' | 'dimension'>;

/** onnxruntime's contrib operators: `Attention` does the qkv projection and multi-head attention in one kernel. */
const CONTRIB_DOMAIN = 'com.microsoft';

/** A PyTorch `Linear` weight `[outputs, inputs]` with each output row scaled (LayerScale folded in), rounded once. */
function scaleRows(weight: Float32Array, scale: Float32Array): Float32Array {
  const inputs = weight.length / scale.length;
  return weight.map((value, index) => value * scale[Math.floor(index / inputs)]!);
}

/**
 * A ViT in the layout DINO, DINOv2 and MAE share (pre-norm blocks, fused qkv, exact-GELU or SwiGLU MLP,
 * optional LayerScale and register tokens), for inputs of one fixed size. Input `image` `[batch, 3,
 * height, width]`; output `embedding` `[batch, d]`: the class tokens of the last `classTokens` blocks in
 * block order, then the mean of the last block's patch tokens (registers left out), each through the
 * final norm with `tokenNorm: 'final'`, the whole through a LayerNorm without weights with `outputNorm:
 * 'plain'`.
 */
export function buildVisionTransformerGraph(
  architecture: VisionTransformerArchitecture,
  tensors: TensorSource,
  imageHeight: number,
  imageWidth: number,
  embedding: VisionTransformerEmbedding,
  options: { readonly fusedAttention?: boolean } = {},
): GraphBuilder {
  const { embedDim: width, patchSize, depth, heads, mlp, layerScale, registers, layerNormEpsilon } = architecture;
  const headWidth = width / heads;
  if (!Number.isInteger(headWidth)) throw new Error(`a width of ${width} does not split into ${heads} heads`);
  const dimension = embeddingDimension(architecture, { kind: 'tokens', ...embedding })!;
  const rows = Math.floor(imageHeight / patchSize);
  const columns = Math.floor(imageWidth / patchSize);
  const graph = new GraphBuilder(`vit_p${patchSize}_d${width}_${imageHeight}x${imageWidth}`);
  const tensor = (name: string) => requireTensor(tensors, name);

  // Constants shared by every block, made on first use: onnxruntime warns about unused initializers.
  const once = (make: () => string) => {
    let value: string | undefined;
    return () => (value ??= make());
  };
  const classIndex = once(() => graph.integers('constant.class_index', [0], []));
  const queryScale = headWidth ** -0.5;
  const squareRootOfTwo = once(() => graph.scalar('constant.sqrt_2', Math.SQRT2));
  const one = once(() => graph.scalar('constant.one', 1));
  const half = once(() => graph.scalar('constant.half', 0.5));

  const layerNorm = (name: string, input: string, parameters: string) =>
    graph.node(
      'LayerNormalization',
      name,
      [
        input,
        graph.weight(`${name}.weight`, tensor(`${parameters}.weight`).data, [width]),
        graph.weight(`${name}.bias`, tensor(`${parameters}.bias`).data, [width]),
      ],
      {
        axis: attribute.int(-1),
        epsilon: attribute.float(layerNormEpsilon),
      },
    );
  /** PyTorch's `Linear` (`y = x·Wᵀ + b`) as a MatMul on the transposed weight and an Add. */
  const linear = (name: string, input: string, weight: Float32Array, bias: Float32Array, inputs: number, outputs: number) => {
    const product = graph.node('MatMul', `${name}.matmul`, [
      input,
      graph.weight(`${name}.weight`, transposeMatrix(weight, outputs, inputs), [inputs, outputs]),
    ]);
    return graph.node('Add', name, [product, graph.weight(`${name}.bias`, bias, [outputs])]);
  };
  /** A residual branch's last linear, LayerScale's γ folded into its rows and bias: γ·(x·Wᵀ + b). */
  const scaledLinear = (name: string, input: string, parameters: string, gamma: string | undefined, inputs: number) => {
    const weight = tensor(`${parameters}.weight`).data;
    const bias = tensor(`${parameters}.bias`).data;
    if (!gamma) return linear(name, input, weight, bias, inputs, width);
    const scale = tensor(gamma).data;
    return linear(
      name,
      input,
      scaleRows(weight, scale),
      bias.map((value, channel) => value * scale[channel]!),
      inputs,
      width,
    );
  };
  /** GELU with erf, in the shape onnxruntime fuses into one kernel: x·½·(1 + erf(x/√2)). */
  const gelu = (name: string, input: string) => {
    const errorFunction = graph.node('Erf', `${name}.erf`, [graph.node('Div', `${name}.div`, [input, squareRootOfTwo()])]);
    const gate = graph.node('Mul', `${name}.gate`, [input, graph.node('Add', `${name}.add`, [errorFunction, one()])]);
    return graph.node('Mul', name, [gate, half()]);
  };
  /**
   * DINOv2's SwiGLU MLP, `w3(silu(x1)·x2)` with `x1 | x2 = w12(x)`: w12's two halves as two linears (as
   * qkv is split below), so no Split of the fused output is needed.
   */
  const swiglu = (prefix: string, input: string, gamma: string | undefined) => {
    const hidden = mlp.hidden;
    const fused = tensor(`${prefix}.mlp.w12.weight`).data;
    const fusedBias = tensor(`${prefix}.mlp.w12.bias`).data;
    const halfOf = (part: 0 | 1, name: string) =>
      linear(
        `${prefix}.mlp.${name}`,
        input,
        fused.subarray(part * hidden * width, (part + 1) * hidden * width),
        fusedBias.subarray(part * hidden, (part + 1) * hidden),
        width,
        hidden,
      );
    const gateInput = halfOf(0, 'w1');
    const value = halfOf(1, 'w2');
    const gate = graph.node('Mul', `${prefix}.mlp.silu`, [gateInput, graph.node('Sigmoid', `${prefix}.mlp.sigmoid`, [gateInput])]);
    const gated = graph.node('Mul', `${prefix}.mlp.gated`, [gate, value]);
    return scaledLinear(`${prefix}.mlp.w3`, gated, `${prefix}.mlp.w3`, gamma, hidden);
  };

  /**
   * Multi-head attention from standard operators. The fused qkv weight is split into three linears: their
   * outputs reshape straight into heads, which saves transposing and splitting the fused [batch, tokens,
   * 3·width] output. q's rows are pre-scaled by 1/√(head width), exact for power-of-two head widths (64 in
   * every DINO ViT), so q·kᵀ needs no separate scaling. Returns the heads merged back, [batch, tokens, width].
   */
  let shapes: { heads: string; tokens: string } | undefined;
  const plainAttention = (prefix: string, normalized: string, qkvWeight: Float32Array, qkvBias: Float32Array) => {
    shapes ??= { heads: graph.integers('constant.heads_shape', [0, 0, heads, headWidth]), tokens: graph.integers('constant.tokens_shape', [0, 0, width]) };
    const { heads: headsShape, tokens: tokensShape } = shapes;
    const headsOf = (part: 'q' | 'k' | 'v', perm: readonly number[]) => {
      const index = ['q', 'k', 'v'].indexOf(part);
      const scale = part === 'q' ? queryScale : 1;
      const weight = qkvWeight.slice(index * width * width, (index + 1) * width * width).map((value) => value * scale);
      const bias = qkvBias.slice(index * width, (index + 1) * width).map((value) => value * scale);
      const projected = linear(`${prefix}.attn.${part}`, normalized, weight, bias, width, width);
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
  const fusedAttention = (prefix: string, normalized: string, qkvWeight: Float32Array, qkvBias: Float32Array) =>
    graph.domainNode(
      CONTRIB_DOMAIN,
      1,
      'Attention',
      `${prefix}.attn`,
      [
        normalized,
        graph.weight(`${prefix}.attn.qkv.weight`, transposeMatrix(qkvWeight, 3 * width, width), [width, 3 * width]),
        graph.weight(`${prefix}.attn.qkv.bias`, qkvBias, [3 * width]),
      ],
      { num_heads: attribute.int(heads) },
    );

  // Tokens: the class token with its position, the register tokens (no position), the patches with theirs.
  const image = graph.input('image', ['batch', 3, imageHeight, imageWidth]);
  const patchKernel = tensor('patch_embed.proj.weight');
  const patches = graph.node(
    'Conv',
    'patch_embed.proj',
    [
      image,
      graph.weight('patch_embed.proj.weight', patchKernel.data, patchKernel.shape),
      graph.weight('patch_embed.proj.bias', tensor('patch_embed.proj.bias').data, [width]),
    ],
    {
      kernel_shape: attribute.ints([patchSize, patchSize]),
      strides: attribute.ints([patchSize, patchSize]),
    },
  );
  const flatPatches = graph.node('Reshape', 'patch_embed.flatten', [patches, graph.integers('constant.patches_shape', [0, width, -1])]);
  const patchTokens = graph.node('Transpose', 'patch_embed.tokens', [flatPatches], { perm: attribute.ints([0, 2, 1]) });
  const positions = positionTableForInput({
    positionEmbedding: tensor('pos_embed').data,
    width,
    patchSize,
    imageHeight,
    imageWidth,
    resampling: architecture.positions.resampling,
  });
  const positionedPatches = graph.node('Add', 'patch_embed.positioned', [
    patchTokens,
    graph.weight('pos_embed.patches', positions.slice(width), [1, rows * columns, width]),
  ]);
  // The tokens before the patches are constants: the class token plus its position (added here in
  // float32, as PyTorch does), then the registers.
  const prefixTokens = new Float32Array((1 + registers) * width);
  tensor('cls_token').data.forEach((value, channel) => (prefixTokens[channel] = value + positions[channel]!));
  if (registers > 0) prefixTokens.set(tensor('register_tokens').data, width);
  const batchSize = graph.node('Shape', 'image.batch_size', [image], { start: attribute.int(0), end: attribute.int(1) });
  const prefixShape = graph.node('Concat', 'cls_token.batch_shape', [batchSize, graph.integers('constant.cls_token_shape', [1 + registers, width])], {
    axis: attribute.int(0),
  });
  const prefixName = registers > 0 ? 'prefix_tokens.positioned' : 'cls_token.positioned';
  const batchPrefix = graph.node('Expand', 'cls_token.batch', [graph.weight(prefixName, prefixTokens, [1, 1 + registers, width]), prefixShape]);
  let x = graph.node('Concat', 'tokens', [batchPrefix, positionedPatches], { axis: attribute.int(1) });

  const blockOutputs: string[] = [];
  for (let block = 0; block < depth; block++) {
    const prefix = `blocks.${block}`;
    // Attention, then its output projection (LayerScale folded in) and the residual.
    const qkvWeight = tensor(`${prefix}.attn.qkv.weight`).data;
    const qkvBias = tensor(`${prefix}.attn.qkv.bias`).data;
    const normalized = layerNorm(`${prefix}.norm1`, x, `${prefix}.norm1`);
    const attended = options.fusedAttention ? fusedAttention(prefix, normalized, qkvWeight, qkvBias) : plainAttention(prefix, normalized, qkvWeight, qkvBias);
    const projected = scaledLinear(`${prefix}.attn.proj`, attended, `${prefix}.attn.proj`, layerScale ? `${prefix}.ls1.gamma` : undefined, width);
    x = graph.node('Add', `${prefix}.attention_residual`, [x, projected]);
    // MLP.
    const mlpInput = layerNorm(`${prefix}.norm2`, x, `${prefix}.norm2`);
    const mlpGamma = layerScale ? `${prefix}.ls2.gamma` : undefined;
    let contracted: string;
    if (mlp.kind === 'gelu') {
      const expanded = linear(`${prefix}.mlp.fc1`, mlpInput, tensor(`${prefix}.mlp.fc1.weight`).data, tensor(`${prefix}.mlp.fc1.bias`).data, width, mlp.hidden);
      contracted = scaledLinear(`${prefix}.mlp.fc2`, gelu(`${prefix}.mlp.act`, expanded), `${prefix}.mlp.fc2`, mlpGamma, mlp.hidden);
    } else {
      contracted = swiglu(prefix, mlpInput, mlpGamma);
    }
    x = graph.node('Add', prefix, [x, contracted]);
    blockOutputs.push(x);
  }

  const tokenCount = 1 + registers + rows * columns;
  const output = tokenEmbedding(graph, { blockOutputs, embedding, width, registers, tokenCount, layerNorm, layerNormEpsilon, classIndex });
  graph.output(output, ['batch', dimension]);
  return graph;
}

interface TokenEmbeddingParts {
  readonly blockOutputs: readonly string[];
  readonly embedding: VisionTransformerEmbedding;
  readonly width: number;
  readonly registers: number;
  /** Class token, registers and patches. */
  readonly tokenCount: number;
  readonly layerNorm: (name: string, input: string, parameters: string) => string;
  readonly layerNormEpsilon: number;
  readonly classIndex: () => string;
}

/** The embedding from the blocks' outputs; its last node is named `embedding`. */
function tokenEmbedding(graph: GraphBuilder, parts: TokenEmbeddingParts): string {
  const { blockOutputs, embedding, width, registers, tokenCount, layerNorm, layerNormEpsilon, classIndex } = parts;
  const { classTokens, patchMean, tokenNorm, outputNorm } = embedding;
  const depth = blockOutputs.length;
  const pieces = classTokens + (patchMean ? 1 : 0);
  // The node that ends the embedding carries its name; a piece is that node only when it stands alone.
  const pieceName = (name: string) => (pieces === 1 && outputNorm === 'none' ? 'embedding' : name);
  const outputs: string[] = [];

  // Layer norm acts on each token alone, so taking the class token first and normalising it alone
  // gives DINO's `norm(x)[:, 0]` without normalising every patch token.
  blockOutputs.slice(depth - classTokens).forEach((blockOutput, index) => {
    const block = depth - classTokens + index;
    const name = pieceName(tokenNorm === 'final' ? `norm.block_${block}` : `cls_token.block_${block}`);
    const gatherName = tokenNorm === 'final' ? `${name}.cls_token` : name;
    const classToken = graph.node('Gather', gatherName, [blockOutput, classIndex()], { axis: attribute.int(1) });
    outputs.push(tokenNorm === 'final' ? layerNorm(name, classToken, 'norm') : classToken);
  });
  if (patchMean) {
    // The last block's patch tokens: after the class token and the registers.
    const patchTokens = graph.node('Slice', 'patch_tokens', [
      blockOutputs[depth - 1]!,
      graph.integers('constant.patch_tokens_start', [1 + registers]),
      graph.integers('constant.patch_tokens_end', [tokenCount]),
      graph.integers('constant.patch_tokens_axis', [1]),
    ]);
    const pooled = tokenNorm === 'final' ? layerNorm('norm.patch_tokens', patchTokens, 'norm') : patchTokens;
    outputs.push(graph.node('ReduceMean', pieceName('patch_mean'), [pooled], { axes: attribute.ints([1]), keepdims: attribute.int(0) }));
  }
  let result =
    outputs.length === 1 ? outputs[0]! : graph.node('Concat', outputNorm === 'none' ? 'embedding' : 'tokens.concat', outputs, { axis: attribute.int(1) });
  if (outputNorm === 'plain') {
    // MAE's fc_norm as its linear probe starts it: weights 1, no bias.
    const dimension = pieces * width;
    result = graph.node('LayerNormalization', 'embedding', [result, graph.weight('output_norm.weight', new Float32Array(dimension).fill(1), [dimension])], {
      axis: attribute.int(-1),
      epsilon: attribute.float(layerNormEpsilon),
    });
  }
  return result;
}
