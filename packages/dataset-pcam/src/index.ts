// @medssl/dataset-pcam: PatchCamelyon from its official HDF5 files, read by slices through h5wasm.
export { pcam, pcamInfo, pcamProvider, pcamTask, pcamFileName, PCAM_RELEASE, PCAM_SPLITS } from './pcam.js';
export type { PcamOptions, PcamOfficialSplit } from './pcam.js';
export { Hdf5ReadError } from './hdf5.js';
