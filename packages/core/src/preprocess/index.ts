export { dropAlpha, toRgb } from './channels.js';
export { centerCrop, centerCropOffsets, roundHalfToEven } from './crop.js';
export type { CropOffsets } from './crop.js';
export { bitDepthOf, checkRawImage } from './image.js';
export type { BitDepth, FloatImage, ImageSize } from './image.js';
export { inputShapeFromPreprocessing, preprocess, preprocessBatch, preprocessedShape, preprocessInto } from './pipeline.js';
export type { PreprocessedShape } from './pipeline.js';
export { resize, resizeFloat, resizeShorterSide, shorterSideSize } from './resize.js';
export { validatePreprocessing } from './validate.js';
