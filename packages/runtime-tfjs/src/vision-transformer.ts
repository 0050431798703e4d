import { embeddingDimension, type TokenEmbedding, type VisionTransformerArchitecture } from '@medssl/spec';
import { positionInterpolation, positionTableForInput } from '@medssl/weights';
import * as tf from '@tensorflow/tfjs-core';
import { transposeMatrix } from './layout.js';
import {
  assembleTokens,
  attention,
  classTokens,
  concatColumns,
  interpolatePositions,
  layerNorm,
  linear,
  mlp,
  patchMean,
  plainLayerNorm,
  scaledResidual,
  swiglu,
  withoutGradient,
  type Dense,
} from './operations.js';
import type { ParameterStore } from './parameters.js';

/** Which tokens form the embedding (see `TokenEmbedding` in `@medssl/spec`). */
export type VisionTransformerEmbedding = Omit<TokenEmbedding, 'kind' | 'dimension'>;

type Linear = Dense;

interface Norm {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
}

type BlockMlp = { readonly kind: 'gelu'; readonly fc1: Linear; readonly fc2: Linear } | { readonly kind: 'swiglu'; readonly w12: Linear; readonly w3: Linear };

interface Block {
  readonly norm1: Norm;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly projection: Linear;
  /** LayerScale's γ of the attention branch (`ls1.gamma`). */
  readonly attentionScale?: tf.Tensor1D;
  readonly norm2: Norm;
  readonly mlp: BlockMlp;
  /** LayerScale's γ of the MLP branch (`ls2.gamma`). */
  readonly mlpScale?: tf.Tensor1D;
}

interface Embedding {
  /** `[3·patch², width]`, rows in (channel, row, column) order. */
  readonly patch: Linear;
  readonly classToken: tf.Tensor3D;
  readonly positions: tf.Tensor3D;
  /** `[1, registers, width]`, where the architecture has them. */
  readonly registerTokens?: tf.Tensor3D;
  readonly trainable: boolean;
}

export interface VisionTransformerOptions {
  /** Stages below this index keep their weights: 0 is the patch embedding (with class token, positions and registers), 1 + i block i; `depth + 1` freezes every block. */
  readonly firstTrainableStage: number;
  /** The final norm trains unless the whole model is frozen (or the embedding does not use it). */
  readonly trainableNorm: boolean;
  readonly embedding: VisionTransformerEmbedding;
  readonly name: string;
}

/**
 * A ViT in the layout DINO, DINOv2 and MAE share (pre-norm blocks, fused qkv stored as three linears,
 * exact-GELU or SwiGLU MLP, optional LayerScale and register tokens) in tfjs, for any input size:
 * positions are resampled by the architecture's rule when the patch grid differs from the stored one
 * (differentiably, when the positions train).
 */
export class VisionTransformer {
  private readonly embedding: Embedding;
  private readonly blocks: Block[];
  private readonly norm: Norm;
  private readonly positionTables = new Map<string, tf.Tensor3D | { rowWeights: tf.Tensor2D; columnWeights: tf.Tensor2D } | null>();

  constructor(
    readonly architecture: VisionTransformerArchitecture,
    private readonly parameters: ParameterStore,
    private readonly options: VisionTransformerOptions,
  ) {
    const { embedDim: width, heads, depth } = architecture;
    if (!Number.isInteger(width / heads)) throw new Error(`a width of ${width} does not split into ${heads} heads`);
    // Refuses more class tokens than blocks, or no tokens at all, naming them.
    embeddingDimension(architecture, { kind: 'tokens', ...options.embedding });
    this.embedding = this.createEmbedding(options.firstTrainableStage <= 0);
    this.blocks = Array.from({ length: depth }, (_, block) => this.createBlock(block, options.firstTrainableStage <= block + 1));
    // Without the final norm on the tokens, nothing depends on its weights: constants, so no variable lacks a gradient.
    this.norm = this.createNorm('norm', options.trainableNorm && options.embedding.tokenNorm === 'final');
  }

  /** A canonical vector as a variable or a constant. */
  private vector(name: string, trainable: boolean): tf.Tensor1D {
    const { data, shape } = this.parameters.get(name);
    return trainable
      ? this.parameters.variable<tf.Rank.R1>(name, data, shape, { trainable: true })
      : this.parameters.constant<tf.Tensor1D>(data, shape, [name]);
  }

