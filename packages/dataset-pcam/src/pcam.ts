import { defineDatasetProvider, sampleRange } from '@medssl/core';
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BinaryTask, Dataset, DatasetInfo, DatasetProvider, DatasetIssue, OnError, RawImage, Sample, SampleOptions, SplitName } from '@medssl/spec';
import { discardHdf5, Hdf5ReadError, loadHdf5, openUint8Array, readRowsInto, withHdf5Errors, type Hdf5, type Hdf5Dataset, type Hdf5File } from './hdf5.js';

export interface PcamOptions {
  /** Folder holding the six gunzipped `camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5` files. */
  readonly root: string;
  /**
   * `'throw'` (default) stops at a missing file or a label other than 0/1. `'skip'` drops the split whose files
   * are missing and the patches whose label is invalid, and lists each in `issues()`. A file that is not the
   * PatchCamelyon layout (not HDF5, wrong shape or type, x and y lengths differ) is always an error.
   */
  readonly onError?: OnError;
  /**
   * Patches read from the x file per HDF5 slice; default 256 (6.75 MiB). Rounded up to whole chunks along the
   * first axis, so every compressed chunk is inflated once per pass.
   */
  readonly sliceSize?: number;
}

export const PATCH_SIZE = 96;
export const PATCH_CHANNELS = 3;
const PATCH_BYTES = PATCH_SIZE * PATCH_SIZE * PATCH_CHANNELS;
const DEFAULT_SLICE_SIZE = 256;
/** A reader closes its file (and drops its blocks) this long after its last read, so no handle outlives its use. */
const IDLE_CLOSE_MS = 5_000;
/** Blocks kept per split: two, so decoding samples that straddle a block boundary never re-reads. */
const CACHED_BLOCKS = 2;

/** The Zenodo record of the official release; feature caches are keyed on it. */
export const PCAM_RELEASE = 'zenodo-2546921';

/** Our split names and the official ones in the file names. */
export const PCAM_SPLITS = [
  { split: 'train', official: 'train' },
  { split: 'val', official: 'valid' },
  { split: 'test', official: 'test' },
] as const;

export type PcamOfficialSplit = (typeof PCAM_SPLITS)[number]['official'];

export function pcamFileName(official: PcamOfficialSplit, array: 'x' | 'y'): string {
  return `camelyonpatch_level_2_split_${official}_${array}.h5`;
}

export const pcamTask: BinaryTask = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

export const pcamInfo: DatasetInfo = {
  id: 'pcam',
  title: 'PatchCamelyon (PCam): 327,680 lymph-node patches 96x96 RGB, metastatic tissue or not',
  layout: [
    '<root>/camelyonpatch_level_2_split_{train,valid,test}_x.h5  dataset "x", uint8 (N, 96, 96, 3)',
    '<root>/camelyonpatch_level_2_split_{train,valid,test}_y.h5  dataset "y", uint8 (N, 1, 1, 1), 0 normal / 1 tumour',
    'gunzipped from the .h5.gz downloads; split valid is called val here',
  ].join('\n'),
  source: 'https://github.com/basveeling/pcam (files: https://zenodo.org/records/2546921)',
  license: 'CC0 1.0 (PatchCamelyon, Veeling et al. 2018; derived from Camelyon16)',
  modality: 'pathology',
  folder: 'pcam',
  officialSizes: { train: 262_144, val: 32_768, test: 32_768, note: 'the official PatchCamelyon HDF5 splits' },
  presets: ['paper'],
};

/** PatchCamelyon by id (`pcam`), for hosts that open datasets by id and folder. */
export const pcamProvider: DatasetProvider = defineDatasetProvider({
  datasets: [pcamInfo],
  options: { onError: ['throw', 'skip'], sliceSize: 'integer' },
  open: (_id, root, options) => pcam({ ...(options as Omit<PcamOptions, 'root'>), root }),
});

/** One block of patches held in wasm memory, where HDF5 reads it. */
interface BlockSlot {
  readonly block: number;
  readonly pointer: number;
}

/**
 * Reads blocks of patches from one x file, keeping the file open while reads keep coming. HDF5 reads each
 * block straight into a buffer in wasm memory (reused from block to block) and `patch` copies one patch out,
 * so each patch's bytes are copied once.
 */
class PatchReader {
  private open: { file: Hdf5File; dataset: Hdf5Dataset } | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Least recently used first. */
  private slots: BlockSlot[] = [];

  constructor(
    private hdf5: Hdf5,
    readonly path: string,
    private readonly length: number,
    readonly blockRows: number,
  ) {}

