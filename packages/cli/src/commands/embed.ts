import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { batches, mapConcurrent, outputCount, preprocessInto, preprocessedShape } from '@medssl/core';
import { writeFeatureSet } from '@medssl/core/node';
import { onnxModelEmbedder, onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone, Dataset, Embedder, FeatureManifest, Preprocessing, TargetArray } from '@medssl/spec';
import { numberList, required } from '../arguments.js';
import { loadWeights, resolveBackbone, BACKBONE_IDS } from '../backbones.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { openDataset } from '../datasets.js';
import { createProgress } from '../progress.js';

const usage = `Usage
  medssl embed --dataset ID --root DIR --split NAME --backbone ID [--weights FILE] --out DIR [options]

Embeds one split of a dataset with a pretrained backbone and writes a feature-set folder:
features.npy (float32 [N, D]), targets.npy, ids.json, manifest.json (numpy reads them as they are).

Options
  --runtime onnx        the runtime (onnxruntime-node); default onnx
  --batch N             images per inference call, default 16
  --threads N           inference threads, default: onnxruntime's choice
  --limit N             embed only the first N samples of the split
  --resize N            resize the shorter side to N instead of the backbone's default
  --crop N              centre crop N x N instead of the backbone's default
  --seed N              seed of random:* weights, default 0
  --output-name NAME    (onnx:<path> backbones) the model output holding the embedding
  --mean R,G,B --std R,G,B  (onnx:<path>) normalisation of the model's input

Backbones: ${BACKBONE_IDS.join(', ')}, onnx:<path>
`;

export const embedCommand: Command = {
  name: 'embed',
  summary: 'embed a dataset split with a pretrained backbone into a feature-set folder',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        dataset: { type: 'string' },
        root: { type: 'string' },
        split: { type: 'string' },
        backbone: { type: 'string' },
        weights: { type: 'string' },
        out: { type: 'string' },
        runtime: { type: 'string', default: 'onnx' },
        batch: { type: 'string' },
        threads: { type: 'string' },
        limit: { type: 'string' },
        resize: { type: 'string' },
        crop: { type: 'string' },
        seed: { type: 'string' },
        'output-name': { type: 'string' },
        mean: { type: 'string' },
        std: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (values.runtime !== 'onnx') throw new UsageError(`--runtime ${values.runtime} is not available here; use onnx`);
    const integer = (text: string | undefined, option: string, fallback?: number) => {
      if (text === undefined) return fallback;
      const value = Number(text);
      if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--${option} must be a positive integer, got "${text}"`);
      return value;
    };
    const batchSize = integer(values.batch, 'batch', 16)!;
    const threads = integer(values.threads, 'threads');
    const limit = integer(values.limit, 'limit');
    const seed = values.seed === undefined ? 0 : Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
    const datasetId = required(values.dataset, 'dataset');
    const root = required(values.root, 'root');
    const backboneId = required(values.backbone, 'backbone');
    const split = required(values.split, 'split');
    const out = resolve(required(values.out, 'out'));
    let embedder: Embedder;
    let weightsSha256: string;
    let preprocessing: Preprocessing;
    if (backboneId.startsWith('onnx:')) {
      const path = backboneId.slice('onnx:'.length);
      preprocessing = overridePreprocessing(
        {
          resize: { size: 256, interpolation: 'bilinear' },
          centerCrop: 224,
          ...(values.mean || values.std ? { normalize: { mean: triple(values.mean, 'mean'), std: triple(values.std, 'std') } } : {}),
          channels: 3,
        },
        values.resize,
        values.crop,
      );
      embedder = await onnxModelEmbedder(path, { outputName: required(values['output-name'], 'output-name'), preprocessing, ...(threads ? { threads } : {}) });
      weightsSha256 = await fileSha256(path);
    } else {
      const backbone = resolveBackbone(backboneId);
      const weights = await loadWeights(backbone, values.weights, seed);
      preprocessing = overridePreprocessing(backbone.preprocessing, values.resize, values.crop);
      const adjusted: Backbone = { ...backbone, preprocessing };
      // Decoding and preprocessing share the cores between inference calls: idle inference threads must not spin.
      embedder = await onnxRuntime({ spinning: false }).createEmbedder(adjusted, weights, threads ? { threads } : {});
      weightsSha256 = weights.sha256;
    }
    try {
      const dataset = await openDataset(datasetId, root);
      if (!dataset.splits.includes(split)) throw new UsageError(`${dataset.id} has no split "${split}"; its splits are ${dataset.splits.join(', ')}`);
      const set = await embedSplit(dataset, split, embedder, preprocessing, { batchSize, limit, io });
      const manifest: FeatureManifest = {
        format: 'medssl.features/v1',
        dataset: { id: dataset.id, version: dataset.version },
        task: dataset.task,
        split,
        backbone: embedder.backboneId,
        weightsSha256,
        preprocessing,
        runtime: { id: 'onnx', provider: embedder.provider, precision: embedder.precision },
        count: set.ids.length,
        dimension: embedder.dimension,
        created: new Date().toISOString(),
      };
      await writeFeatureSet(out, { ...set, manifest });
      for (const issue of dataset.issues?.() ?? []) io.stderr(`note: ${issue.message}\n`);
      io.stderr(`wrote ${set.ids.length} x ${embedder.dimension} features to ${out} (${embedder.backboneId} on ${embedder.provider})\n`);
      return 0;
    } finally {
      await embedder.dispose();
    }
  },
};

function triple(text: string | undefined, option: string): [number, number, number] {
  const values = numberList(required(text, option), option, []);
  if (values.length !== 3) throw new UsageError(`--${option} needs 3 comma-separated values (R,G,B), got ${values.length}`);
  return values as [number, number, number];
}

function overridePreprocessing(base: Preprocessing, resize: string | undefined, crop: string | undefined): Preprocessing {
  const size = (text: string, option: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--${option} must be a positive integer, got "${text}"`);
    return value;
  };
  return {
    ...base,
    ...(resize !== undefined ? { resize: { size: size(resize, 'resize'), interpolation: base.resize?.interpolation ?? 'bilinear' } } : {}),
    ...(crop !== undefined ? { centerCrop: size(crop, 'crop') } : {}),
  };
}