  private createNorm(prefix: string, trainable: boolean): Norm {
    return { weight: this.vector(`${prefix}.weight`, trainable), bias: this.vector(`${prefix}.bias`, trainable) };
  }

  /** PyTorch's `Linear` `prefix` (weight `[outputs, inputs]`), stored transposed. */
  private createLinear(prefix: string, trainable: boolean): Linear {
    const { data, shape } = this.parameters.get(`${prefix}.weight`);
    const [outputs, inputs] = shape as [number, number];
    const transposed = transposeMatrix(data, outputs, inputs);
    const weight = trainable
      ? this.parameters.variable<tf.Rank.R2>(`${prefix}.weight`, transposed, [inputs, outputs], {
          trainable: true,
          exportAs: (values) => ({ data: transposeMatrix(values, inputs, outputs), shape }),
        })
      : this.parameters.constant<tf.Tensor2D>(transposed, [inputs, outputs], [`${prefix}.weight`]);
    return { weight, bias: this.vector(`${prefix}.bias`, trainable) };
  }

  private createEmbedding(trainable: boolean): Embedding {
    const { data, shape } = this.parameters.get('patch_embed.proj.weight');
    const [width, channels, patchSize] = shape as [number, number, number, number];
    const inputs = channels * patchSize * patchSize;
    // A convolution with stride = kernel is a product of flattened patches with the flattened kernel.
    const transposed = transposeMatrix(data, width, inputs);
    const weight = trainable
      ? this.parameters.variable<tf.Rank.R2>('patch_embed.proj.weight', transposed, [inputs, width], {
          trainable: true,
          exportAs: (values) => ({ data: transposeMatrix(values, inputs, width), shape }),
        })
      : this.parameters.constant<tf.Tensor2D>(transposed, [inputs, width], ['patch_embed.proj.weight']);
    const tensor3D = (name: string) => {
      const stored = this.parameters.get(name);
      return trainable
        ? this.parameters.variable<tf.Rank.R3>(name, stored.data, stored.shape, { trainable: true })
        : this.parameters.constant<tf.Tensor3D>(stored.data, stored.shape, [name]);
    };
    const bias = this.vector('patch_embed.proj.bias', trainable);
    const classToken = tensor3D('cls_token');
    const positions = tensor3D('pos_embed');
    const registerTokens = this.architecture.registers > 0 ? tensor3D('register_tokens') : undefined;
    return { patch: { weight, bias }, classToken, positions, ...(registerTokens ? { registerTokens } : {}), trainable };
  }

  private createBlock(index: number, trainable: boolean): Block {
    const prefix = `blocks.${index}`;
    const { embedDim: width } = this.architecture;
    const qkvWeight = this.parameters.get(`${prefix}.attn.qkv.weight`).data;
    const qkvBias = this.parameters.get(`${prefix}.attn.qkv.bias`).data;
    // The fused qkv linear as three: each output reshapes straight into heads.
    const part = (index: number, name: string): Linear => {
      const weight = transposeMatrix(qkvWeight.subarray(index * width * width, (index + 1) * width * width), width, width);
      const bias = qkvBias.slice(index * width, (index + 1) * width);
      if (!trainable) return { weight: this.parameters.constant(weight, [width, width], []), bias: this.parameters.constant(bias, [width], []) };
      return {
        weight: this.parameters.variable<tf.Rank.R2>(`${prefix}.attn.${name}.weight`, weight, [width, width], { trainable: true }),
        bias: this.parameters.variable<tf.Rank.R1>(`${prefix}.attn.${name}.bias`, bias, [width], { trainable: true }),
      };
    };
    const [query, key, value] = [part(0, 'q'), part(1, 'k'), part(2, 'v')];
    if (trainable) {
      const parts = [query, key, value];
      this.parameters.exportFrom(`${prefix}.attn.qkv.weight`, async () => {
        const data = new Float32Array(3 * width * width);
        for (const [index, { weight }] of parts.entries())
          data.set(transposeMatrix((await weight.data()) as Float32Array, width, width), index * width * width);
        return { data, shape: [3 * width, width] };
      });
      this.parameters.exportFrom(`${prefix}.attn.qkv.bias`, async () => {
        const data = new Float32Array(3 * width);
        for (const [index, { bias }] of parts.entries()) data.set((await bias.data()) as Float32Array, index * width);
        return { data, shape: [3 * width] };
      });
    } else {
      for (const name of ['weight', 'bias']) {
        const original = this.parameters.get(`${prefix}.attn.qkv.${name}`);
        this.parameters.exportFrom(`${prefix}.attn.qkv.${name}`, async () => original);
      }
    }
    // In canonical order, as trainableVariables lists them.
    const norm1 = this.createNorm(`${prefix}.norm1`, trainable);
    const projection = this.createLinear(`${prefix}.attn.proj`, trainable);
    const attentionScale = this.architecture.layerScale ? this.vector(`${prefix}.ls1.gamma`, trainable) : undefined;
    const norm2 = this.createNorm(`${prefix}.norm2`, trainable);
    const mlp: BlockMlp =
      this.architecture.mlp.kind === 'gelu'
        ? { kind: 'gelu', fc1: this.createLinear(`${prefix}.mlp.fc1`, trainable), fc2: this.createLinear(`${prefix}.mlp.fc2`, trainable) }
        : { kind: 'swiglu', w12: this.createLinear(`${prefix}.mlp.w12`, trainable), w3: this.createLinear(`${prefix}.mlp.w3`, trainable) };
    const mlpScale = this.architecture.layerScale ? this.vector(`${prefix}.ls2.gamma`, trainable) : undefined;
    return { norm1, query, key, value, projection, ...(attentionScale ? { attentionScale } : {}), norm2, mlp, ...(mlpScale ? { mlpScale } : {}) };
  }