  /**
   * A copy of one patch's pixels, so callers may modify what they get. After the HDF5 instance was discarded
   * (a damaged file made it trap), the reader forgets what it held there and reads through a fresh one.
   */
  async patch(index: number): Promise<Uint8Array> {
    if (this.hdf5.broken) {
      this.forget();
      this.hdf5 = await loadHdf5();
    }
    const block = Math.floor(index / this.blockRows);
    let slot = this.slots.find((candidate) => candidate.block === block);
    if (slot) {
      this.slots.splice(this.slots.indexOf(slot), 1);
    } else {
      const pointer = this.slots.length < CACHED_BLOCKS ? this.allocate() : this.slots.shift()!.pointer;
      try {
        this.readBlock(block, pointer);
      } catch (error) {
        // A failed read can leave HDF5's handles half used: start again from a fresh open.
        if (!this.hdf5.broken) this.hdf5.runtime._free(pointer);
        this.close();
        throw new Hdf5ReadError(this.path, 'x', `${(error as Error).message} while decoding patch ${index}`, { cause: error });
      }
      slot = { block, pointer };
      this.closeWhenIdle();
    }
    this.slots.push(slot);
    // HEAPU8 is looked up each time: it is replaced whenever wasm memory grows.
    const start = slot.pointer + (index - block * this.blockRows) * PATCH_BYTES;
    return this.hdf5.runtime.HEAPU8.slice(start, start + PATCH_BYTES);
  }

  private allocate(): number {
    const bytes = this.blockRows * PATCH_BYTES;
    const pointer = this.hdf5.runtime._malloc(bytes);
    if (pointer === 0) {
      // wasm memory is exhausted (it never shrinks): this instance is replaced on the next read.
      discardHdf5(this.hdf5);
      throw new Hdf5ReadError(this.path, 'x', `${this.path}: cannot allocate ${bytes} bytes of wasm memory for a block of ${this.blockRows} patches`);
    }
    return pointer;
  }

  private readBlock(block: number, pointer: number): void {
    const start = block * this.blockRows;
    const end = Math.min(this.length, start + this.blockRows);
    const { file, dataset } = this.openFile();
    readRowsInto(this.hdf5, this.path, file, dataset, start, end, pointer);
  }

  private openFile(): { file: Hdf5File; dataset: Hdf5Dataset } {
    if (this.open) return this.open;
    const { file, dataset, length } = openUint8Array(this.hdf5, this.path, 'x', [PATCH_SIZE, PATCH_SIZE, PATCH_CHANNELS]);
    if (length !== this.length) {
      file.close();
      throw new Error(`${this.path}: holds ${length} patches now, ${this.length} when the dataset was opened; the file changed`);
    }
    this.open = { file, dataset };
    return this.open;
  }

  private closeWhenIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(), IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  /** Drops what the reader held in a discarded instance, without calling into it. */
  private forget(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.slots = [];
    this.open = undefined;
  }

  /** Closes the file and frees the blocks; the next `patch` opens it again. */
  close(): void {
    if (this.hdf5.broken) {
      this.forget();
      return;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const slot of this.slots) this.hdf5.runtime._free(slot.pointer);
    this.slots = [];
    const open = this.open;
    this.open = undefined;
    open?.file.close();
  }
}

interface PcamSplit {
  readonly split: SplitName;
  readonly xPath: string;
  /** File index of each row; rows with invalid labels are left out in skip mode. */
  readonly indices: Uint32Array;
  /** Label per file index. */
  readonly labels: Uint8Array;
  readonly idDigits: number;
  readonly reader: PatchReader;
}

