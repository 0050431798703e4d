export { folder, folderInfo } from './folder.js';
export type { FolderOptions, FolderSplit, SplitFractions } from './folder.js';
