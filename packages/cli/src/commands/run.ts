import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  PAPER_PROTOCOLS,
  foundationExperiment,
  loadExperimentConfig,
  paperExperiment,
  runExperimentWithDefaults,
  type ExperimentConfig,
  type ProtocolEntry,
  type Registry,
} from '@medssl/experiment';
import { TFJS_BACKENDS, type TfjsBackendName } from '@medssl/runtime-tfjs';
import { defaultFeatureStore } from '@medssl/store';
import { integerOption, required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl run CONFIG --out DIR [--store DIR] [--backend wasm|cpu|webgpu] [--no-report]
  medssl run --preset paper|foundation --data DIR --weights DIR --out DIR [--seeds LIST] [--protocols LIST] [--limit N]

Runs an experiment grid: datasets × backbones × protocols × label fractions × seeds, plus fusions
(DVME, DME, concat) over chosen backbones. Extracts what the feature store lacks (stored features are
reused when their key matches), evaluates each unit, and writes one results document per unit in
DIR/results, then DIR/run.json (all of them), DIR/summary.md (Markdown tables) and DIR/report.html.
Run it again to pick up where it stopped: finished units whose inputs did not change are reused.

CONFIG is JSON or a module (.ts, .js) whose default export is the config (defineExperiment from
@medssl/cli types it). The paper preset needs each data set in its official layout under --data
(pcam/, aptos/, chestxray14/) and the official checkpoints under their published names in --weights.
It runs linear, knn and finetune (--protocols picks some of them); finetuning the full data sets at
224x224 takes days on a CPU: each finetuning unit prints its estimate before it trains, and saves every
epoch in DIR/checkpoints, so a stopped run continues from its last epoch.

The foundation preset asks whether in-domain self-supervised pretraining beats natural-image pretraining
on the paper's tasks: the paper's backbones, the modern natural-image ones its providers list (DINOv2
ViT-S/14 and B/14, MAE ViT-B/16) and, on the tasks of its modality only, each in-domain model (RAD-DINO for
the chest X-ray tasks, Phikon for PCam, RETFound for APTOS); linear and kNN (--protocols may add finetune).
Backbones whose checkpoints are not in --weights, and tasks whose folders are not in --data, are listed
and left out. The report groups backbones by pretraining and says, per task, protocol and fraction,
whether the best in-domain model beats the best natural-image one.

Options
  --out DIR          where results go (required)
  --store DIR        feature store, default $MEDSSL_STORE or ~/.cache/medssl/features
  --backend NAME     tfjs backend for fusions: ${TFJS_BACKENDS.join(', ')}; default wasm
  --no-report        do not render DIR/report.html
  --limit N          (presets) embed only the first N samples of each split: a quick look, not a result
`;

export function runCommand(registry: Registry): Command {
  return {
    name: 'run',
    summary: 'run an experiment grid from a config (extract, evaluate, fuse, report), resumable',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: {
          out: { type: 'string' },
          store: { type: 'string' },
          backend: { type: 'string', default: 'wasm' },
          'no-report': { type: 'boolean' },
          preset: { type: 'string' },
          data: { type: 'string' },
          weights: { type: 'string' },
          seeds: { type: 'string' },
          protocols: { type: 'string' },
          limit: { type: 'string' },
        },
      });
      const out = resolve(required(values.out, 'out'));
      const backend = values.backend as TfjsBackendName;
      if (!TFJS_BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${TFJS_BACKENDS.join(', ')}, got ${JSON.stringify(values.backend)}`);
      let config: ExperimentConfig;
      if (values.preset !== undefined) {
        if (values.preset !== 'paper' && values.preset !== 'foundation')
          throw new UsageError(`unknown preset ${JSON.stringify(values.preset)}; known: paper, foundation`);
        if (positionals.length > 0) throw new UsageError('give either CONFIG or --preset, not both');
        const limit = integerOption(values.limit, 'limit');
        const options = {
          dataRoot: resolve(required(values.data, 'data')),
          weightsRoot: resolve(required(values.weights, 'weights')),
          ...(values.seeds !== undefined ? { seeds: values.seeds.split(',').map(Number) } : {}),
          ...(values.protocols !== undefined ? { protocols: presetProtocols(values.protocols) } : {}),
        };
        if (values.preset === 'paper') config = paperExperiment(registry, options);
        else {
          const foundation = foundationExperiment(registry, options);
          for (const { id, root } of foundation.missingDatasets) io.stderr(`foundation preset: left out ${id}: no folder ${root}\n`);
          for (const { id, expected } of foundation.missing)
            io.stderr(`foundation preset: left out ${id}: no checkpoint in ${options.weightsRoot}; expected ${expected}\n`);
          config = foundation.config;
        }
        if (limit !== undefined) config = { ...config, extraction: { ...config.extraction, limit } };
      } else {
        if (positionals.length !== 1) throw new UsageError('expected one CONFIG file (or --preset paper)');
        if (values.protocols !== undefined) throw new UsageError('--protocols applies to --preset; a CONFIG lists its own protocols');
        if (values.limit !== undefined) throw new UsageError('--limit applies to --preset; a CONFIG sets extraction.limit');
        config = await loadExperimentConfig(positionals[0]!);
      }
      const outcome = await runExperimentWithDefaults(config, {
        providers: registry,
        out,
        io,
        store: resolve(values.store ?? defaultFeatureStore()),
        backend,
        report: values['no-report'] !== true,
      });
      io.stdout(`${outcome.runFile}\n`);
      return 0;
    },
  };
}

function presetProtocols(list: string): ProtocolEntry[] {
  const names = list.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!PAPER_PROTOCOLS.includes(name as ProtocolEntry))
      throw new UsageError(`--protocols: unknown protocol ${JSON.stringify(name)}; known: ${PAPER_PROTOCOLS.join(', ')}`);
  }
  return names as ProtocolEntry[];
}