  /** The embedding of NCHW images `[batch, dimension]`: the tokens the options name (see `TokenEmbedding`). */
  forward(images: tf.Tensor4D, _training: boolean): tf.Tensor2D {
    const [batch, , height, width] = images.shape;
    const { patchSize, depth } = this.architecture;
    const rows = Math.floor(height / patchSize);
    const columns = Math.floor(width / patchSize);
    if (rows < 1 || columns < 1) throw new Error(`${this.options.name}: an input of ${height}x${width} is smaller than one ${patchSize}x${patchSize} patch`);
    const first = this.options.firstTrainableStage;
    // The outputs of the last blocks the embedding reads: the class tokens' blocks, and always the last.
    const kept = Math.max(this.options.embedding.classTokens, 1);

    const embed = (input: tf.Tensor) => this.embed(input as tf.Tensor4D, rows, columns);
    let x = first > 0 ? withoutGradient(images, embed, `${this.options.name}: the patch embedding`) : embed(images);
    const outputs: tf.Tensor2D[] = [];
    this.blocks.forEach((block, index) => {
      const run = (input: tf.Tensor) => this.runBlock(block, input as tf.Tensor2D, batch);
      x = first > index + 1 ? withoutGradient(x, run, `${this.options.name}: block ${index}`) : run(x);
      if (index >= depth - kept) outputs.push(x);
    });
    return this.tokenEmbedding(outputs, batch);
  }

  /**
   * The embedding from the last blocks' outputs. Layer norm acts on each token alone: normalising the
   * class token alone gives DINO's norm(x)[:, 0]. The operation that yields the embedding keeps its
   * output's gradient, which belongs to the caller; the others release theirs.
   */
  private tokenEmbedding(outputs: readonly tf.Tensor2D[], batch: number): tf.Tensor2D {
    const { classTokens: count, patchMean: withMean, tokenNorm, outputNorm } = this.options.embedding;
    const epsilon = this.architecture.layerNormEpsilon;
    const pieces = count + (withMean ? 1 : 0);
    const piece = { releaseOutputGradient: pieces > 1 || outputNorm !== 'none' };
    const normed = (tokens: tf.Tensor2D, options = {}) => layerNorm(tokens, this.norm.weight, this.norm.bias, epsilon, options);
    const parts = outputs
      .slice(outputs.length - count)
      .map((output) => (tokenNorm === 'final' ? normed(classTokens(output, batch), piece) : classTokens(output, batch, piece)));
    if (withMean) {
      const last = outputs[outputs.length - 1]!;
      parts.push(patchMean(tokenNorm === 'final' ? normed(last) : last, batch, 1 + this.architecture.registers, piece));
    }
    const joined = parts.length === 1 ? parts[0]! : concatColumns(parts, { releaseOutputGradient: outputNorm !== 'none' });
    return outputNorm === 'plain' ? plainLayerNorm(joined, epsilon, { releaseOutputGradient: false }) : joined;
  }

