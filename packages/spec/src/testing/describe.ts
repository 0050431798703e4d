import { describe, it } from 'vitest';
import type { Backbone } from '../backbone.js';
import type { Dataset } from '../dataset.js';
import type { Protocol } from '../protocol.js';
import type { BackboneProvider, DatasetProvider } from '../provider.js';
import { backboneChecks, type BackboneExpectations } from './backbone.js';
import { datasetChecks, type ConformanceCheck, type DatasetExpectations } from './dataset.js';
import { protocolChecks, type ProtocolExpectations } from './protocol.js';
import { backboneProviderChecks, datasetProviderChecks, type BackboneProviderExpectations, type DatasetProviderExpectations } from './provider.js';
import { runtimeChecks, type RuntimeExpectations, type RuntimeSubject } from './runtime.js';

type Factory<T> = () => T | Promise<T>;

function describeChecks<Subject, Expectations>(
  title: string,
  checks: readonly ConformanceCheck<Subject, Expectations>[],
  make: Factory<Subject>,
  expectations: Expectations,
  timeout: number | undefined,
): void {
  describe(title, () => {
    for (const conformance of checks) {
      it(conformance.name, async () => conformance.run(await make(), expectations), timeout);
    }
  });
}

/** Registers the dataset conformance tests (vitest) for a dataset plugin. */
export function describeDataset(title: string, make: Factory<Dataset>, expectations: DatasetExpectations = {}, timeout?: number): void {
  describeChecks(`${title} conforms to the Dataset contract`, datasetChecks, make, expectations, timeout);
}

/** Registers the backbone conformance tests (vitest) for a backbone plugin. */
export function describeBackbone(title: string, make: Factory<Backbone>, expectations: BackboneExpectations = {}, timeout?: number): void {
  describeChecks(`${title} conforms to the Backbone contract`, backboneChecks, make, expectations, timeout);
}

/** Registers the runtime conformance tests (vitest): a runtime, a backbone and weights to run. */
export function describeRuntime(title: string, make: Factory<RuntimeSubject>, expectations: RuntimeExpectations = {}, timeout?: number): void {
  describeChecks(`${title} conforms to the Runtime contract`, runtimeChecks, make, expectations, timeout);
}

/** Registers the protocol conformance tests (vitest) for a protocol on stored features. */
export function describeProtocol(title: string, make: Factory<Protocol>, expectations: ProtocolExpectations = {}, timeout?: number): void {
  describeChecks(`${title} conforms to the Protocol contract`, protocolChecks, make, expectations, timeout);
}

/** Registers the provider conformance tests (vitest) for a backbone package's provider. */
export function describeBackboneProvider(
  title: string,
  make: Factory<BackboneProvider>,
  expectations: BackboneProviderExpectations = {},
  timeout?: number,
): void {
  describeChecks(`${title} conforms to the BackboneProvider contract`, backboneProviderChecks, make, expectations, timeout);
}

/** Registers the provider conformance tests (vitest) for a dataset package's provider. */
export function describeDatasetProvider(title: string, make: Factory<DatasetProvider>, expectations: DatasetProviderExpectations = {}, timeout?: number): void {
  describeChecks(`${title} conforms to the DatasetProvider contract`, datasetProviderChecks, make, expectations, timeout);
}
