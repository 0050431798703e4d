import type { RawImage } from './image.js';
import type { SpecificationVersion } from './version.js';
import type { Target, Task } from './task.js';

/** Split names; datasets use `train`, `val` and `test` where the source has such splits. */
export type SplitName = 'train' | 'val' | 'test' | (string & {});

/** One labelled image. Pixels are decoded only when `decode()` is called. */
export interface Sample {
  /** Stable within the dataset: a file name, a path relative to the root, or an index like `test/00042`. */
  readonly id: string;
  readonly target: Target;
  /** Samples that must never be split apart, e.g. the patient id in ChestX-ray14. */
  readonly group?: string;
  /** Where the pixels come from (a path, or a path plus an index into an HDF5 or npz array). */
  readonly source?: string;
  decode(): Promise<RawImage>;
  /**
   * The image file's bytes, where `decode()` is exactly core's `decodeImage` of them (no crop or other change
   * after decoding). Lets a pipeline decode in its worker threads instead of the thread that asked.
   */
  encoded?(): Promise<Uint8Array>;
  /**
   * The pixel limit (width x height) `decode()` applies, where the dataset was opened with one other than core's
   * default (2^28): a pipeline that decodes `encoded()` itself applies the same.
   */
  readonly maxPixels?: number;
}

export interface SampleOptions {
  /** First row to yield (inclusive); default 0. Lets a caller resume or shard without decoding. */
  readonly start?: number;
  /** Row to stop before (exclusive); default the split's size. Like `Array.slice`, a larger `end` is clamped to the size. */
  readonly end?: number;
  readonly signal?: AbortSignal;
}

/** What a dataset did with rows or files it could not use; nothing is dropped without a count here. */
export interface DatasetIssue {
  readonly kind: 'skipped' | 'missing-file' | 'missing-label' | 'note';
  readonly message: string;
  /** The file (and row) concerned, when there is one. */
  readonly file?: string;
  readonly row?: number;
}

/**
 * A labelled image source read from its official on-disk layout. Samples stream lazily: a dataset never
 * holds every decoded image in memory.
 */
export interface Dataset {
  readonly specificationVersion: SpecificationVersion;
  /** An identifier from ARCHITECTURE.md, e.g. `pcam`, `chestxray14:pneumonia`, `medmnist:retinamnist`. */
  readonly id: string;
  /** Version of the data (release, label revision, split seed) that feature caches are keyed on. */
  readonly version: string;
  readonly task: Task;
  readonly splits: readonly SplitName[];
  /** Number of samples in a split, without decoding any image. */
  size(split: SplitName): Promise<number>;
  /** Samples in a stable order; the same call yields the same rows in the same order every time. */
  samples(split: SplitName, options?: SampleOptions): AsyncIterable<Sample>;
  /** What the images show; finetuning draws the augmentations that fit it (default `natural`). */
  readonly modality?: Modality;
  /** Rows and files the dataset skipped or could not match, with the reason for each. */
  issues?(): readonly DatasetIssue[];
}

/**
 * What images show, as far as augmentation cares: pathology patches and fundus photographs have no
 * canonical orientation, a chest X-ray has an up and a down, `natural` images a horizon.
 */
export type Modality = 'pathology' | 'fundus' | 'chest-xray' | 'natural';

/** The split sizes of a data set's full official release, for estimates made on a sample of it. */
export interface DatasetSizes {
  readonly train: number;
  readonly val: number;
  readonly test: number;
  /** Where the sizes come from, e.g. `the official HDF5 release`. */
  readonly note: string;
}

/** What a dataset plugin reads, for `medssl datasets list` and documentation. */
export interface DatasetInfo {
  /** The identifier, or its pattern (`medmnist:<flag>`). */
  readonly id: string;
  readonly title: string;
  /** The on-disk layout the plugin expects, as users download it (one or more lines). */
  readonly layout: string;
  /** Where to get the data. */
  readonly source: string;
  readonly license: string;
  /** What the images show, where every id it answers shows the same (each opened `Dataset` says for itself). */
  readonly modality?: Modality;
  /** The folder name it conventionally has under a data root (`pcam`), for presets that take one root. */
  readonly folder?: string;
  /** The split sizes of the full release, where a folder may hold a sample of it. */
  readonly officialSizes?: DatasetSizes;
  /** Presets of a host that include this dataset (`paper`): facts about the publications that used it. */
  readonly presets?: readonly string[];
}

/** What a dataset does with a row or file it cannot use: stop with an error (default) or skip, count and report it. */
export type OnError = 'throw' | 'skip';
