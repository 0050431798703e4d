import { createRng, outputCount } from '@medssl/core';
import { AdamW, classificationLoss, trainableParameters } from '@medssl/training';
import type { RawImage, Task } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { AUGMENTATION_POLICIES, drawAugmentation, inputSize, writeAugmentedImage, writeEvaluationImage } from './augment.js';
import { resolveSettings, type FinetuneOptions } from './finetune.js';
import { LinearHead, checkEmbeddings } from './model.js';

/** Seconds per image of training (augmentation, forward, backward, AdamW step) and of scoring, as measured. */
export interface Throughput {
  /** Everything of a training step, per image. */
  readonly trainSecondsPerImage: number;
  /** The part of a step that does not grow with the images: AdamW's update of every parameter. */
  readonly optimizerSecondsPerStep: number;
  readonly evaluationSecondsPerImage: number;
  readonly height: number;
  readonly width: number;
  /** The batch the numbers are for. */
  readonly batchSize: number;
  /** The batch the steps were timed at (smaller where the real one would not fit in memory). */
  readonly measuredBatchSize: number;
  /** Timed training steps (after one untimed warm-up step). */
  readonly steps: number;
  readonly backend: string;
}

export interface MeasureThroughputOptions extends Omit<FinetuneOptions, 'checkpoints' | 'resume' | 'onEpoch' | 'beforeTraining' | 'backboneIdentity'> {
  readonly task: Task;
  /** Training images to cycle through (one batch's worth is enough). */
  readonly images: readonly RawImage[];
  /** Timed training steps; default 2. */
  readonly steps?: number;
  /**
   * Time steps of this many images, and scale to `batchSize` on the assumption that the forward and backward
   * work per image does not depend on the batch while AdamW's update is once per step; default `batchSize`.
   */
  readonly measuredBatchSize?: number;
}

/**
 * Times finetuning on this machine and backend with a throw-away copy of the model: one warm-up step (tfjs
 * compiles and allocates on first use), then `steps` timed steps of the real work (augmentation, forward,
 * backward, AdamW), then one warm-up and one timed scoring batch.
 */
