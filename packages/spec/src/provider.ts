import type { Backbone } from './backbone.js';
import type { Dataset, DatasetInfo } from './dataset.js';
import type { SpecificationVersion } from './version.js';

/** Options a provider takes beside an id, from a config entry or `--dataset-option key=value` style flags. */
export type ProviderOptions = Readonly<Record<string, unknown>>;

/**
 * Every backbone of one method, for hosts that address backbones by id (`dino:vits16`): the CLI, the
 * experiment runner, documentation. Each backbone package exports one; a host's registry is a list of them.
 */
export interface BackboneProvider {
  readonly specificationVersion: SpecificationVersion;
  readonly kind: 'backbone';
  /** The part of every id before the colon, e.g. `dino`. */
  readonly method: string;
  /** The method and where it comes from, e.g. `DINO (Caron et al., ICCV 2021)`. */
  readonly title: string;
  /** The variants it builds, the part of each id after the colon (`vits16`, `vits16-cls`, ...). */
  readonly variants: readonly string[];
  /**
   * For a provider whose variant is free text rather than one of `variants` (`onnx:<path>`): what the
   * variant stands for, shown in usage texts.
   */
  readonly variantPattern?: string;
  /** Variants that presets of a host pick by name (`{ paper: ['vits16'] }`): facts about the published files. */
  readonly presets?: Readonly<Record<string, readonly string[]>>;
  /** The backbone of a variant. An unknown variant or option is an error that lists what exists. */
  backbone(variant: string, options?: ProviderOptions): Backbone;
}

/**
 * Every dataset id one package reads, for hosts that open datasets by id and folder. Each dataset package
 * exports one; a host's registry is a list of them.
 */
export interface DatasetProvider {
  readonly specificationVersion: SpecificationVersion;
  readonly kind: 'dataset';
  /** What it reads: one entry per id, or per id pattern such as `medmnist:<flag>`. */
  readonly datasets: readonly DatasetInfo[];
  /** Whether it opens this id (`medmnist:pathmnist` for the pattern `medmnist:<flag>`). */
  answers(id: string): boolean;
  /** Opens an id it answers from its official layout under `root`. Unknown options are errors naming the known ones. */
  open(id: string, root: string, options?: ProviderOptions): Promise<Dataset>;
}

/** A backbone or a dataset provider: what a host's registry lists. */
export type Provider = BackboneProvider | DatasetProvider;
