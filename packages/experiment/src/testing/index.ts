// @medssl/experiment/testing: helpers for tests of hosts and plugins that run experiments or render their
// results: captured output, and the results documents of a small synthetic grid (real evaluations of
// synthetic feature sets, plus fusion documents in the medssl.dvme/v1 shape).
export { captureIo } from './io.js';
export { FRACTIONS, SEEDS, binaryTask, fixtureBackbones, fusionDocument, gradedTask, reportFixtures, runEval, sha256 } from './results.js';
export type { ReportFixtures } from './results.js';
