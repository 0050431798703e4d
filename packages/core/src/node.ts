// Node-only parts of @medssl/core: file I/O and image decoding. The main entry stays free of Node built-ins.
export { loadSubsetFile, saveSubsetFiles, writeFileAtomic } from './files.js';
export { decodeImage, decodeImageFile } from './decode.js';
export {
  byteSourceFromFileHandle,
  inflateRawWithZlib,
  openNpzFile,
  readNpyFile,
  readNpzFile,
  writeNpyFile,
} from './arrays/node.js';
export type { NpzFileArchive } from './arrays/node.js';
export { FEATURE_FILES, readFeatureSet, writeFeatureSet } from './feature-files.js';
