import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FRACTIONS, assertFraction, assertSeed, cutText, evaluateLabelFractions } from '@medssl/core';
import { readFeatureSet } from '@medssl/store';
import {
  DEFAULT_BACKBONE_LEARNING_RATE,
  DEFAULT_BATCH_SIZE,
  DEFAULT_EPOCHS,
  DEFAULT_HEAD_LEARNING_RATE,
  DEFAULT_PATIENCE,
  MODALITIES,
} from '@medssl/protocol-finetune';
import {
  FINETUNE_RUNTIMES,
  featureSetSource,
  markdownSummary,
  runFinetuneEvaluation,
  writeEvaluationDocument,
  type FinetuneRuntimeName,
  type Registry,
} from '@medssl/experiment';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import type { FeatureSet, Modality, Protocol } from '@medssl/spec';
import { datasetOptions, integerOption, nonNegativeOption, numberList, required } from '../arguments.js';
import { UsageError, type Command, type CommandIo } from '../command.js';

const usageOf = (registry: Registry) => `Usage
  medssl eval linear|knn --train DIR --val DIR --test DIR --out FILE.json [options]
  medssl eval finetune --dataset ID --root DIR --backbone ID [--weights FILE] --out FILE.json [options]

Evaluates frozen features (feature-set folders written by "medssl embed") at label fractions and seeds.
The task comes from the feature sets' manifests. Subset index files are written beside FILE.json.

Options
  --fractions LIST   label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST       seeds, default 0
  --k LIST           (knn) neighbour counts to choose from, default 10,20,100,200
  --temperature T    (knn) vote temperature, default 0.07
  --out FILE.json    results: config, versions, one row per fraction and seed, mean ± std per fraction

Finetuning (images, TensorFlow.js): the backbone plus a linear head trained with AdamW (one learning rate
for each), warm-up and cosine schedule, early stopping on the validation primary metric, random resized
crops and the modality's flips and rotations. Before training it times a few steps and prints how long the
requested run and the full-size run (full dataset, 224x224) would take on this runtime.
  --dataset ID           ${registry.datasetIds().join(', ')}
  --root DIR             the dataset's folder (a CSV file for folder)
  --dataset-option KEY=VALUE  an option of the dataset's plugin (see its README), repeatable
  --backbone ID          ${registry
    .backboneIds()
    .filter((id) => registry.backboneProvider(id)?.variantPattern === undefined)
    .join(', ')}
  --weights FILE         the backbone's checkpoint (random:* take none: --weights-seed draws them)
  --weights-seed N       seed of random:* weights, default 0
  --fractions LIST       label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST           seeds, default 0
  --epochs N             epochs at most, default ${DEFAULT_EPOCHS}
  --patience N           epochs without a better validation metric before stopping, default ${DEFAULT_PATIENCE}
  --batch N              training images per step, default ${DEFAULT_BATCH_SIZE}
  --backbone-lr X        peak learning rate of the backbone, default ${DEFAULT_BACKBONE_LEARNING_RATE}
  --head-lr X            peak learning rate of the head, default ${DEFAULT_HEAD_LEARNING_RATE}
  --frozen-stages N      keep the stem (0) and the first N stages (ResNet) or blocks (ViT) fixed; default none
  --resize N --crop N    shorter side and centre crop instead of the backbone's (256, 224); the crop is the
                         training input size too, e.g. --resize 64 --crop 64 for a quick run on a CPU
  --modality M           ${MODALITIES.join(', ')}: which flips and rotations; default the dataset's
                         (its plugin says: pcam pathology, aptos fundus, chest X-ray sets chest-xray)
  --runtime R            tfjs-wasm (default; CPU), tfjs-webgpu (GPU; in Node it needs navigator.gpu, e.g. the
                         "webgpu" package), tfjs-cpu (plain JavaScript, tests only)
  --limit N              use N images of each split, evenly spaced through it (for quick runs)
  --eval-limit N         use N images of val and of test (every epoch scores val: on a CPU, the full
                         32,768 PCam validation patches take longer than training at 1 %)
  --checkpoint-dir DIR   save every epoch there (one folder per fraction and seed)
  --resume               continue the runs saved in --checkpoint-dir; finished runs are not repeated
  --estimate-only        print the time estimate and stop
  --estimate-steps N     training steps timed for the estimate (after one untimed), default 2
  --full-estimate M      scale (default): extrapolate the full-size time from the requested size (rough
                         below 64x64); measure: time steps at 224x224 too (a few minutes on a CPU)
`;

