// Node-only parts of @medssl/core: image decoding and subset index files. The main entry stays free of Node built-ins.
export { loadSubsetFile, saveSubsetFiles } from './subset-files.js';
export { decodeImage, decodeImageFile, readImageFile } from './decode.js';
export type { DecodeImageOptions } from './decode.js';
export { decodePng, isPng } from './png.js';
export type { DecodePngOptions } from './png.js';
