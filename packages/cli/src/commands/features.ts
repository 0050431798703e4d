import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { copyFeatureSet, defaultFeatureStore, listFeatureStore, mergeFeatureSets, verifyStoreEntry } from '@medssl/store';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl features list [--store DIR]
  medssl features verify FOLDER... | --store DIR
  medssl features merge SHARD_FOLDER... [--store DIR] [--out DIR]

list    the feature store's entries: key, dataset/split, backbone, rows, state, size
verify  checks feature-set folders: every file's size and SHA-256 against the manifest, the key against
        its inputs, shapes, ids; with --store, every entry of the store, interrupted ones chunk by chunk.
        Exits with 1 when anything fails.
merge   joins the shards of "medssl embed --shard i/n" (their --out folders, or their store folders) into
        one feature set; refuses rows that are missing or appear twice, naming them. The result equals an
        unsharded run's features.npy byte for byte and carries its key: with --store it lands where an
        unsharded "medssl embed" would look, so that run reuses it; --out writes (or also copies) it to DIR.

Options
  --store DIR   the feature store; default $MEDSSL_STORE, else ~/.cache/medssl/features
  --out DIR     (merge) write the merged feature set into DIR (with --store: a copy of the stored one)
`;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export const featuresCommand: Command = {
  name: 'features',
  summary: 'list, verify and merge stored feature sets (merge joins the shards of embed --shard)',
  usage,
  async run(argv, io) {
    const [action, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { store: { type: 'string' }, out: { type: 'string' } },
    });
    switch (action) {
      case 'list': {
        if (positionals.length > 0) throw new UsageError(`features list takes no folders, got ${JSON.stringify(positionals[0])}`);
        const store = resolve(values.store ?? defaultFeatureStore());
        const entries = await listFeatureStore(store);
        if (entries.length === 0) {
          io.stdout(`${store}: no stored features\n`);
          return 0;
        }
        const rows = entries.map((entry) => {
          const inputs = entry.keyInputs;
          const state =
            entry.state === 'in progress'
              ? `in progress (${entry.chunksRecorded}/${entry.chunksTotal} chunks)`
              : entry.state === 'complete'
                ? `${entry.count} x ${entry.dimension}`
                : 'unknown';
          return [
            entry.key.slice(0, 16),
            inputs ? `${inputs.dataset.id}/${inputs.split}` : '?',
            inputs ? `rows ${inputs.rows.start}..${inputs.rows.end - 1}` : '',
            inputs?.backbone.id ?? '?',
            state,
            formatBytes(entry.bytes),
            entry.created ?? '',
          ];
        });
        const header = ['key', 'dataset/split', 'rows', 'backbone', 'state', 'size', 'created'];
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
        const line = (cells: readonly string[]) =>
          `${cells
            .map((cell, column) => cell.padEnd(widths[column]!))
            .join('  ')
            .trimEnd()}\n`;
        io.stdout(`${store}\n${line(header)}${rows.map(line).join('')}`);
        return 0;
      }
      case 'verify': {
        let folders = positionals.map((folder) => resolve(folder));
        if (values.store !== undefined) {
          if (folders.length > 0) throw new UsageError('features verify takes folders or --store, not both');
          folders = (await listFeatureStore(resolve(values.store))).map((entry) => entry.folder);
          if (folders.length === 0) io.stdout(`${resolve(values.store)}: no stored features\n`);
        } else if (folders.length === 0) {
          throw new UsageError('features verify needs feature-set folders, or --store DIR');
        }
        let failed = 0;
        for (const folder of folders) {
          const check = await verifyStoreEntry(folder);
          const progress =
            'inProgress' in check && check.inProgress ? `, interrupted: ${check.inProgress.chunksDone} of ${check.inProgress.chunksTotal} chunks good` : '';
          if (check.problems.length === 0 && (check.manifest || progress)) {
            io.stdout(`ok      ${folder}${check.manifest ? ` (${check.manifest.count} x ${check.manifest.dimension})` : ''}${progress}\n`);
          } else {
            failed++;
            io.stdout(
              `FAILED  ${folder}${progress}\n${(check.problems.length > 0 ? check.problems : ['not a feature-set folder']).map((problem) => `        ${problem}\n`).join('')}`,
            );
          }
        }
        if (failed > 0) io.stderr(`medssl features verify: ${failed} of ${folders.length} failed\n`);
        return failed > 0 ? 1 : 0;
      }
      case 'merge': {
        if (positionals.length === 0) throw new UsageError('features merge needs the shard folders to join');
        if (values.out === undefined && values.store === undefined) throw new UsageError('features merge needs --out DIR, --store DIR, or both');
        const target = values.store !== undefined ? { store: resolve(values.store) } : { out: resolve(values.out!) };
        const merged = await mergeFeatureSets(
          positionals.map((folder) => resolve(folder)),
          target,
        );
        let folder = merged.folder;
        if (values.store !== undefined && values.out !== undefined) {
          folder = resolve(values.out);
          await copyFeatureSet(merged.folder, folder);
        }
        const { count, dimension, rows } = merged.manifest;
        io.stderr(
          merged.reused
            ? `the store already holds these ${count} x ${dimension} features (rows ${rows.start}..${rows.end - 1}, key ${merged.key.slice(0, 16)}); nothing written\n`
            : `merged ${positionals.length} shard${positionals.length === 1 ? '' : 's'} into ${count} x ${dimension} features (rows ${rows.start}..${rows.end - 1}, key ${merged.key.slice(0, 16)})\n`,
        );
        io.stdout(`${folder}\n`);
        return 0;
      }
      default:
        throw new UsageError(
          action === undefined ? 'features needs an action: list, verify or merge' : `unknown action "${action}"; actions: list, verify, merge`,
        );
    }
  },
};
