import { createRng, outputCount, validateTargets, validateTask } from '@medssl/core';
import type { AttentionMap, FusionResult, TargetArray, Task } from '@medssl/spec';
import { checkTrainableBackbone, type TrainableBackbone } from '@medssl/training';
import * as tf from '@tensorflow/tfjs-core';
import { FusionModel, type Standardization } from './model.js';
import { resolveArchitecture, resolveTraining, type EpochRecord, type FusionOptions, type ResolvedArchitecture, type ResolvedTraining } from './options.js';
import { parameterCount, type Parameter } from './parameters.js';
import { activeBackend, train, type BatchSource, type EvaluationSplit } from './train.js';
import { checkTrainingClasses, selectTargets, uniqueNames } from './validation.js';

/** The images of one split, loaded batch by batch. */
export interface ImageSplit {
  readonly targets: TargetArray;
  /**
   * The images of these rows (in the layout the sources take): one tensor for every source, or one per
   * source where each backbone has its own preprocessing. The training loop disposes them.
   */
  images(rows: Int32Array): Promise<tf.Tensor4D | readonly tf.Tensor4D[]>;
}

export interface EndToEndInput {
  readonly task: Task;
  /** The backbones, trained with the fusion; they stay the caller's (to use afterwards, and to dispose). */
  readonly sources: readonly TrainableBackbone[];
  readonly train: ImageSplit;
  readonly val: ImageSplit;
  readonly test: ImageSplit;
  /** Rows of `train` to fit on (a label-fraction subset); every row when absent. */
  readonly trainRows?: Int32Array;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

export interface EndToEndOptions extends FusionOptions {
  /** The fusion on top of the backbones; default `dvme`. */
  readonly fusion?: 'dvme' | 'dme' | 'concat';
  /** Peak learning rate of the backbones' variables; default a tenth of `learningRate` (the fusion's). */
  readonly sourceLearningRate?: number;
  /** Weight decay of the backbones' weight tensors (rank 2 and more); default `weightDecay`. */
  readonly sourceWeightDecay?: number;
  /**
   * Training rows embedded once before training, by the untrained backbones, to fit the fusion's input
   * standardisation (with `standardise`); default 1024.
   */
  readonly standardizationRows?: number;
}

export interface EndToEndReport {
  readonly result: FusionResult;
  readonly sources: readonly string[];
  readonly backend: string;
  readonly architecture: ResolvedArchitecture;
  readonly training: ResolvedTraining;
  readonly learningRates: { readonly sources: number; readonly fusion: number };
  /** Trainable values of the fusion module and of the backbones. */
  readonly parameterCount: { readonly fusion: number; readonly sources: number };
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly stop: 'patience' | 'epochs';
  readonly seconds: number;
}

type ImageBatch = readonly tf.Tensor4D[];

/**
 * Trains backbones and fusion together: every step's gradient reaches the fusion's parameters and the
 * backbones' `trainableVariables`, which AdamW updates at two peak learning rates (backbones lower) on
 * the same warm-up + cosine schedule. Early stopping keeps the best epoch's values of both; they stay in
 * the backbones' variables afterwards.
 */
export async function trainEndToEnd(input: EndToEndInput, options: EndToEndOptions = {}): Promise<EndToEndReport> {
  const started = performance.now();
  const kind = options.fusion ?? 'dvme';
  const name = `${kind} end to end`;
  if (!['dvme', 'dme', 'concat'].includes(kind)) throw new RangeError(`${name}: fusion must be dvme, dme or concat, got ${JSON.stringify(kind)}`);
  const architecture = resolveArchitecture(options);
  const training = resolveTraining(options);
  const sourceLearningRate = options.sourceLearningRate ?? training.learningRate / 10;
  if (!(sourceLearningRate >= 0) || !Number.isFinite(sourceLearningRate))
    throw new RangeError(`${name}: sourceLearningRate must be a non-negative number, got ${String(sourceLearningRate)}`);
  const sourceWeightDecay = options.sourceWeightDecay ?? training.weightDecay;
  const standardizationRows = options.standardizationRows ?? 1024;
  if (!Number.isSafeInteger(standardizationRows) || standardizationRows < 1)
    throw new RangeError(`${name}: standardisationRows must be a positive integer, got ${String(standardizationRows)}`);

  const { task, sources } = input;
  validateTask(task, `${name}: task`);
  if (sources.length < 2) throw new RangeError(`${name}: fuses at least 2 backbones, got ${sources.length} (K = ${sources.length})`);
  const names = uniqueNames(sources.map((source) => source.id));
  sources.forEach((source, index) => checkTrainableBackbone(source, `${name}: source ${index + 1} (${source.id})`));
  const allVariables = sources.flatMap((source) => source.trainableVariables);
  if (new Set(allVariables).size !== allVariables.length)
    throw new RangeError(`${name}: a variable appears in the trainableVariables of two sources (or twice in one)`);
  for (const split of ['train', 'val', 'test'] as const) validateTargets(task, input[split].targets, `${name}: ${split} targets`);
  const trainCount = input.train.targets.shape[0];
  const trainRows = input.trainRows ?? Int32Array.from({ length: trainCount }, (_, row) => row);
  if (trainRows.length === 0) throw new RangeError(`${name}: trainRows is empty; there is nothing to train on`);
  trainRows.forEach((row, position) => {
    if (row < 0 || row >= trainCount) throw new RangeError(`${name}: trainRows[${position}] = ${row} is not a row of the ${trainCount}-row train split`);
  });
  const trainTargets = selectTargets(input.train.targets, trainRows);
  checkTrainingClasses(name, task, trainTargets);
  const backend = activeBackend(name);

  const load = async (split: ImageSplit, rows: Int32Array, where: string): Promise<ImageBatch> => {
    const images = await split.images(rows);
    const list = isTensorList(images) ? images : [images];
    if (list.length !== 1 && list.length !== sources.length) {
      tf.dispose([...list]);
      throw new RangeError(`${name}: ${where} images came as ${list.length} tensors; give one for every source or one per source (${sources.length})`);
    }
    for (const tensor of list) {
      if (tensor.rank !== 4 || tensor.shape[0] !== rows.length) {
        tf.dispose([...list]);
        throw new RangeError(
          `${name}: ${where} images for ${rows.length} rows have shape [${tensor.shape.join(', ')}], expected [${rows.length}, ...] of rank 4`,
        );
      }
    }
    return list;
  };
  const embed = (batch: ImageBatch, training: boolean): tf.Tensor2D[] =>
    sources.map((source, index) => {
      const embedding = source.embed(batch[batch.length === 1 ? 0 : index]!, training);
      if (embedding.rank !== 2 || embedding.shape[0] !== batch[0]!.shape[0] || embedding.shape[1] !== source.dimension) {
        throw new RangeError(
          `${name}: source ${index + 1} (${source.id}) embedded ${batch[0]!.shape[0]} images as [${embedding.shape.join(', ')}], expected [${batch[0]!.shape[0]}, ${source.dimension}]`,
        );
      }
      return embedding;
    });

  const rng = createRng(input.seed);
  const standardization = training.standardize
    ? await fitStandardization(
        trainRows.subarray(0, Math.min(trainRows.length, standardizationRows)),
        (rows) => load(input.train, rows, 'train'),
        embed,
        sources.map((source) => source.dimension),
        training.evaluationBatchSize,
      )
    : undefined;
  const model = new FusionModel(
    kind,
    sources.map((source) => source.dimension),
    outputCount(task),
    architecture,
    rng.fork(`${kind}:init`),
    standardization,
    true,
  );
  try {
    const sourceParameters: Parameter[] = sources.flatMap((source) =>
      source.trainableVariables.map((variable) => ({ name: `${source.id}/${variable.name}`, variable, decay: variable.rank >= 2 })),
    );
    const data: BatchSource<ImageBatch> = {
      trainCount: trainRows.length,
      evaluationCounts: { val: input.val.targets.shape[0], test: input.test.targets.shape[0] },
      loadTrain: (positions) =>
        load(
          input.train,
          Int32Array.from(positions, (position) => trainRows[position]!),
          'train',
        ),
      loadEvaluation: (split: EvaluationSplit, rows) => load(input[split], rows, split),
      embed,
      dispose: (batch) => tf.dispose([...batch]),
    };
    const outcome = await train({
      name,
      task,
      model,
      // The fusion's group last: epoch records report its learning rate.
      groups: [
        ...(sourceParameters.length > 0 ? [{ parameters: sourceParameters, learningRate: sourceLearningRate, weightDecay: sourceWeightDecay }] : []),
        { parameters: model.parameters, learningRate: training.learningRate, weightDecay: training.weightDecay },
      ],
      data,
      trainTargets,
      evaluationTargets: { val: input.val.targets, test: input.test.targets },
      training,
      seed: rng.fork(`${kind}:training`).nextUint32(),
      ...(input.signal ? { signal: input.signal } : {}),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    });
    const attention: AttentionMap[] | undefined = outcome.test.attention?.map((weights) => ({ sources: names, heads: architecture.heads, weights }));
    const weights = outcome.test.sourceWeights;
    return {
      result: {
        metrics: outcome.testMetrics,
        validation: outcome.validation,
        selected: { epoch: outcome.bestEpoch, epochsRun: outcome.history.length, stop: outcome.stop, sourceLearningRate },
        scores: outcome.scores,
        ...(outcome.perLabel ? { perLabel: outcome.perLabel } : {}),
        ...(attention ? { attention } : {}),
        ...(weights ? { sourceWeights: Object.fromEntries(names.map((source, index) => [source, weights[index]!])) } : {}),
      },
      sources: names,
      backend,
      architecture,
      training,
      learningRates: { sources: sourceLearningRate, fusion: training.learningRate },
      parameterCount: { fusion: parameterCount(model.parameters), sources: parameterCount(sourceParameters) },
      history: outcome.history,
      bestEpoch: outcome.bestEpoch,
      stop: outcome.stop,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}

/** Mean and deviation of each source's initial embeddings over some training rows (evaluation mode). */
async function fitStandardization(
  rows: Int32Array,
  load: (rows: Int32Array) => Promise<ImageBatch>,
  embed: (batch: ImageBatch, training: boolean) => tf.Tensor2D[],
  dimensions: readonly number[],
  batchSize: number,
): Promise<Standardization[]> {
  const sums = dimensions.map((dimension) => new Float64Array(dimension));
  const squares = dimensions.map((dimension) => new Float64Array(dimension));
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = await load(rows.subarray(start, Math.min(rows.length, start + batchSize)));
    let embeddings: tf.Tensor2D[];
    try {
      embeddings = tf.tidy(() => embed(batch, false));
    } finally {
      tf.dispose([...batch]);
    }
    try {
      for (let source = 0; source < dimensions.length; source++) {
        const values = await embeddings[source]!.data();
        const dimension = dimensions[source]!;
        for (let index = 0; index < values.length; index++) {
          sums[source]![index % dimension]! += values[index]!;
          squares[source]![index % dimension]! += values[index]! * values[index]!;
        }
      }
    } finally {
      tf.dispose(embeddings);
    }
  }
  return dimensions.map((dimension, source) => {
    const mean = new Float32Array(dimension);
    const inverseScale = new Float32Array(dimension);
    for (let column = 0; column < dimension; column++) {
      const average = sums[source]![column]! / rows.length;
      const deviation = Math.sqrt(Math.max(0, squares[source]![column]! / rows.length - average * average));
      mean[column] = average;
      inverseScale[column] = deviation > 1e-6 * Math.max(1, Math.abs(average)) ? 1 / deviation : 1;
    }
    return { mean, inverseScale };
  });
}

function isTensorList(images: tf.Tensor4D | readonly tf.Tensor4D[]): images is readonly tf.Tensor4D[] {
  return Array.isArray(images);
}