async function listFolder(root: string): Promise<string[]> {
  let info: Stats;
  try {
    info = await stat(root);
  } catch (error) {
    throw new Error(`PatchCamelyon folder ${root} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!info.isDirectory()) throw new Error(`PatchCamelyon root ${root} is not a folder`);
  return (await readdir(root)).sort();
}

function describeFolder(root: string, entries: readonly string[]): string {
  if (entries.length === 0) return `${root} is empty`;
  const shown = entries.slice(0, 20).join(', ');
  return `${root} holds: ${shown}${entries.length > 20 ? `, and ${entries.length - 20} more` : ''}`;
}

/** Names the missing files; a `.gz` download lying where the file should be gets its own advice. */
function describeMissing(root: string, names: readonly string[], entries: readonly string[]): string {
  const gzipped = names.filter((name) => entries.includes(`${name}.gz`));
  const absent = names.filter((name) => !gzipped.includes(name));
  const parts: string[] = [];
  if (absent.length > 0) parts.push(`missing ${absent.map((name) => join(root, name)).join(', ')} (${describeFolder(root, entries)})`);
  if (gzipped.length > 0) {
    parts.push(
      `found only the gzip downloads ${gzipped.map((name) => join(root, `${name}.gz`)).join(', ')}: gunzip them first ` +
        `(gunzip -k ${join(root, '*.h5.gz')}); HDF5 files are read by slices, which a .gz file does not allow`,
    );
  }
  return parts.join('; ');
}

function checkSliceSize(sliceSize: number): void {
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1) {
    throw new RangeError(`pcam: sliceSize must be a positive integer, got ${String(sliceSize)}`);
  }
}

/**
 * PatchCamelyon from the official HDF5 files. Opening reads every label (one byte each) and checks shapes;
 * pixels are read only by `decode()`, a slice of patches at a time.
 */
export async function pcam(options: PcamOptions): Promise<Dataset> {
  const { root, onError = 'throw', sliceSize = DEFAULT_SLICE_SIZE } = options;
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`pcam: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  checkSliceSize(sliceSize);
  const entries = await listFolder(root);
  const issues: DatasetIssue[] = [];

  const present: (typeof PCAM_SPLITS)[number][] = [];
  const missing: string[] = [];
  for (const entry of PCAM_SPLITS) {
    const absent = [pcamFileName(entry.official, 'x'), pcamFileName(entry.official, 'y')].filter((name) => !entries.includes(name));
    for (const name of absent) {
      const message = `PatchCamelyon: ${describeMissing(root, [name], entries)}; split ${entry.split} left out`;
      issues.push({ kind: 'missing-file', message, file: join(root, name) });
    }
    if (absent.length === 0) present.push(entry);
    missing.push(...absent);
  }
  if (missing.length > 0 && (onError === 'throw' || present.length === 0)) {
    throw new Error(`PatchCamelyon: ${describeMissing(root, missing, entries)}`);
  }

  const hdf5 = await loadHdf5();
  const splits: PcamSplit[] = [];
  let skippedPatches = 0;
  for (const { split, official } of present) {
    const xPath = join(root, pcamFileName(official, 'x'));
    const yPath = join(root, pcamFileName(official, 'y'));
    const x = openUint8Array(hdf5, xPath, 'x', [PATCH_SIZE, PATCH_SIZE, PATCH_CHANNELS]);
    x.file.close();
    const y = openUint8Array(hdf5, yPath, 'y', [1, 1, 1]);
    let labels: Uint8Array;
    try {
      const values = withHdf5Errors(hdf5, yPath, 'read dataset "y"', () => y.dataset.value, 'y');
      if (!(values instanceof Uint8Array)) throw new Error(`${yPath}: dataset "y" did not read as bytes`);
      labels = values;
    } finally {
      if (!hdf5.broken) y.file.close();
    }
    if (x.length !== y.length) {
      throw new Error(`PatchCamelyon split ${official}: ${xPath} holds ${x.length} patches but ${yPath} holds ${y.length} labels`);
    }
    const indices = new Uint32Array(labels.length);
    let rows = 0;
    for (let index = 0; index < labels.length; index++) {
      const label = labels[index]!;
      if (label === 0 || label === 1) {
        indices[rows++] = index;
        continue;
      }
      const message = `${yPath}: label ${label} at index ${index} is neither 0 (normal) nor 1 (tumour)`;
      if (onError === 'throw') throw new Error(message);
      issues.push({ kind: 'skipped', message: `${message}; patch skipped`, file: yPath, row: index });
      skippedPatches++;
    }
    const blockRows = x.chunkRows === undefined ? sliceSize : Math.ceil(sliceSize / x.chunkRows) * x.chunkRows;
    splits.push({
      split,
      xPath,
      indices: indices.subarray(0, rows),
      labels,
      idDigits: Math.max(6, String(Math.max(0, labels.length - 1)).length),
      reader: new PatchReader(hdf5, xPath, x.length, blockRows),
    });
  }

  const splitNamed = (split: SplitName): PcamSplit => {
    const found = splits.find((entry) => entry.split === split);
    if (found) return found;
    const hint = split === 'valid' ? ' (the official split valid is called val here)' : '';
    throw new Error(`pcam: no split ${JSON.stringify(split)}${hint}; splits are ${splits.map((entry) => entry.split).join(', ')}`);
  };

  const sampleAt = (entry: PcamSplit, index: number): Sample => ({
    id: `${entry.split}/${String(index).padStart(entry.idDigits, '0')}`,
    target: entry.labels[index]!,
    source: `${entry.xPath}[${index}]`,
    async decode(): Promise<RawImage> {
      return { data: await entry.reader.patch(index), width: PATCH_SIZE, height: PATCH_SIZE, channels: PATCH_CHANNELS };
    },
  });

  async function* samples(split: SplitName, sampleOptions: SampleOptions = {}): AsyncGenerator<Sample> {
    const { signal } = sampleOptions;
    signal?.throwIfAborted();
    const entry = splitNamed(split);
    const { start, end } = sampleRange(`pcam/${split}`, entry.indices.length, sampleOptions);
    for (let row = start; row < end; row++) {
      signal?.throwIfAborted();
      yield sampleAt(entry, entry.indices[row]!);
    }
  }

  return {
    specificationVersion: 'medssl/v1',
    id: 'pcam',
    modality: 'pathology',
    // Skipped patches change the data, so the version (and every feature cache keyed on it) changes too.
    version: skippedPatches > 0 ? `${PCAM_RELEASE}+skipped-${skippedPatches}` : PCAM_RELEASE,
    task: pcamTask,
    splits: splits.map((entry) => entry.split),
    async size(split) {
      return splitNamed(split).indices.length;
    },
    samples,
    issues: () => [...issues],
  };
}
