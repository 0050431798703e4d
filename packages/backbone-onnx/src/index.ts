import { readOptions } from '@medssl/core';
import { SPECIFICATION_VERSION, type Backbone, type BackboneProvider, type Interpolation, type Preprocessing, type Pretraining } from '@medssl/spec';

/** What a model file needs beside its path: where the embedding is, and how its images are prepared. */
export interface OnnxModelOptions {
  readonly path: string;
  /** The model output that holds the embedding, `[n, d]` (or `[n, d, 1, 1]`; every non-batch axis is flattened). */
  readonly output: string;
  /** The image input, needed only when the model has several inputs. */
  readonly input?: string;
  /** Per-channel normalisation after scaling to [0, 1]; both or neither. */
  readonly mean?: readonly [number, number, number];
  readonly std?: readonly [number, number, number];
  /** Shorter side before the centre crop; default 256. */
  readonly resize?: number;
  /** Centre crop, the model's input size; default 224. */
  readonly crop?: number;
  /** Default `bilinear`. */
  readonly interpolation?: Interpolation;
  /** What the weights learnt from, for reports; unknown by default. */
  readonly pretraining?: Pretraining;
}

/**
 * A user's own network in an ONNX file as a backbone (`onnx:<path>`): the file holds architecture and
 * weights, so there is no checkpoint to map; `@medssl/runtime-onnx` runs it as it is. Its embedding's width
 * is read from the file when it is opened.
 */
export function onnxModel(options: OnnxModelOptions): Backbone {
  const { path, output } = options;
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('onnx: the model file path is empty; ids are onnx:<path>');
  if (typeof output !== 'string' || output.length === 0) throw new TypeError(`onnx:${path}: name the output that holds the embedding (option output)`);
  if ((options.mean === undefined) !== (options.std === undefined)) throw new TypeError(`onnx:${path}: give mean and std together, or neither`);
  const preprocessing: Preprocessing = {
    resize: { size: options.resize ?? 256, interpolation: options.interpolation ?? 'bilinear' },
    centerCrop: options.crop ?? 224,
    ...(options.mean && options.std
      ? { normalize: { mean: [...options.mean] as [number, number, number], std: [...options.std] as [number, number, number] } }
      : {}),
    channels: 3,
  };
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id: `onnx:${path}`,
    method: 'onnx',
    variant: path,
    architecture: { family: 'model-file', format: 'onnx', path, ...(options.input ? { input: options.input } : {}) },
    preprocessing,
    embedding: { kind: 'output', output },
    pretraining: options.pretraining ?? { supervision: 'unknown', data: 'unknown', domain: 'unknown' },
    weightSource: 'model-file',
    checkpoints: [],
    expectedTensors: () => new Map(),
    fromStateDict() {
      throw new Error(`onnx:${path}: a model file holds its own weights; there is no checkpoint to map`);
    },
  };
}

/** `onnx:<path>` for hosts that take ids; options `output` (required), `input`, `mean`, `std`, `resize`, `crop`, `interpolation`. */
export const onnxProvider: BackboneProvider = {
  specificationVersion: SPECIFICATION_VERSION,
  kind: 'backbone',
  method: 'onnx',
  title: 'Your own ONNX model file',
  variants: [],
  variantPattern: '<path>',
  backbone(variant, options = {}) {
    const read = readOptions(
      options,
      { output: 'string', input: 'string', mean: 'numbers', std: 'numbers', resize: 'integer', crop: 'integer', interpolation: ['bilinear', 'bicubic'] },
      `onnx:${variant}`,
    );
    for (const name of ['mean', 'std'] as const) {
      const values = read[name] as number[] | undefined;
      if (values !== undefined && values.length !== 3) throw new RangeError(`onnx:${variant}: option ${name} needs 3 values (R,G,B), got ${values.length}`);
    }
    return onnxModel({ ...(read as Omit<OnnxModelOptions, 'path'>), path: variant });
  },
};
