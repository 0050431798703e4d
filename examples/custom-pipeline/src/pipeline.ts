// A custom pipeline in code, from the library packages alone: a folder of labelled images, two backbones,
// features through the content-addressed store, and a linear probe at three label fractions.
import { dino } from '@medssl/backbone-dino';
import { random, randomWeights, supervised } from '@medssl/backbone-supervised';
import { evaluateLabelFractions, summarize } from '@medssl/core';
import { extractFeatures, readFeatureSet } from '@medssl/store';
import { folder } from '@medssl/dataset-folder';
import { linearProbe } from '@medssl/protocol-linear';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone, CanonicalWeights } from '@medssl/spec';
import { readCheckpointFile } from '@medssl/weights/node';

export interface PipelineOptions {
  /** A folder of class subfolders (`<root>/<split>/<class>/*.png`), or a CSV manifest. */
  readonly data: string;
  readonly store: string;
  /** Official checkpoints by backbone id; a backbone without one gets seeded random weights (a baseline). */
  readonly checkpoints?: Readonly<Record<string, string>>;
  readonly size?: number;
  readonly fractions?: readonly number[];
  readonly seeds?: readonly number[];
}

/** The backbones compared. Swapping one is one line: e.g. `swav({ variant: 'resnet50' })` for the first. */
export const backbones: readonly Backbone[] = [supervised({ variant: 'resnet50' }), dino({ variant: 'vits16' })];

export async function runPipeline(options: PipelineOptions, list: readonly Backbone[] = backbones) {
  const dataset = await folder({ root: options.data });
  const runtime = onnxRuntime();
  const table = [];
  for (const backbone of list) {
    const weights = await weightsFor(backbone, options.checkpoints?.[backbone.id]);
    const size = options.size ?? 224;
    const preprocessing = {
      ...backbone.preprocessing,
      resize: { size, interpolation: backbone.preprocessing.resize?.interpolation ?? ('bilinear' as const) },
      centerCrop: size,
    };
    // One feature-set folder per split, computed once and reused from the store afterwards.
    const [train, val, test] = await Promise.all(
      ['train', 'val', 'test'].map(async (split) => {
        const extraction = await extractFeatures({ dataset, split, model: { backbone, weights, runtime, preprocessing }, store: options.store, workers: 1 });
        return readFeatureSet(extraction.folder);
      }),
    );
    const evaluation = await evaluateLabelFractions({
      protocol: linearProbe(),
      input: { task: dataset.task, train: train!, val: val!, test: test! },
      pool: train!,
      dataset: dataset.id,
      fractions: options.fractions ?? [0.1, 0.5, 1],
      seeds: options.seeds ?? [0, 1],
    });
    table.push({ backbone: backbone.id, weights: weights.source, summary: evaluation.summary, rows: evaluation.rows });
  }
  return { dataset: dataset.id, task: dataset.task, table };
}

async function weightsFor(backbone: Backbone, checkpoint: string | undefined): Promise<CanonicalWeights> {
  // Without a checkpoint: the same architecture with seeded random weights (the paper's random-init baseline).
  if (checkpoint === undefined) return randomWeights(random({ architecture: backbone.architecture.family === 'vit' ? 'vits16' : 'resnet50' }), 0);
  const file = await readCheckpointFile(checkpoint, { allowOpaqueObjects: ['argparse.Namespace'] });
  return backbone.fromStateDict(file.stateDict, { sha256: file.sha256, source: checkpoint });
}

export { summarize };
