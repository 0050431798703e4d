import type { BackboneProvider, DatasetProvider } from '../provider.js';
import { check, expectFailure } from './assert.js';
import type { ConformanceCheck } from './dataset.js';

const MODALITIES = ['pathology', 'fundus', 'chest-xray', 'natural'];

export interface BackboneProviderExpectations {
  /** For a provider whose variant is free text: a variant and options it must accept (e.g. a model path and its output). */
  readonly example?: { readonly variant: string; readonly options?: Readonly<Record<string, unknown>> };
}

export const backboneProviderChecks: readonly ConformanceCheck<BackboneProvider, BackboneProviderExpectations>[] = [
  {
    name: 'states its kind, method and title, and lists its variants (or the pattern of a free-text variant)',
    async run(provider) {
      check(provider.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(provider.specificationVersion)}`);
      check(provider.kind === 'backbone', `${provider.method}: kind must be 'backbone', got ${JSON.stringify(provider.kind)}`);
      check(
        /^[a-z0-9][a-z0-9-]*$/.test(provider.method),
        `method must be lower-case letters, digits and dashes (the part of every id before the colon), got ${JSON.stringify(provider.method)}`,
      );
      check(typeof provider.title === 'string' && provider.title.length > 0, `${provider.method}: title must name the method and its source`);
      check(Array.isArray(provider.variants), `${provider.method}: variants must be a list`);
      check(
        provider.variants.length > 0 || provider.variantPattern !== undefined,
        `${provider.method}: lists no variant and no variantPattern; hosts could name none of its backbones`,
      );
      check(new Set(provider.variants).size === provider.variants.length, `${provider.method}: a variant is listed twice`);
      for (const variant of provider.variants)
        check(!variant.includes(':') && variant.length > 0, `${provider.method}: variant ${JSON.stringify(variant)} must be non-empty and hold no colon`);
    },
  },
  {
    name: "makes every variant it lists, each a backbone of its own id, and every preset's variant is one of them",
    async run(provider, expectations) {
      const variants =
        provider.variants.length > 0
          ? provider.variants.map((variant) => ({ variant, options: undefined }))
          : expectations.example
            ? [expectations.example]
            : [];
      for (const { variant, options } of variants) {
        const backbone = provider.backbone(variant, options);
        check(
          backbone.id === `${provider.method}:${variant}`,
          `${provider.method}: backbone(${JSON.stringify(variant)}) has id ${JSON.stringify(backbone.id)}, expected ${provider.method}:${variant}`,
        );
        check(
          backbone.method === provider.method && backbone.variant === variant,
          `${backbone.id}: method and variant must be ${provider.method} and ${variant}`,
        );
      }
      for (const [preset, listed] of Object.entries(provider.presets ?? {})) {
        for (const variant of listed)
          check(provider.variants.includes(variant), `${provider.method}: preset ${preset} names variant ${JSON.stringify(variant)}, which it does not list`);
      }
    },
  },
  {
    name: 'refuses an unknown variant, naming what exists',
    async run(provider) {
      if (provider.variantPattern !== undefined) return;
      await expectFailure(
        () => provider.backbone('no-such-variant'),
        new RegExp(provider.variants[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
        `${provider.method}: backbone('no-such-variant') must fail listing its variants`,
      );
    },
  },
];

export interface DatasetProviderExpectations {
  /** Ids the provider must answer beside its listed ones (those of a pattern such as `medmnist:<flag>`). */
  readonly answers?: readonly string[];
}

export const datasetProviderChecks: readonly ConformanceCheck<DatasetProvider, DatasetProviderExpectations>[] = [
  {
    name: 'states its kind and describes every id: title, layout, source, licence and modality',
    async run(provider) {
      check(provider.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(provider.specificationVersion)}`);
      check(provider.kind === 'dataset', `kind must be 'dataset', got ${JSON.stringify(provider.kind)}`);
      check(provider.datasets.length > 0, 'datasets must describe at least one id');
      for (const info of provider.datasets) {
        for (const field of ['id', 'title', 'layout', 'source', 'license'] as const) {
          check(typeof info[field] === 'string' && info[field].length > 0, `${info.id}: ${field} must be a non-empty string`);
        }
        if (info.modality !== undefined)
          check(MODALITIES.includes(info.modality), `${info.id}: modality must be one of ${MODALITIES.join(', ')}, got ${JSON.stringify(info.modality)}`);
        const sizes = info.officialSizes;
        if (sizes)
          check(
            [sizes.train, sizes.val, sizes.test].every((size) => Number.isSafeInteger(size) && size >= 0),
            `${info.id}: officialSizes must be counts of samples`,
          );
      }
    },
  },
  {
    name: 'answers its own ids (and the examples of its patterns), and no others',
    async run(provider, expectations) {
      for (const info of provider.datasets) if (!info.id.includes('<')) check(provider.answers(info.id), `${info.id}: the provider does not answer its own id`);
      for (const id of expectations.answers ?? []) check(provider.answers(id), `the provider does not answer ${id}`);
      check(!provider.answers('no-such-dataset'), 'the provider answers "no-such-dataset"');
    },
  },
  {
    name: 'refuses an option it does not take, naming it, before reading any file',
    async run(provider) {
      const id = provider.datasets.find((info) => !info.id.includes('<'))?.id ?? `${provider.datasets[0]!.id.split(':')[0]}:example`;
      await expectFailure(
        () => provider.open(id, '/nonexistent-medssl-root', { noSuchOption: 1 }),
        /noSuchOption/,
        `${id}: open with an unknown option must fail naming it`,
      );
    },
  },
];
