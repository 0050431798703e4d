// Node-only parts of @medssl/core: file I/O. The main entry stays free of Node built-ins.
export { loadSubsetFile, saveSubsetFiles, writeFileAtomic } from './files.js';
