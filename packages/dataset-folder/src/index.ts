export { folder, folderInfo, folderProvider } from './folder.js';
export type { FolderOptions, FolderSplit, SplitFractions } from './folder.js';
