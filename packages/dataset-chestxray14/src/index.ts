export { chestxray14, chestxray14Info, chestxray14Pneumonia, chestxray14PneumoniaInfo, chestxray14Provider } from './chestxray14.js';
export type { ChestXray14Options, ChestXray14View } from './chestxray14.js';
export { CHESTXRAY14_LABELS, TABLE_FILE_NAMES } from './table.js';
export { SPLITS as CHESTXRAY14_SPLITS } from './split.js';
export type { ChestXray14Split, SplitFractions } from './split.js';
