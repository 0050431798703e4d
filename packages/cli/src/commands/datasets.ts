import { parseArgs } from 'node:util';
import { targetNames } from '@medssl/core';
import type { Registry } from '@medssl/experiment';
import type { Dataset, DatasetInfo, Task } from '@medssl/spec';
import { datasetOptions, required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';

const usageOf = (registry: Registry) => `Usage
  medssl datasets list [--json]
  medssl datasets stats <dataset-id> --root DIR [--dataset-option KEY=VALUE ...] [--json]

list    names every dataset plugin and the on-disk layout it expects
stats   counts the samples of each split, per class (per label for multilabel tasks), without decoding

Dataset ids: ${registry.datasetIds().join(', ')}.
`;

export interface DatasetStatistics {
  readonly dataset: string;
  readonly task: Task;
  readonly splits: Record<string, { count: number; classes: Record<string, number> }>;
}

/** Counts per split and per class (positives per label), reading targets only. */
export async function datasetStatistics(dataset: Dataset): Promise<DatasetStatistics> {
  const names = targetNames(dataset.task);
  const splits: DatasetStatistics['splits'] = {};
  for (const split of dataset.splits) {
    const classes = Object.fromEntries(names.map((name) => [name, 0]));
    let count = 0;
    for await (const sample of dataset.samples(split)) {
      count++;
      if (typeof sample.target === 'number') classes[names[sample.target]!]!++;
      else sample.target.forEach((flag, label) => (classes[names[label]!]! += flag));
    }
    splits[split] = { count, classes };
  }
  return { dataset: dataset.id, task: dataset.task, splits };
}

function describePlugin(info: DatasetInfo): string {
  const layout = info.layout
    .trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  const modality = info.modality ? `\n      modality: ${info.modality}` : '';
  return `  ${info.id}  ${info.title}\n${layout}\n      source: ${info.source}\n      licence: ${info.license}${modality}\n`;
}

function statisticsTable(statistics: DatasetStatistics): string {
  const splitNames = Object.keys(statistics.splits);
  const names = targetNames(statistics.task);
  const header = `| ${statistics.task.type === 'multilabel' ? 'label (positives)' : 'class'} | ${splitNames.join(' | ')} |\n|---|${splitNames.map(() => '---:|').join('')}\n`;
  const rows = names.map((name) => `| ${name} | ${splitNames.map((split) => statistics.splits[split]!.classes[name]).join(' | ')} |\n`).join('');
  const total = `| **samples** | ${splitNames.map((split) => statistics.splits[split]!.count).join(' | ')} |\n`;
  return `${statistics.dataset} (${statistics.task.type})\n\n${header}${rows}${total}`;
}

export function datasetsCommand(registry: Registry): Command {
  const infos = () => registry.datasets.flatMap((provider) => provider.datasets);
  return {
    name: 'datasets',
    summary: 'list the dataset plugins, or count samples per split and class',
    usage: usageOf(registry),
    async run(argv, io) {
      const { values, positionals } = parseArgs({
        args: [...argv],
        allowPositionals: true,
        options: { root: { type: 'string' }, json: { type: 'boolean', default: false }, 'dataset-option': { type: 'string', multiple: true } },
      });
      const [action, id, ...extra] = positionals;
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
      if (action === 'list') {
        if (values.json) io.stdout(`${JSON.stringify(infos(), null, 2)}\n`);
        else io.stdout(`Dataset plugins and the layouts they read:\n\n${infos().map(describePlugin).join('\n')}`);
        return 0;
      }
      if (action !== 'stats') throw new UsageError(`expected "list" or "stats", got ${action === undefined ? 'nothing' : JSON.stringify(action)}`);
      if (id === undefined) throw new UsageError('stats needs a dataset id, e.g. "medssl datasets stats pcam --root DIR"');
      const dataset = await registry.openDataset(id, required(values.root, 'root'), datasetOptions(values['dataset-option']));
      const statistics = await datasetStatistics(dataset);
      io.stdout(values.json ? `${JSON.stringify(statistics, null, 2)}\n` : statisticsTable(statistics));
      for (const issue of dataset.issues?.() ?? []) io.stderr(`note: ${issue.message}\n`);
      return 0;
    },
  };
}
