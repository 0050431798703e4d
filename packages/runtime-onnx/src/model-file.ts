import { access } from 'node:fs/promises';
import type { Embedder, Preprocessing } from '@medssl/spec';
import * as ort from 'onnxruntime-node';
import { inputShapeFromPreprocessing } from '@medssl/core';
import { createOnnxSession, OnnxEmbedder, type OnnxSessionOptions } from './session.js';

export interface OnnxModelEmbedderOptions extends OnnxSessionOptions {
  /** The model output that holds the embedding, `[n, d]` (or `[n, d, 1, 1]`: every non-batch axis is flattened). */
  readonly outputName: string;
  /** Needed only when the model has several inputs. */
  readonly inputName?: string;
  /** How images are prepared for this model; fixes the input size (its centre crop). */
  readonly preprocessing: Preprocessing;
  /** The embedding width; read from the model's output shape, or from one probe run, when absent. */
  readonly dimension?: number;
  /** Default `onnx:<path>`. */
  readonly backboneId?: string;
}

function staticExtents(metadata: ort.InferenceSession.ValueMetadata | undefined): readonly (number | string)[] | undefined {
  return metadata?.isTensor ? metadata.shape : undefined;
}

/**
 * An embedder for a user's own ONNX file (`onnx:<path>` backbones): one float32 image input
 * `[n, 3, height, width]` and the named output. The input and output names are checked against the
 * model's own, and a fixed input size in the model must agree with the preprocessing.
 */
export async function onnxModelEmbedder(path: string, options: OnnxModelEmbedderOptions): Promise<Embedder> {
  const backboneId = options.backboneId ?? `onnx:${path}`;
  try {
    await access(path);
  } catch {
    throw new Error(`${backboneId}: the ONNX file ${path} does not exist or cannot be read`);
  }
  const inputShape = inputShapeFromPreprocessing(options.preprocessing, backboneId);
  const session = await createOnnxSession(path, options);
  try {
    const { inputNames, outputNames } = session.session;
    const inputName = options.inputName ?? (inputNames.length === 1 ? inputNames[0] : undefined);
    if (inputName === undefined || !inputNames.includes(inputName)) {
      throw new Error(
        options.inputName === undefined
          ? `${path} has ${inputNames.length} inputs (${inputNames.join(', ')}); name the image input with inputName`
          : `${path} has no input named ${options.inputName}; its inputs are ${inputNames.join(', ')}`,
      );
    }
    if (!outputNames.includes(options.outputName)) {
      throw new Error(`${path} has no output named ${options.outputName}; its outputs are ${outputNames.join(', ')}`);
    }
    const inputMetadata = session.session.inputMetadata[inputNames.indexOf(inputName)];
    const declaredInput = staticExtents(inputMetadata);
    if (inputMetadata?.isTensor && inputMetadata.type !== 'float32') throw new Error(`${path}: input ${inputName} takes ${inputMetadata.type}, not float32`);
    if (declaredInput) {
      const expected = ['n', ...inputShape];
      const disagrees = declaredInput.length !== 4 || declaredInput.slice(1).some((extent, axis) => typeof extent === 'number' && extent !== inputShape[axis]);
      if (disagrees)
        throw new Error(`${path}: input ${inputName} has shape [${declaredInput.join(', ')}], but the preprocessing gives [${expected.join(', ')}]`);
    }
    const declaredOutput = staticExtents(session.session.outputMetadata[outputNames.indexOf(options.outputName)]);
    const outputRow = declaredOutput?.slice(1);
    const declaredDimension = outputRow?.every((extent) => typeof extent === 'number')
      ? outputRow.reduce<number>((product, extent) => product * (extent as number), 1)
      : undefined;
    if (declaredDimension !== undefined && options.dimension !== undefined && declaredDimension !== options.dimension) {
      throw new Error(
        `${path}: output ${options.outputName} has shape [${declaredOutput!.join(', ')}], ${declaredDimension} values per image, but dimension ${options.dimension} was given`,
      );
    }
    let dimension = options.dimension ?? declaredDimension;
    if (dimension === undefined) {
      // A symbolic output width: learn it from one blank image.
      const blank = new ort.Tensor('float32', new Float32Array(inputShape[0] * inputShape[1] * inputShape[2]), [1, ...inputShape]);
      const probe = await session.session.run({ [inputName]: blank }, [options.outputName]);
      const dims = probe[options.outputName]?.dims ?? [];
      dimension = dims.slice(1).reduce((product, extent) => product * extent, 1);
    }
    return new OnnxEmbedder({ session, backboneId, inputName, outputName: options.outputName, inputShape, dimension });
  } catch (error) {
    await session.session.release();
    throw error;
  }
}
