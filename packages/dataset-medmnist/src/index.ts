export { medmnist, medmnistInfo, medmnistModality, medmnistProvider } from './medmnist.js';
export type { MedmnistDataset, MedmnistOptions } from './medmnist.js';
export {
  MEDMNIST_2D_FLAGS,
  MEDMNIST_3D_FLAGS,
  MEDMNIST_FLAGS,
  MEDMNIST_SIZES,
  medmnistFileName,
  medmnistFlag,
  medmnistTask,
  medmnistUrl,
} from './flags.js';
export type { MedmnistFlagInfo, MedmnistSize, MedmnistTaskKind } from './flags.js';
export type { RowAccess } from './rows.js';
// The package reads files, so it is Node-only as a whole; the downloader sits beside the loader.
export { downloadMedmnist, medmnistMd5, terminalProgress } from './download.js';
export type { DownloadMedmnistOptions, DownloadProgress, DownloadResult } from './download.js';
