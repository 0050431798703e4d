// For other packages' tests: PatchCamelyon's official HDF5 files written from patches in memory, so a
// test can lay out a tiny PCam exactly as the release is (`@medssl/dataset-pcam/testing`).
export { writePcamSplit, type PcamBlock, type WritePcamSplitOptions } from '../write-pcam.js';
