import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TRANSFERABILITY_ROWS, ranksOf, scoreFeatureSets } from '@medssl/experiment';
import { readFeatureSet } from '@medssl/store';
import { ESTIMATOR_IDS, ESTIMATORS, type EstimatorId } from '@medssl/transferability';
import { integerOption, pathList, required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl rank --features DIR1,DIR2,... [--estimators ${ESTIMATOR_IDS.join(',')}] [--fraction F --seed S] [--max-rows N] [--json]

Ranks backbones for a task before training anything: transferability estimators score each feature set
(one per backbone, all of one split of one dataset, as "medssl embed" writes them) from its features and
labels alone, in seconds. Higher scores are expected to transfer better. One row per feature set, its
backbone from the manifest, each estimator's score and its rank among the sets.

Estimators: ${ESTIMATORS.map((estimator) => `${estimator.id} (${estimator.title}, ${estimator.reference})`).join('; ')}.
How well they predicted the measured result on your data: "medssl run" scores every (dataset, backbone,
fraction) it extracts, and its report sets each estimator's ranking against the linear probe's.

Options
  --features LIST    feature-set folders, comma-separated (two or more to rank)
  --estimators LIST  which estimators, default all
  --fraction F       score on the label-fraction subset of the split the protocols train on (nested,
                     stratified, seeded), default 1 (the whole split)
  --seed S           the subset's seed and the estimators', default 0
  --max-rows N       score at most N rows: a stratified subset of the same seed, nested in the fraction's,
                     default \${DEFAULT_TRANSFERABILITY_ROWS} (kNN's cost grows with rows², the others' with rows·d²)
  --json             the scores and ranks as JSON
`;

export const rankCommand: Command = {
  name: 'rank',
  summary: 'rank backbones for a task from their features and labels alone (transferability estimators)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        features: { type: 'string' },
        estimators: { type: 'string' },
        fraction: { type: 'string' },
        seed: { type: 'string' },
        'max-rows': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const folders = pathList(required(values.features, 'features'), 'features').map((folder) => resolve(folder));
    const estimators = values.estimators === undefined ? [...ESTIMATOR_IDS] : pathList(values.estimators, 'estimators');
    const unknown = estimators.find((id) => !ESTIMATOR_IDS.includes(id as EstimatorId));
    if (unknown !== undefined) throw new UsageError(`--estimators: unknown estimator ${JSON.stringify(unknown)}; known: ${ESTIMATOR_IDS.join(', ')}`);
    const fraction = values.fraction === undefined ? 1 : Number(values.fraction);
    if (!(fraction > 0 && fraction <= 1)) throw new UsageError(`--fraction must be in (0, 1], got ${JSON.stringify(values.fraction)}`);
    const seed = integerOption(values.seed, 'seed', 0) ?? 0;
    const maxRows = integerOption(values['max-rows'], 'max-rows', 3) ?? DEFAULT_TRANSFERABILITY_ROWS;
    const sets = await Promise.all(folders.map(async (folder) => ({ set: await readFeatureSet(folder), source: folder })));
    const started = performance.now();
    const { task, trainCount, scoredCount, scores } = await scoreFeatureSets(sets, { fraction, seed, maxRows, estimators: estimators as EstimatorId[] });
    const seconds = (performance.now() - started) / 1000;
    const chosen = estimators as EstimatorId[];
    const ranks = Object.fromEntries(chosen.map((id) => [id, ranksOf(scores.map((entry) => entry.scores[id]))])) as Record<EstimatorId, number[]>;
    const { manifest } = sets[0]!.set;
    if (values.json) {
      const rows = scores.map((entry, index) => ({
        folder: folders[index],
        backbone: entry.backbone,
        scores: entry.scores,
        ranks: Object.fromEntries(chosen.map((id) => [id, ranks[id][index]])),
      }));
      io.stdout(
        `${JSON.stringify({ dataset: manifest.dataset, split: manifest.split, task, fraction, seed, rows: trainCount, scoredRows: scoredCount, estimators: chosen, featureSets: rows }, null, 2)}\n`,
      );
      return 0;
    }
    io.stdout(
      `${manifest.dataset.id}/${manifest.split}, ${task.type}: ${trainCount} rows${fraction < 1 ? ` (${fraction * 100} % subset, seed ${seed})` : ''}${scoredCount < trainCount ? `, ${scoredCount} of them scored (--max-rows)` : ''}, ${folders.length} feature sets, scored in ${seconds.toFixed(1)} s; higher is better, rank in brackets\n\n`,
    );
    const width = Math.max(8, ...scores.map((entry) => entry.backbone.length));
    const cell = (text: string) => text.padStart(16);
    io.stdout(`${'backbone'.padEnd(width)}${chosen.map((id) => cell(id)).join('')}\n`);
    scores.forEach((entry, index) => {
      io.stdout(`${entry.backbone.padEnd(width)}${chosen.map((id) => cell(`${formatScore(entry.scores[id])} [${ranks[id][index]}]`)).join('')}\n`);
    });
    return 0;
  },
};

function formatScore(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0) ? value.toExponential(3) : value.toFixed(4);
}
