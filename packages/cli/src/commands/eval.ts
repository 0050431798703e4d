import { dirname, join, relative, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_FRACTIONS, evaluateLabelFractions, type LabelFractionEvaluation } from '@medssl/core';
import { readFeatureSet, saveSubsetFiles, writeFileAtomic } from '@medssl/core/node';
import { knnProbe } from '@medssl/protocol-knn';
import { linearProbe } from '@medssl/protocol-linear';
import type { FeatureSet, Protocol } from '@medssl/spec';
import { numberList, required } from '../arguments.js';
import { UsageError, type Command, type CommandIo } from '../command.js';
import { markdownSummary } from '../report-table.js';
import { version } from '../version.js';

const usage = `Usage
  medssl eval linear|knn --train DIR --val DIR --test DIR --out FILE.json [options]

Evaluates frozen features (feature-set folders written by "medssl embed") at label fractions and seeds.
The task comes from the feature sets' manifests. Subset index files are written beside FILE.json.

Options
  --fractions LIST   label fractions, default ${DEFAULT_FRACTIONS.join(',')}
  --seeds LIST       seeds, default 0
  --k LIST           (knn) neighbour counts to choose from, default 10,20,100,200
  --temperature T    (knn) vote temperature, default 0.07
  --out FILE.json    results: config, versions, one row per fraction and seed, mean ± std per fraction
`;

type ProtocolName = 'linear' | 'knn';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate stored features: linear probe or kNN at label fractions and seeds',
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
        fractions: { type: 'string' },
        seeds: { type: 'string' },
        k: { type: 'string' },
        temperature: { type: 'string' },
      },
    });
    const [protocolName, ...extra] = positionals;
    if (protocolName !== 'linear' && protocolName !== 'knn') {
      throw new UsageError(`expected "linear" or "knn" after "eval", got ${protocolName === undefined ? 'nothing' : JSON.stringify(protocolName)}`);
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
        ? { ...(values.k ? { ks: numberList(values.k, 'k', []) } : {}), ...(values.temperature ? { temperature: numberList(values.temperature, 'temperature', [])[0]! } : {}) }
        : {};
    const protocol: Protocol = protocolName === 'knn' ? knnProbe(protocolOptions) : linearProbe();

    const [train, val, test] = await Promise.all([readFeatureSet(folders.train), readFeatureSet(folders.val), readFeatureSet(folders.test)]);
    checkCompatible({ train, val, test }, folders);
    const task = train.manifest.task;
    io.stderr(`${protocolName} on ${train.manifest.dataset.id} × ${train.manifest.backbone}: ${train.ids.length} train, ${val.ids.length} val, ${test.ids.length} test rows; ${fractions.length} fractions × ${seeds.length} seeds\n`);
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
        io.stderr(`  [${done}/${total}] fraction ${row.fraction}, seed ${row.seed}: ${task.primaryMetric} ${primary?.toFixed(4)} (${row.trainCount} training rows, ${JSON.stringify(row.selected)})\n`);
      },
    });
    await writeResults(out, protocolName, protocolOptions, { train, val, test }, folders, fractions, seeds, result, Date.now() - started);
    io.stdout(markdownSummary(task.primaryMetric, result.summary, `${protocolName} · ${train.manifest.dataset.id} · ${train.manifest.backbone}`));
    io.stderr(`wrote ${out}\n`);
    return 0;
  },
};

function checkCompatible(sets: Record<'train' | 'val' | 'test', FeatureSet>, folders: Record<string, string>): void {
  const reference = sets.train.manifest;
  for (const split of ['val', 'test'] as const) {
    const manifest = sets[split].manifest;
    const where = `${folders[split]} (--${split})`;
    if (manifest.dimension !== reference.dimension) throw new Error(`${where} has ${manifest.dimension}-d features, ${folders.train} (--train) ${reference.dimension}-d`);
    if (JSON.stringify(manifest.task) !== JSON.stringify(reference.task)) throw new Error(`${where} has a different task than ${folders.train} (--train)`);
    if (manifest.backbone !== reference.backbone || manifest.weightsSha256 !== reference.weightsSha256) {
      throw new Error(`${where} was embedded by ${manifest.backbone} (weights ${manifest.weightsSha256.slice(0, 12)}), --train by ${reference.backbone} (weights ${reference.weightsSha256.slice(0, 12)})`);
    }
    if (manifest.dataset.id !== reference.dataset.id) throw new Error(`${where} is from dataset ${manifest.dataset.id}, --train from ${reference.dataset.id}`);
  }
}

async function writeResults(
  out: string,
  protocol: ProtocolName,
  protocolOptions: object,
  sets: Record<'train' | 'val' | 'test', FeatureSet>,
  folders: Record<'train' | 'val' | 'test', string>,
  fractions: readonly number[],
  seeds: readonly number[],
  result: LabelFractionEvaluation,
  elapsedMilliseconds: number,
): Promise<void> {
  const folder = dirname(out);
  await mkdir(folder, { recursive: true });
  const subsetFolder = join(folder, 'subsets');
  await mkdir(subsetFolder, { recursive: true });
  const subsetFiles = await saveSubsetFiles(subsetFolder, result.subsets);
  const document = {
    format: 'medssl.eval/v1',
    created: new Date().toISOString(),
    versions: { medssl: version, node: process.version },
    protocol,
    config: { fractions, seeds, options: protocolOptions },
    task: sets.train.manifest.task,
    dataset: sets.train.manifest.dataset,
    backbone: sets.train.manifest.backbone,
    weightsSha256: sets.train.manifest.weightsSha256,
    inputs: Object.fromEntries(
      (['train', 'val', 'test'] as const).map((split) => [split, { folder: resolve(folders[split]), count: sets[split].ids.length, manifest: sets[split].manifest }]),
    ),
    subsetFiles: subsetFiles.map((path) => relative(folder, path)),
    elapsedSeconds: elapsedMilliseconds / 1000,
    rows: result.rows,
    summary: result.summary,
  };
  await writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`);
}
