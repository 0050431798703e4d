import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FRACTIONS } from '@medssl/core';
import { DEFAULT_ARCHITECTURE, DEFAULT_TRAINING, FUSION_KINDS, resolveArchitecture, resolveTraining, type FusionKind, type FusionOptions } from '@medssl/dvme';
import { checkFeatureSets, evaluateFusion, markdownSummary } from '@medssl/experiment';
import { TFJS_BACKENDS, type TfjsBackendName } from '@medssl/runtime-tfjs';
import type { FeatureSet } from '@medssl/spec';
import { readFeatureSet } from '@medssl/store';
import { integerOption, nonNegativeOption, numberList, pathList, required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';

type Split = 'train' | 'val' | 'test';
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

const usage = `Usage
  medssl dvme --train DIR1,DIR2[,DIR3...] --val DIR1,DIR2,... --test DIR1,DIR2,... --out FILE.json [options]

Fuses the stored features of several backbones (feature-set folders written by "medssl embed", one per
backbone, in the same backbone order for every split) and evaluates the fusion at label fractions and
seeds, as "medssl eval" does for one backbone. The task comes from the manifests. Subset index files are
written beside FILE.json.

Fusions (--fusion)
  dvme     Dynamic Visual Meta-Embedding: per-backbone projections, self-attention across backbones (default)
  dme      per-backbone projections, softmax-weighted per sample and summed (Kiela et al. 2018)
  concat   the backbones' features side by side and a linear head
  single   a linear head on each backbone alone; the best on the validation split is reported

Options
  --fractions LIST      label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST          seeds, default 0
  --backend NAME        tfjs backend: ${TFJS_BACKENDS.join(', ')}; default wasm
  --epochs N            epochs at most (early stopping on the validation metric), default ${DEFAULT_TRAINING.epochs}
  --batch N             training rows per step, default ${DEFAULT_TRAINING.batchSize}
  --learning-rate X     peak AdamW learning rate, default ${DEFAULT_TRAINING.learningRate}
  --weight-decay X      AdamW weight decay, default ${DEFAULT_TRAINING.weightDecay}
  --patience N          epochs without improvement before stopping, default ${DEFAULT_TRAINING.patience}
  --projection N        width backbones are projected to, default ${DEFAULT_ARCHITECTURE.projection}
  --blocks N            (dvme) attention blocks, default ${DEFAULT_ARCHITECTURE.blocks}
  --heads N             (dvme) attention heads, default ${DEFAULT_ARCHITECTURE.heads}
  --mlp-ratio N         (dvme) MLP width over the projection, default ${DEFAULT_ARCHITECTURE.mlpRatio}
  --dropout X           dropout rate, default ${DEFAULT_ARCHITECTURE.dropout}
  --source-embeddings   (dvme) add a learned embedding per backbone to its token
  --sample-attention    also write every test sample's attention maps (dvme, [n, blocks, heads, K, K]) or
                        source weights (dme, [n, K]) as .npy files beside FILE.json
  --out FILE.json       results: config, versions, one row per fraction and seed (with the attention maps
                        averaged over the test samples), mean ± std per fraction
`;

export const dvmeCommand: Command = {
  name: 'dvme',
  summary: "fuse several backbones' stored features (DVME, DME, concat) at label fractions and seeds",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        train: { type: 'string' },
        val: { type: 'string' },
        test: { type: 'string' },
        out: { type: 'string' },
        fusion: { type: 'string', default: 'dvme' },
        fractions: { type: 'string' },
        seeds: { type: 'string' },
        backend: { type: 'string', default: 'wasm' },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        'learning-rate': { type: 'string' },
        'weight-decay': { type: 'string' },
        patience: { type: 'string' },
        projection: { type: 'string' },
        blocks: { type: 'string' },
        heads: { type: 'string' },
        'mlp-ratio': { type: 'string' },
        dropout: { type: 'string' },
        'source-embeddings': { type: 'boolean' },
        'sample-attention': { type: 'boolean' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const fusion = values.fusion as FusionKind;
    if (!FUSION_KINDS.includes(fusion)) throw new UsageError(`--fusion must be one of ${FUSION_KINDS.join(', ')}, got ${JSON.stringify(values.fusion)}`);
    const backend = values.backend as TfjsBackendName;
    if (!TFJS_BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${TFJS_BACKENDS.join(', ')}, got ${JSON.stringify(values.backend)}`);
    const folders = {
      train: pathList(required(values.train, 'train'), 'train'),
      val: pathList(required(values.val, 'val'), 'val'),
      test: pathList(required(values.test, 'test'), 'test'),
    };
    const out = resolve(required(values.out, 'out'));
    const fractions = numberList(values.fractions, 'fractions', DEFAULT_FRACTIONS);
    const seeds = numberList(values.seeds, 'seeds', [0]);
    const options = fusionOptions(values);
    const minimum = fusion === 'single' ? 1 : 2;
    if (folders.train.length < minimum) {
      throw new UsageError(
        `--train names ${folders.train.length} folder; ${fusion} fuses at least ${minimum} backbones (K >= ${minimum}): give one feature-set folder per backbone, comma-separated`,
      );
    }
    for (const split of ['val', 'test'] as const) {
      if (folders[split].length !== folders.train.length) {
        throw new UsageError(`--${split} names ${folders[split].length} folders, --train ${folders.train.length}; give one per backbone, in the same order`);
      }
    }

    const sets = Object.fromEntries(
      await Promise.all(SPLITS.map(async (split) => [split, await Promise.all(folders[split].map((folder) => readFeatureSet(folder)))] as const)),
    ) as Record<Split, FeatureSet[]>;
    checkFeatureSets(sets, folders);
    const document = await evaluateFusion({ fusion, options, backend, sets, folders, fractions, seeds, out, io });
    io.stdout(markdownSummary(document.task.primaryMetric, document.summary, `${fusion} · ${document.dataset.id} · ${document.sources.join(' + ')}`));
    io.stderr(`wrote ${out}\n`);
    return 0;
  },
};

function fusionOptions(values: Record<string, string | boolean | undefined>): FusionOptions {
  const integer = (option: string) => integerOption(values[option] as string | undefined, option);
  const real = (option: string) => nonNegativeOption(values[option] as string | undefined, option);
  const options: FusionOptions = {
    epochs: integer('epochs'),
    batchSize: integer('batch'),
    learningRate: real('learning-rate'),
    weightDecay: real('weight-decay'),
    patience: integer('patience'),
    projection: integer('projection'),
    blocks: integer('blocks'),
    heads: integer('heads'),
    mlpRatio: integer('mlp-ratio'),
    dropout: real('dropout'),
    sourceEmbeddings: values['source-embeddings'] === true ? true : undefined,
    sampleAttention: values['sample-attention'] === true ? true : undefined,
  };
  try {
    resolveArchitecture(options);
    resolveTraining(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return options;
}