async function fileSha256(path: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Decodes and preprocesses ahead of inference (a bounded number of images in flight), embeds in batches,
 * and gathers features, targets and ids in the split's order.
 */
export async function embedSplit(
  dataset: Dataset,
  split: string,
  embedder: Embedder,
  preprocessing: Preprocessing,
  options: { batchSize: number; limit?: number; io: CommandIo; signal?: AbortSignal },
): Promise<{ features: { data: Float32Array; shape: [number, number] }; targets: TargetArray; ids: string[] }> {
  const size = await dataset.size(split);
  const count = Math.min(size, options.limit ?? size);
  const [channels, height, width] = embedder.inputShape;
  const imageValues = channels * height * width;
  const features = new Float32Array(count * embedder.dimension);
  const labels = dataset.task.type === 'multilabel' ? outputCount(dataset.task) : 0;
  const classTargets = new Int32Array(labels ? 0 : count);
  const labelTargets = new Uint8Array(count * labels);
  const ids: string[] = [];
  const progress = createProgress(`${dataset.id}/${split} × ${embedder.backboneId}`, count, options.io.stderr);
  const prepared = mapConcurrent(
    dataset.samples(split, { end: count, ...(options.signal ? { signal: options.signal } : {}) }),
    async (sample) => {
      const image = await sample.decode();
      const shape = preprocessedShape(image, preprocessing);
      if (shape[1] !== height || shape[2] !== width) {
        throw new Error(`${sample.source ?? sample.id}: a ${image.width}x${image.height} image preprocesses to ${shape[2]}x${shape[1]}, the backbone takes ${width}x${height}`);
      }
      const input = new Float32Array(imageValues);
      preprocessInto(image, preprocessing, input, 0);
      return { sample, input };
    },
    { concurrency: options.batchSize * 2, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const batchData = new Float32Array(options.batchSize * imageValues);
  let row = 0;
  for await (const group of batches(prepared, options.batchSize)) {
    group.forEach(({ input }, index) => batchData.set(input, index * imageValues));
    const embeddings = await embedder.embed({ data: batchData.subarray(0, group.length * imageValues), shape: [group.length, channels, height, width] });
    features.set(embeddings.data, row * embedder.dimension);
    for (const { sample } of group) {
      if (typeof sample.target === 'number') classTargets[row] = sample.target;
      else labelTargets.set(sample.target, row * labels);
      ids.push(sample.id);
      row++;
    }
    progress.update(row);
  }
  progress.finish();
  const targets: TargetArray = labels ? { type: 'labels', data: labelTargets, shape: [count, labels] } : { type: 'class', data: classTargets, shape: [count] };
  return { features: { data: features, shape: [count, embedder.dimension] }, targets, ids };
}
