import type { Backbone, BackboneProvider, Dataset, DatasetInfo, DatasetProvider, Pretraining, Provider, ProviderOptions } from '@medssl/spec';
import { ProviderOptionError } from '@medssl/core';
import { ExperimentRequestError } from './errors.js';

/**
 * The backbones and datasets a host knows, by id: a list of providers. The CLI's list holds every plugin
 * package; code passes its own (`runExperiment(config, { providers: [...defaultProviders, myProvider] })`).
 */
export interface Registry {
  readonly backbones: readonly BackboneProvider[];
  readonly datasets: readonly DatasetProvider[];
  /** The backbone of an id (`dino:vits16`, `onnx:model.onnx`); an unknown id is an error listing the known ones. */
  backbone(id: string, options?: ProviderOptions): Backbone;
  /** The provider of a backbone id's method, if the registry has one. */
  backboneProvider(id: string): BackboneProvider | undefined;
  /** Opens a dataset id from its folder; an unknown id is an error listing the known ones. */
  openDataset(id: string, root: string, options?: ProviderOptions): Promise<Dataset>;
  /** What the provider of a dataset id says of it (layout, modality, official sizes), if some provider answers it. */
  datasetInfo(id: string): DatasetInfo | undefined;
  /** Every backbone id, the free-text ones as their pattern (`onnx:<path>`), for usage texts. */
  backboneIds(): string[];
  /** Every dataset id or pattern (`medmnist:<flag>`). */
  datasetIds(): string[];
}

/** A registry over a list of providers. Two providers of one backbone method or one dataset id are an error naming both. */
export function createRegistry(providers: readonly Provider[]): Registry {
  const backbones = providers.filter((provider): provider is BackboneProvider => provider.kind === 'backbone');
  const datasets = providers.filter((provider): provider is DatasetProvider => provider.kind === 'dataset');
  const unknown = providers.find((provider) => provider.kind !== 'backbone' && provider.kind !== 'dataset');
  if (unknown) throw new TypeError(`registry: a provider has kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}; expected 'backbone' or 'dataset'`);
  const methods = new Map<string, BackboneProvider>();
  for (const provider of backbones) {
    if (methods.has(provider.method))
      throw new TypeError(
        `registry: two backbone providers for method ${JSON.stringify(provider.method)} (${methods.get(provider.method)!.title}; ${provider.title})`,
      );
    methods.set(provider.method, provider);
  }
  const datasetIds = new Map<string, DatasetProvider>();
  for (const provider of datasets) {
    for (const info of provider.datasets) {
      if (datasetIds.has(info.id)) throw new TypeError(`registry: two dataset providers for id ${JSON.stringify(info.id)}`);
      datasetIds.set(info.id, provider);
    }
  }
  const backboneIds = () =>
    backbones.flatMap((provider) =>
      provider.variantPattern !== undefined
        ? [`${provider.method}:${provider.variantPattern}`]
        : provider.variants.map((variant) => `${provider.method}:${variant}`),
    );
  const datasetList = () => datasets.flatMap((provider) => provider.datasets.map((info) => info.id));
  const datasetProvider = (id: string) => datasets.find((provider) => provider.answers(id));
  return {
    backbones,
    datasets,
    backboneProvider(id) {
      const separator = id.indexOf(':');
      return separator > 0 ? methods.get(id.slice(0, separator)) : undefined;
    },
    backbone(id, options) {
      const separator = id.indexOf(':');
      const provider = separator > 0 ? methods.get(id.slice(0, separator)) : undefined;
      const variant = id.slice(separator + 1);
      if (!provider || (provider.variantPattern === undefined && !provider.variants.includes(variant))) {
        throw new ExperimentRequestError(`unknown backbone ${JSON.stringify(id)}; known: ${backboneIds().join(', ')}`);
      }
      try {
        return provider.backbone(variant, options);
      } catch (error) {
        throw new ExperimentRequestError((error as Error).message, { cause: error });
      }
    },
    async openDataset(id, root, options) {
      const provider = datasetProvider(id);
      if (!provider) throw new ExperimentRequestError(`unknown dataset ${JSON.stringify(id)}; known: ${datasetList().join(', ')}`);
      try {
        return await provider.open(id, root, options);
      } catch (error) {
        if (error instanceof ProviderOptionError) throw new ExperimentRequestError(error.message, { cause: error });
        throw error;
      }
    },
    datasetInfo(id) {
      const provider = datasetProvider(id);
      return provider?.datasets.find((info) => info.id === id) ?? provider?.datasets[0];
    },
    backboneIds,
    datasetIds: datasetList,
  };
}

/**
 * A backbone's pretraining by id from a registry, for reports over documents that do not record it;
 * undefined for ids the registry does not know.
 */
export function pretrainingLookup(registry: Registry): (backboneId: string) => Pretraining | undefined {
  return (backboneId) => {
    try {
      return registry.backbone(backboneId).pretraining;
    } catch {
      return undefined;
    }
  };
}
