export { APTOS_CLASSES, aptos, aptosInfo, aptosProvider, defaultSplitFileName } from './aptos.js';
export type { AptosOptions } from './aptos.js';
export { cropBlackBorder, DEFAULT_BLACK_BORDER } from './crop.js';
export type { BlackBorderOptions } from './crop.js';
export { drawSplit, ROUNDING_RULE, SPLIT_FORMAT, SPLITS as APTOS_SPLITS, splitSizes } from './split.js';
export type { AptosSplit, SplitFractions, SplitRecord } from './split.js';