export function evalCommand(registry: Registry): Command {
  return {
    name: 'eval',
    summary: 'evaluate stored features (linear probe, kNN) or finetune on images, at label fractions and seeds',
    usage: usageOf(registry),
    async run(argv, io) {
      if (argv[0] === 'finetune') return runFinetuneCommand(registry, argv.slice(1), io);
      const { values, positionals } = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: {
          train: { type: 'string' },
          val: { type: 'string' },
          test: { type: 'string' },
          out: { type: 'string' },
          fractions: { type: 'string' },
          seeds: { type: 'string' },
          k: { type: 'string' },
          temperature: { type: 'string' },
        },
      });
      const [protocolName, ...extra] = positionals;
      if (protocolName !== 'linear' && protocolName !== 'knn') {
        throw new UsageError(
          `expected "linear" or "knn" after "eval", got ${protocolName === undefined ? 'nothing' : JSON.stringify(protocolName)} (or "finetune" first, which trains on images)`,
        );
      }
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
      if (protocolName === 'linear' && (values.k !== undefined || values.temperature !== undefined)) {
        throw new UsageError('--k and --temperature apply to knn only');
      }
      const folders = { train: required(values.train, 'train'), val: required(values.val, 'val'), test: required(values.test, 'test') };
      const out = resolve(required(values.out, 'out'));
      const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
      const seeds = numberList(values.seeds, 'seeds', [0]);
      const protocolOptions =
        protocolName === 'knn'
          ? {
              ...(values.k ? { ks: numberList(values.k, 'k', []) } : {}),
              ...(values.temperature ? { temperature: numberList(values.temperature, 'temperature', [])[0]! } : {}),
            }
          : {};
      const protocol: Protocol = protocolName === 'knn' ? knnProbe(protocolOptions) : linearProbe();

      const [train, val, test] = await Promise.all([readFeatureSet(folders.train), readFeatureSet(folders.val), readFeatureSet(folders.test)]);
      checkCompatible({ train, val, test }, folders);
      const task = train.manifest.task;
      io.stderr(
        `${protocolName} on ${train.manifest.dataset.id} × ${train.manifest.backbone}: ${train.ids.length} train, ${val.ids.length} val, ${test.ids.length} test rows; ${fractions.length} fractions × ${seeds.length} seeds\n`,
      );
      const started = Date.now();
      const result = await evaluateLabelFractions({
        protocol,
        input: { task, train, val, test },
        pool: train,
        dataset: train.manifest.dataset.id,
        fractions,
        seeds,
        onRow: (row, done, total) => {
          const primary = row.metrics[task.primaryMetric];
          io.stderr(
            `  [${done}/${total}] fraction ${row.fraction}, seed ${row.seed}: ${task.primaryMetric} ${primary?.toFixed(4)} (${row.trainCount} training rows, ${JSON.stringify(row.selected)})\n`,
          );
        },
      });
      await writeEvaluationDocument(out, {
        protocol: protocolName,
        protocolOptions,
        source: featureSetSource({ train, val, test }, folders),
        fractions,
        seeds,
        result,
        elapsedMilliseconds: Date.now() - started,
      });
      io.stdout(markdownSummary(task.primaryMetric, result.summary, `${protocolName} · ${train.manifest.dataset.id} · ${train.manifest.backbone}`));
      io.stderr(`wrote ${out}\n`);
      return 0;
    },
  };
}

/** Checks that the three splits' feature sets come from the same dataset, task and backbone; names read from manifests are cut short. */
export function checkCompatible(sets: Record<'train' | 'val' | 'test', FeatureSet>, folders: Record<string, string>): void {
  const reference = sets.train.manifest;
  for (const split of ['val', 'test'] as const) {
    const manifest = sets[split].manifest;
    const where = `${folders[split]} (--${split})`;
    if (manifest.dimension !== reference.dimension)
      throw new Error(`${where} has ${manifest.dimension}-d features, ${folders.train} (--train) ${reference.dimension}-d`);
    if (JSON.stringify(manifest.task) !== JSON.stringify(reference.task)) throw new Error(`${where} has a different task than ${folders.train} (--train)`);
    if (manifest.backbone !== reference.backbone || manifest.weightsSha256 !== reference.weightsSha256) {
      throw new Error(
        `${where} was embedded by ${cutText(manifest.backbone)} (weights ${manifest.weightsSha256.slice(0, 12)}), --train by ${cutText(reference.backbone)} (weights ${reference.weightsSha256.slice(0, 12)})`,
      );
    }
    if (manifest.dataset.id !== reference.dataset.id)
      throw new Error(`${where} is from dataset ${cutText(manifest.dataset.id)}, --train from ${cutText(reference.dataset.id)}`);
  }
}