  /** Class token, registers and patch tokens, with positions: `[batch·(1 + registers + rows·columns), width]`. */
  private embed(images: tf.Tensor4D, rows: number, columns: number): tf.Tensor2D {
    const [batch, channels, height, width] = images.shape;
    const { patchSize } = this.architecture;
    // PyTorch's strided convolution ignores the pixels beyond the last whole patch.
    const cropped =
      height === rows * patchSize && width === columns * patchSize
        ? images
        : tf.slice(images, [0, 0, 0, 0], [batch, channels, rows * patchSize, columns * patchSize]);
    // [b, c, rows, p, columns, p] → [b, rows, columns, c, p, p], in two 4-D transposes.
    const byRow = tf.transpose(tf.reshape(cropped, [batch * channels * rows, patchSize, columns, patchSize]), [0, 2, 1, 3]); // [b·c·rows, columns, p, p]
    const byPatch = tf.transpose(tf.reshape(byRow, [batch, channels, rows * columns, patchSize * patchSize]), [0, 2, 1, 3]); // [b, rows·columns, c, p·p]
    const patches = tf.reshape(byPatch, [batch * rows * columns, channels * patchSize * patchSize]) as tf.Tensor2D;
    const tokens = linear(patches, this.embedding.patch.weight, this.embedding.patch.bias, false);
    return assembleTokens(tokens, this.embedding.classToken, this.positionsFor(rows, columns, height, width), batch, this.embedding.registerTokens);
  }

  /** The position table `[1, 1 + rows·columns, width]` for an input size, resampled by the architecture's rule. */
  private positionsFor(rows: number, columns: number, height: number, width: number): tf.Tensor3D {
    const key = `${height}x${width}`;
    const { positions, trainable } = this.embedding;
    if (!this.positionTables.has(key)) {
      const { patchSize, embedDim } = this.architecture;
      const request = { patchSize, imageHeight: height, imageWidth: width, resampling: this.architecture.positions.resampling };
      const interpolation = positionInterpolation({ storedPatches: positions.shape[1] - 1, width: embedDim, ...request });
      if (interpolation.fixedTable) {
        // Made anew for this grid (MoCo v3's sine-cosine positions): nothing to train.
        this.positionTables.set(key, this.parameters.constant<tf.Tensor3D>(interpolation.fixedTable, [1, 1 + rows * columns, embedDim], []));
      } else if (!interpolation.rowWeights || !interpolation.columnWeights) this.positionTables.set(key, null);
      else if (trainable) {
        const { grid, rowWeights, columnWeights } = interpolation;
        this.positionTables.set(key, {
          rowWeights: this.parameters.constant(rowWeights, [rows, grid], []),
          columnWeights: this.parameters.constant(columnWeights, [columns, grid], []),
        });
      } else {
        // Frozen: the table itself, computed as PyTorch does.
        const table = positionTableForInput({ positionEmbedding: this.parameters.get('pos_embed').data, width: embedDim, ...request });
        this.positionTables.set(key, this.parameters.constant<tf.Tensor3D>(table, [1, 1 + rows * columns, embedDim], []));
      }
    }
    const cached = this.positionTables.get(key);
    if (!cached) return positions;
    if (cached instanceof tf.Tensor) return cached;
    return interpolatePositions(positions, cached.rowWeights, cached.columnWeights);
  }

  private runBlock(block: Block, x: tf.Tensor2D, batch: number): tf.Tensor2D {
    const { heads, embedDim, layerNormEpsilon } = this.architecture;
    const normalized = layerNorm(x, block.norm1.weight, block.norm1.bias, layerNormEpsilon);
    const context = attention(normalized, block, batch, heads, (embedDim / heads) ** -0.5);
    const attended = scaledResidual(x, linear(context, block.projection.weight, block.projection.bias), block.attentionScale);
    const mlpInput = layerNorm(attended, block.norm2.weight, block.norm2.bias, layerNormEpsilon);
    const expanded = block.mlp.kind === 'gelu' ? mlp(mlpInput, block.mlp.fc1, block.mlp.fc2) : swiglu(mlpInput, block.mlp.w12, block.mlp.w3);
    return scaledResidual(attended, expanded, block.mlpScale);
  }
}
