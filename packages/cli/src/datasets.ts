import { aptos, aptosInfo } from '@medssl/dataset-aptos';
import { chestxray14, chestxray14Info, chestxray14Pneumonia, chestxray14PneumoniaInfo } from '@medssl/dataset-chestxray14';
import { folder, folderInfo } from '@medssl/dataset-folder';
import { medmnist, medmnistInfo } from '@medssl/dataset-medmnist';
import { pcam, pcamInfo } from '@medssl/dataset-pcam';
import { pneumonia, pneumoniaInfo } from '@medssl/dataset-pneumonia';
import type { Dataset, DatasetInfo } from '@medssl/spec';
import { UsageError } from './command.js';

/** A dataset plugin as the CLI knows it: its description, and how to open it from an id and a root. */
export interface DatasetPlugin {
  readonly info: DatasetInfo;
  matches(id: string): boolean;
  open(id: string, root: string): Promise<Dataset>;
}

const exact = (info: DatasetInfo, open: (root: string) => Promise<Dataset>): DatasetPlugin => ({
  info,
  matches: (id) => id === info.id,
  open: (_id, root) => open(root),
});

export const datasetPlugins: readonly DatasetPlugin[] = [
  exact(pcamInfo, (root) => pcam({ root })),
  exact(aptosInfo, (root) => aptos({ root })),
  exact(chestxray14Info, (root) => chestxray14({ root })),
  exact(chestxray14PneumoniaInfo, (root) => chestxray14Pneumonia({ root })),
  exact(pneumoniaInfo, (root) => pneumonia({ root })),
  {
    info: medmnistInfo,
    matches: (id) => id.startsWith('medmnist:'),
    open: (id, root) => medmnist({ flag: id.slice('medmnist:'.length), root }),
  },
  // A folder of class subfolders, or a CSV manifest given as the root.
  exact(folderInfo, (root) => folder(root.toLowerCase().endsWith('.csv') ? { csv: root } : { root })),
];

export function findDatasetPlugin(id: string, plugins: readonly DatasetPlugin[] = datasetPlugins): DatasetPlugin {
  const plugin = plugins.find((candidate) => candidate.matches(id));
  if (!plugin) throw new UsageError(`unknown dataset ${JSON.stringify(id)}; known: ${plugins.map((candidate) => candidate.info.id).join(', ')}`);
  return plugin;
}

export function openDataset(id: string, root: string): Promise<Dataset> {
  return findDatasetPlugin(id).open(id, root);
}