export async function measureThroughput(options: MeasureThroughputOptions): Promise<Throughput> {
  const settings = resolveSettings(options);
  const steps = options.steps ?? 2;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RangeError(`measureThroughput: steps must be a positive integer, got ${String(steps)}`);
  if (options.images.length === 0) throw new RangeError('measureThroughput: needs at least one training image');
  const measuredBatchSize = options.measuredBatchSize ?? settings.batchSize;
  if (!Number.isSafeInteger(measuredBatchSize) || measuredBatchSize < 1)
    throw new RangeError(`measureThroughput: measuredBatchSize must be a positive integer, got ${String(measuredBatchSize)}`);
  const { task } = options;
  const size = inputSize(settings.preprocessing);
  const backbone = await options.backbone();
  const head = LinearHead.initial(backbone.dimension, outputCount(task), 0);
  const optimizer = new AdamW([
    { parameters: trainableParameters(backbone.trainableVariables), learningRate: settings.backboneLearningRate, weightDecay: settings.weightDecay },
    { parameters: trainableParameters(head.variables), learningRate: settings.headLearningRate, weightDecay: settings.weightDecay },
  ]);
  const layout = backbone.inputLayout;
  const shape = (count: number): [number, number, number, number] =>
    layout === 'NCHW' ? [count, 3, size.height, size.width] : [count, size.height, size.width, 3];
  const imageValues = 3 * size.height * size.width;
  const scratch = new Float32Array(imageValues);
  const rng = createRng(0).fork('finetune/throughput');
  const outputs = outputCount(task);
  let optimizerSeconds = 0;
  try {
    const trainStep = async () => {
      const count = measuredBatchSize;
      const values = new Float32Array(count * imageValues);
      for (let index = 0; index < count; index++) {
        const image = options.images[index % options.images.length]!;
        writeAugmentedImage(
          image,
          drawAugmentation(rng, image, size, AUGMENTATION_POLICIES[settings.modality], settings.cropRanges),
          settings.preprocessing,
          values,
          index,
          layout,
          scratch,
        );
      }
      const batch = tf.tensor4d(values, shape(count));
      const targets =
        task.type === 'multilabel'
          ? tf.tensor2d(
              Float32Array.from({ length: count * outputs }, (_, index) => index % 2),
              [count, outputs],
            )
          : tf.tensor1d(
              Int32Array.from({ length: count }, (_, index) => index % outputs),
              'int32',
            );
      const { value, grads } = tf.variableGrads(() => {
        const embeddings = backbone.embed(batch, true);
        checkEmbeddings(embeddings, head);
        return classificationLoss(task, head.logits(embeddings), targets);
      }, optimizer.variables);
      await value.data();
      const updating = performance.now();
      optimizer.step(grads, 1);
      await optimizer.variables[0]!.data();
      optimizerSeconds += (performance.now() - updating) / 1000;
      tf.dispose([value, ...Object.values(grads), batch, targets]);
    };
    const evaluationBatch = async () => {
      const count = Math.min(settings.evaluationBatchSize, 2 * measuredBatchSize);
      const values = new Float32Array(count * imageValues);
      for (let index = 0; index < count; index++)
        writeEvaluationImage(options.images[index % options.images.length]!, settings.preprocessing, values, index, layout, scratch);
      const logits = tf.tidy(() => head.logits(backbone.embed(tf.tensor4d(values, shape(count)), false)));
      await logits.data();
      logits.dispose();
    };
    await trainStep();
    optimizerSeconds = 0;
    let started = performance.now();
    for (let step = 0; step < steps; step++) await trainStep();
    const trainSeconds = (performance.now() - started) / 1000;
    await evaluationBatch();
    started = performance.now();
    await evaluationBatch();
    const evaluationSeconds = (performance.now() - started) / 1000;
    const optimizerSecondsPerStep = optimizerSeconds / steps;
    const workPerImage = (trainSeconds / steps - optimizerSecondsPerStep) / measuredBatchSize;
    return {
      trainSecondsPerImage: workPerImage + optimizerSecondsPerStep / settings.batchSize,
      optimizerSecondsPerStep,
      evaluationSecondsPerImage: evaluationSeconds / Math.min(settings.evaluationBatchSize, 2 * measuredBatchSize),
      height: size.height,
      width: size.width,
      batchSize: settings.batchSize,
      measuredBatchSize,
      steps,
      backend: tf.getBackend(),
    };
  } finally {
    optimizer.dispose();
    head.dispose();
    backbone.dispose();
  }
}

/**
 * The throughput at another input size, assuming that a step's work apart from the optimiser's update grows
 * with the pixel count (a convolution's does; a ViT's slightly faster, through attention). An
 * extrapolation: per-layer overheads that do not grow with the input make it pessimistic for large inputs
 * measured on small ones; `measureThroughput` at the size itself is the better number.
 */
export function scaleThroughput(throughput: Throughput, height: number, width: number): Throughput {
  const factor = (height * width) / (throughput.height * throughput.width);
  const optimizerPerImage = throughput.optimizerSecondsPerStep / throughput.batchSize;
  return {
    ...throughput,
    trainSecondsPerImage: Math.max(0, throughput.trainSecondsPerImage - optimizerPerImage) * factor + optimizerPerImage,
    evaluationSecondsPerImage: throughput.evaluationSecondsPerImage * factor,
    height,
    width,
  };
}

/** Images a run works through: training rows per run, and the validation and test splits. */
export interface RunPlan {
  /** One entry per run (label fraction × seed): its training rows. */
  readonly trainRows: readonly number[];
  readonly val: number;
  readonly test: number;
  readonly epochs: number;
}

/**
 * Seconds the plan takes at a throughput, if no run stops early: every epoch trains on the run's rows and
 * scores the validation split; the test split is scored once per run.
 */
export function estimateSeconds(throughput: Throughput, plan: RunPlan): number {
  return plan.trainRows.reduce(
    (total, rows) =>
      total +
      plan.epochs * (rows * throughput.trainSecondsPerImage + plan.val * throughput.evaluationSecondsPerImage) +
      plan.test * throughput.evaluationSecondsPerImage,
    0,
  );
}

/** A duration as people read it: `45 s`, `12 min`, `3.4 h`, `6.1 days`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
