import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@medssl/arrays/node';
import { presetBackboneIds, runExperimentWithDefaults, writeSyntheticDataset, type ExperimentConfig, type Registry } from '@medssl/experiment';
import { type Command, type CommandIo, UsageError } from '../command.js';

const usage = `Usage
  medssl demo [--out DIR] [--small]

The whole flow offline, in a few minutes on a laptop CPU: generates a small data set of synthetic
stained-tissue patches (64x64, "normal" vs "tumour"), embeds it with two backbones of the real
architectures (ResNet-50 and ViT-S/16, seeded random weights: no download), stores the features, runs
the linear probe and kNN at three label fractions and three seeds, fuses the two backbones with DVME,
and writes an HTML report. Its numbers illustrate the pipeline; they are not the paper's.

Options
  --out DIR    where everything goes, default ./medssl-demo (data/, store/, results, report.html)
  --small      a smaller grid (fewer images, one seed), for a quick look or a test
`;

const DEMO_SEED = 2021;
const DEMO_NOTICE =
  "Demo: synthetic stained-tissue patches and backbones with seeded random weights. These numbers illustrate the pipeline; they are not the paper's and say nothing about real medical images.";

/**
 * The demo's grid, what `medssl run` would read from a config file: the dataset and the backbones that
 * their providers list for the `demo` preset (the folder layout; random ResNet-50 and ViT-S/16).
 */
export function demoExperiment(registry: Registry, dataRoot: string, small: boolean): ExperimentConfig {
  const datasets = registry.datasets.flatMap((provider) =>
    provider.datasets.filter((info) => info.presets?.includes('demo')).map((info) => ({ id: info.id, root: dataRoot })),
  );
  const backbones = presetBackboneIds(registry, 'demo');
  return {
    name: small ? 'demo-small' : 'demo',
    datasets,
    backbones: backbones.map((id) => ({ id, seed: 0 })),
    protocols: ['linear', 'knn'],
    fusions: [{ method: 'dvme', backbones, epochs: small ? 10 : 20 }],
    fractions: [0.05, 0.2, 1],
    seeds: small ? [0] : [0, 1, 2],
    // The patches are 64x64: embedding them at their own size keeps the demo quick (the ViT interpolates
    // its position table to the 4x4 patch grid).
    extraction: { resize: 64, crop: 64, batch: 32 },
  };
}

export function demoCommand(registry: Registry): Command {
  return {
    name: 'demo',
    summary: 'run the whole flow offline on a generated data set, ending in an HTML report',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: 'string' }, small: { type: 'boolean' } } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      const report = await runDemo(registry, { out: resolve(values.out ?? 'medssl-demo'), small: values.small === true, io });
      io.stdout(`${report}\n`);
      return 0;
    },
  };
}

/** Runs the demo into `out` and returns the report's path. Re-running reuses the data, features and results. */
export async function runDemo(registry: Registry, options: { out: string; small: boolean; io: CommandIo; signal?: AbortSignal }): Promise<string> {
  const { out, small, io } = options;
  const started = Date.now();
  io.stderr("medssl demo: synthetic images and random-weight backbones; the numbers illustrate the pipeline, they are not the paper's.\n");
  const sizes = small ? { train: 80, val: 40, test: 40 } : { train: 400, val: 100, test: 200 };
  const dataRoot = join(out, 'data');
  const marker = join(dataRoot, 'generated.json');
  const wanted = JSON.stringify({ generator: 'synthetic-patches/v1', seed: DEMO_SEED, sizes });
  if (!existsSync(marker) || (await readFile(marker, 'utf8')) !== wanted) {
    const count = await writeSyntheticDataset(dataRoot, sizes, DEMO_SEED);
    await writeFileAtomic(marker, wanted);
    io.stderr(`generated ${count} synthetic patches in ${dataRoot}\n`);
  } else {
    io.stderr(`using the synthetic patches in ${dataRoot}\n`);
  }
  const outcome = await runExperimentWithDefaults(demoExperiment(registry, dataRoot, small), {
    providers: registry,
    out,
    io,
    store: join(out, 'store'),
    notice: DEMO_NOTICE,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  io.stderr(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s; open ${outcome.reportFile}\n`);
  io.stderr('These results come from synthetic data and random-weight backbones: they show the pipeline at work and say nothing about real medical images.\n');
  return outcome.reportFile!;
}
