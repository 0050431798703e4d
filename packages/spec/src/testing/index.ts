// Conformance suites every plugin runs against itself. The checks are plain async functions (usable with
// any test runner); `describe*` registers them as vitest tests, one per rule.
export { describeBackbone, describeBackboneProvider, describeDataset, describeDatasetProvider, describeProtocol, describeRuntime } from './describe.js';
export { ConformanceError } from './assert.js';
export { datasetChecks, checkRawImage } from './dataset.js';
export type { ConformanceCheck, DatasetExpectations } from './dataset.js';
export { backboneChecks } from './backbone.js';
export type { BackboneExpectations } from './backbone.js';
export { runtimeChecks } from './runtime.js';
export type { RuntimeExpectations, RuntimeSubject } from './runtime.js';
export { protocolChecks, conformanceTasks } from './protocol.js';
export type { ProtocolExpectations } from './protocol.js';
export { syntheticFeatureSet } from './features.js';
export type { SyntheticFeatureOptions } from './features.js';
export { backboneProviderChecks, datasetProviderChecks } from './provider.js';
export type { BackboneProviderExpectations, DatasetProviderExpectations } from './provider.js';