/** `medssl eval finetune`: trains backbone + head on images at label fractions and seeds. */
async function runFinetuneCommand(registry: Registry, argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dataset: { type: 'string' },
      root: { type: 'string' },
      backbone: { type: 'string' },
      weights: { type: 'string' },
      'weights-seed': { type: 'string' },
      fractions: { type: 'string' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      batch: { type: 'string' },
      'backbone-lr': { type: 'string' },
      'head-lr': { type: 'string' },
      'frozen-stages': { type: 'string' },
      resize: { type: 'string' },
      crop: { type: 'string' },
      modality: { type: 'string' },
      runtime: { type: 'string', default: 'tfjs-wasm' },
      limit: { type: 'string' },
      'eval-limit': { type: 'string' },
      'checkpoint-dir': { type: 'string' },
      resume: { type: 'boolean', default: false },
      'estimate-only': { type: 'boolean', default: false },
      'estimate-steps': { type: 'string' },
      'full-estimate': { type: 'string' },
      out: { type: 'string' },
      'dataset-option': { type: 'string', multiple: true },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const integer = (option: string, minimum: number) => integerOption(values[option as keyof typeof values] as string | undefined, option, minimum);
  const positive = (option: string) => nonNegativeOption(values[option as keyof typeof values] as string | undefined, option);
  const runtimeName = values.runtime!;
  if (FINETUNE_RUNTIMES[runtimeName] === undefined)
    throw new UsageError(`--runtime ${runtimeName} cannot finetune; use one of ${Object.keys(FINETUNE_RUNTIMES).join(', ')}`);
  const datasetId = required(values.dataset, 'dataset');
  const root = required(values.root, 'root');
  const backboneId = required(values.backbone, 'backbone');
  const out = values['estimate-only'] ? undefined : resolve(required(values.out, 'out'));
  const modality = values.modality;
  if (modality !== undefined && !MODALITIES.includes(modality as Modality))
    throw new UsageError(`--modality must be one of ${MODALITIES.join(', ')}, got "${modality}"`);
  if (values.resume && values['checkpoint-dir'] === undefined) throw new UsageError('--resume needs --checkpoint-dir: the folder the runs were saved in');
  const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
  const seeds = numberList(values.seeds, 'seeds', [0]);
  fractions.forEach((fraction) => assertFraction(fraction));
  seeds.forEach((seed) => assertSeed(seed));
  const limit = integer('limit', 1);
  const evalLimit = integer('eval-limit', 1);
  const frozenStages = integer('frozen-stages', 0);
  const weightsSeed = integer('weights-seed', 0) ?? 0;
  const estimateSteps = integer('estimate-steps', 1) ?? 2;
  const fullEstimate = values['full-estimate'] ?? 'scale';
  if (fullEstimate !== 'measure' && fullEstimate !== 'scale') throw new UsageError(`--full-estimate must be measure or scale, got "${fullEstimate}"`);

  // A method named by free text (onnx:<path>) makes model files: they embed as they are, they cannot train.
  const trainable = () => registry.backboneIds().filter((id) => registry.backboneProvider(id)?.variantPattern === undefined);
  if (registry.backboneProvider(backboneId)?.variantPattern !== undefined)
    throw new UsageError(`${backboneId}: a model file cannot train here; finetune one of ${trainable().join(', ')}`);
  const backbone = registry.backbone(backboneId);
  if (values['weights-seed'] !== undefined && backbone.weightSource !== 'seed')
    throw new UsageError(`--weights-seed draws random weights; ${backbone.id} takes --weights FILE`);
  const officialSizes = registry.datasetInfo(datasetId)?.officialSizes;
  const document = await runFinetuneEvaluation({
    dataset: await registry.openDataset(datasetId, root, datasetOptions(values['dataset-option'])),
    datasetRoot: root,
    ...(officialSizes ? { officialSizes } : {}),
    backbone,
    ...(values.weights !== undefined ? { weightsPath: values.weights } : {}),
    weightsSeed,
    runtime: runtimeName as FinetuneRuntimeName,
    ...(modality !== undefined ? { modality: modality as Modality } : {}),
    ...optional('epochs', integer('epochs', 1)),
    ...optional('patience', integer('patience', 1)),
    ...optional('batchSize', integer('batch', 1)),
    ...optional('backboneLearningRate', positive('backbone-lr')),
    ...optional('headLearningRate', positive('head-lr')),
    ...optional('frozenStages', frozenStages),
    ...optional('resize', integer('resize', 1)),
    ...optional('crop', integer('crop', 1)),
    fractions,
    seeds,
    ...optional('limit', limit),
    ...optional('evalLimit', evalLimit),
    ...(values['checkpoint-dir'] !== undefined ? { checkpointDir: values['checkpoint-dir'], resume: values.resume } : {}),
    estimateSteps,
    fullEstimate,
    ...(out !== undefined ? { out } : {}),
    io,
  });
  if (document !== undefined) io.stderr(`wrote ${out}\n`);
  return 0;
}

function optional<Key extends string>(key: Key, value: number | undefined): Partial<Record<Key, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<Key, number>);
}
