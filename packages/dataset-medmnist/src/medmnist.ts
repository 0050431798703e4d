import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readZipDirectory, type NdArray, type NpyHeader, type ZipEntry, zipEntryDataOffset } from '@medssl/arrays';
import { defineDatasetProvider, sampleRange } from '@medssl/core';
import { byteSourceFromFileHandle, openNpzFile } from '@medssl/arrays/node';
import type {
  Dataset,
  DatasetInfo,
  DatasetIssue,
  DatasetProvider,
  Modality,
  OnError,
  RawImage,
  Sample,
  SampleOptions,
  SplitName,
  Target,
  Task,
} from '@medssl/spec';
import { assertMedmnistSize, medmnistFileName, medmnistFlag, medmnistTask, medmnistUrl, type MedmnistFlagInfo, type MedmnistSize } from './flags.js';
import { SharedFile, WholeMemberCache, rowReader, type ImagesMember, type RowAccess, type RowReader } from './rows.js';

export interface MedmnistOptions {
  /** A 2D MedMNIST flag, e.g. `pneumoniamnist`; 3D flags are refused. */
  readonly flag: string;
  /** Folder holding `<flag>.npz` (28x28) or `<flag>_<size>.npz`; not needed when `file` is given. */
  readonly root?: string;
  /** Image size: 28 (MedMNIST v2, default) or a MedMNIST+ size, 64, 128 or 224. */
  readonly size?: MedmnistSize;
  /** The npz file itself, overriding `root`; its image size is read from the file unless `size` is given. */
  readonly file?: string;
  /** Rows whose label is outside the task: an error (default) or skipped and listed in `issues()`. */
  readonly onError?: OnError;
  /**
   * Deflated images members up to this many bytes (inflated) are inflated once and kept, one split at a
   * time; larger ones are streamed row by row. Default 256 MiB, which keeps every 28x28 file in memory.
   */
  readonly maxInMemoryBytes?: number;
  /** Recent rows a streamed member keeps for requests slightly out of order; default 32 MiB (at least 16 rows). */
  readonly streamWindowBytes?: number;
}

/** A MedMNIST dataset, with what it read and how it reads rows. */
export interface MedmnistDataset extends Dataset {
  readonly flag: string;
  readonly file: string;
  readonly imageSize: number;
  readonly channels: 1 | 3;
  /** How each split's images are read: positioned reads (stored npz), inflated once, or streamed. */
  readonly rowAccess: Readonly<Record<string, RowAccess>>;
}

export const medmnistInfo: DatasetInfo = {
  id: 'medmnist:<flag>',
  title: 'MedMNIST v2 and MedMNIST+: 12 2D biomedical image datasets at 28, 64, 128 and 224 pixels',
  layout: [
    '<root>/<flag>.npz          (28x28, MedMNIST v2)',
    '<root>/<flag>_<size>.npz   (size 64, 128 or 224, MedMNIST+)',
    'arrays {train,val,test}_images: uint8 (N,H,W) grey or (N,H,W,3) RGB; {train,val,test}_labels: (N,1), or (N,14) 0/1 for chestmnist',
  ].join('\n'),
  source: 'https://zenodo.org/records/10519652 (https://medmnist.com); downloadMedmnist() fetches and checks a file',
  license: 'CC BY 4.0 (DermaMNIST: CC BY-NC 4.0); cite Yang et al., Scientific Data 10, 41 (2023) and the source dataset',
  // Each flag's own modality is on the opened dataset (pathmnist: pathology, retinamnist: fundus, ...).
  folder: 'medmnist',
};

/** Flags whose images have a modality finetuning's augmentations know; the others are treated as natural images. */
const FLAG_MODALITIES: Readonly<Record<string, Modality>> = {
  pathmnist: 'pathology',
  retinamnist: 'fundus',
  pneumoniamnist: 'chest-xray',
  chestmnist: 'chest-xray',
};

/** What a MedMNIST flag's images show. */
export function medmnistModality(flag: string): Modality {
  return FLAG_MODALITIES[flag] ?? 'natural';
}

/** Every MedMNIST flag by id (`medmnist:<flag>`), for hosts that open datasets by id and folder. */
export const medmnistProvider: DatasetProvider = defineDatasetProvider({
  datasets: [medmnistInfo],
  answers: (id) => id.startsWith('medmnist:'),
  options: { size: 'integer', file: 'string', onError: ['throw', 'skip'], maxInMemoryBytes: 'number', streamWindowBytes: 'number' },
  open: (id, root, options) => medmnist({ ...(options as Omit<MedmnistOptions, 'flag' | 'root'>), flag: id.slice('medmnist:'.length), root }),
});

const SPLITS = ['train', 'val', 'test'] as const;
type MedmnistSplit = (typeof SPLITS)[number];

const DEFAULT_MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024;

interface SplitTable {
  /** npz rows of the samples, in order (rows with bad labels are left out under onError 'skip'). */
  readonly rows: Int32Array;
  /** Class index per npz row (single-label) or flags per npz row (multilabel, `labels` per row). */
  readonly labels: Uint8Array;
  readonly reader: RowReader;
}

/** Opens a MedMNIST npz file: checks its arrays against the flag's task and reads the labels (small). */
export async function medmnist(options: MedmnistOptions): Promise<MedmnistDataset> {
  const info = medmnistFlag(options.flag);
  if (options.size !== undefined) assertMedmnistSize(options.size, 'medmnist: size');
  const onError = options.onError ?? 'throw';
  if (onError !== 'throw' && onError !== 'skip') throw new TypeError(`medmnist: onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  const maxInMemoryBytes = options.maxInMemoryBytes ?? DEFAULT_MAX_IN_MEMORY_BYTES;
  if (!(maxInMemoryBytes >= 0)) throw new RangeError(`medmnist: maxInMemoryBytes must be a non-negative number, got ${maxInMemoryBytes}`);

  const path = resolvePath(info, options);
  try {
    if (!(await stat(path)).isFile()) throw new Error(`${path}: not a file`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const size = options.size ?? 28;
    throw new Error(
      `${path}: MedMNIST file not found; download it with downloadMedmnist({ flag: '${info.flag}', size: ${size}, root }) ` +
        `or from ${medmnistUrl(info.flag, size)}`,
    );
  }

  const task = medmnistTask(info);
  const issues: DatasetIssue[] = [];
  const archive = await openNpzFile(path);
  let headers: Map<MedmnistSplit, NpyHeader>;
  let labelArrays: Map<MedmnistSplit, NdArray>;
  try {
    const missing = SPLITS.flatMap((split) => [`${split}_images`, `${split}_labels`]).filter((key) => !archive.has(key));
    if (missing.length > 0) {
      throw new Error(
        `${path}: missing array${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; a MedMNIST file holds {train,val,test}_{images,labels}, ` +
          `this one holds ${archive.keys.join(', ') || 'nothing'}`,
      );
    }
    headers = new Map();
    labelArrays = new Map();
    for (const split of SPLITS) {
      headers.set(split, await archive.readHeader(`${split}_images`));
      labelArrays.set(split, await archive.read(`${split}_labels`));
    }
  } finally {
    await archive.close();
  }

  const geometry = imageGeometry(path, info, headers, options.size);
  const entries = await readEntries(path);
  const file = new SharedFile(path);
  const cache = new WholeMemberCache();
  const tables = new Map<MedmnistSplit, SplitTable>();
  const fingerprint = createHash('sha256');
  for (const split of SPLITS) {
    const header = headers.get(split)!;
    const labels = labelTable(path, info, task, split, labelArrays.get(split)!, header.shape[0]!, onError, issues);
    const entry = entries.get(`${split}_images.npy`)!;
    const member: ImagesMember = {
      path,
      key: `${split}_images`,
      entry,
      memberDataOffset: entry.memberDataOffset,
      npyDataOffset: header.dataOffset,
      rowBytes: geometry.size * geometry.size * geometry.channels,
      rows: header.shape[0]!,
    };
    tables.set(split, { ...labels, reader: rowReader(member, file, cache, maxInMemoryBytes, options.streamWindowBytes) });
    const published = info.counts[split];
    if (member.rows !== published) {
      issues.push({
        kind: 'note',
        file: path,
        message: `${split}: ${member.rows} images, the published ${info.flag} split has ${published}; the file may be another release`,
      });
    }
  }
  // The members' CRC-32s from the ZIP directory identify the content without reading gigabytes.
  for (const [name, entry] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    fingerprint.update(`${name}\t${entry.crc32}\t${entry.uncompressedSize}\n`);
  }
  for (const issue of issues) if (issue.kind === 'skipped') fingerprint.update(`skip\t${issue.row}\t${issue.message}\n`);
  const version = `${geometry.size}px-${fingerprint.digest('hex').slice(0, 16)}`;

  const tableOf = (split: SplitName): SplitTable => {
    const table = tables.get(split as MedmnistSplit);
    if (table === undefined) throw new RangeError(`medmnist:${info.flag}: no split ${JSON.stringify(split)}; the splits are ${SPLITS.join(', ')}`);
    return table;
  };
  const labelsPerRow = task.type === 'multilabel' ? task.labels.length : 1;
  const image = (pixels: Uint8Array): RawImage => ({ data: pixels, width: geometry.size, height: geometry.size, channels: geometry.channels });

  const sampleAt = (split: MedmnistSplit, table: SplitTable, position: number): Sample => {
    const row = table.rows[position]!;
    const target: Target = task.type === 'multilabel' ? table.labels.slice(row * labelsPerRow, (row + 1) * labelsPerRow) : table.labels[row]!;
    return {
      id: `${split}/${String(row).padStart(6, '0')}`,
      target,
      source: `${path}[${split}_images][${row}]`,
      decode: async () => image(await table.reader.read(row)),
    };
  };

  return {
    specificationVersion: 'medssl/v1',
    id: `medmnist:${info.flag}`,
    modality: medmnistModality(info.flag),
    version,
    task,
    splits: [...SPLITS],
    flag: info.flag,
    file: path,
    imageSize: geometry.size,
    channels: geometry.channels,
    rowAccess: Object.fromEntries(SPLITS.map((split) => [split, tables.get(split)!.reader.access])),
    async size(split) {
      return tableOf(split).rows.length;
    },
    async *samples(split: SplitName, sampleOptions: SampleOptions = {}) {
      const table = tableOf(split);
      const { start, end } = sampleRange(`medmnist:${info.flag}/${split}`, table.rows.length, sampleOptions);
      sampleOptions.signal?.throwIfAborted();
      for (let position = start; position < end; position++) {
        sampleOptions.signal?.throwIfAborted();
        yield sampleAt(split as MedmnistSplit, table, position);
      }
    },
    issues: () => issues,
  };
}

function resolvePath(info: MedmnistFlagInfo, options: MedmnistOptions): string {
  if (options.file !== undefined) return options.file;
  if (options.root === undefined) {
    throw new TypeError(`medmnist: give root (the folder holding ${medmnistFileName(info.flag, options.size ?? 28)}) or file`);
  }
  return join(options.root, medmnistFileName(info.flag, options.size ?? 28));
}

/** Checks that every split holds square uint8 images of one size and the flag's channels. */
function imageGeometry(
  path: string,
  info: MedmnistFlagInfo,
  headers: ReadonlyMap<MedmnistSplit, NpyHeader>,
  expectedSize: MedmnistSize | undefined,
): { size: number; channels: 1 | 3 } {
  let geometry: { size: number; channels: 1 | 3 } | undefined;
  for (const split of SPLITS) {
    const header = headers.get(split)!;
    const where = `${path}[${split}_images.npy]`;
    if (header.dtype !== 'uint8') throw new Error(`${where}: expected uint8 pixels, got ${header.dtype} (${header.descr})`);
    if (header.fortranOrder) throw new Error(`${where}: Fortran-order arrays are not supported; save the images in C order`);
    const shape = header.shape;
    const channels = shape.length === 3 ? 1 : shape.length === 4 ? shape[3] : undefined;
    if ((channels !== 1 && channels !== 3) || shape[1] !== shape[2]) {
      throw new Error(`${where}: expected shape (N, H, W) or (N, H, W, 3) with H = W, got (${shape.join(', ')})`);
    }
    if (channels !== info.channels) {
      throw new Error(`${where}: ${info.flag} images have ${info.channels} channel${info.channels > 1 ? 's' : ''}, this file has ${channels}`);
    }
    const size = shape[1]!;
    if (expectedSize !== undefined && size !== expectedSize) {
      throw new Error(`${where}: expected ${expectedSize}x${expectedSize} images (size ${expectedSize}), got ${size}x${size}`);
    }
    if (geometry !== undefined && geometry.size !== size) {
      throw new Error(`${where}: ${size}x${size} images, but the train split has ${geometry.size}x${geometry.size}`);
    }
    geometry = { size, channels };
  }
  return geometry!;
}

/** Directory entries by member file name, with where each member's bytes start. */
async function readEntries(path: string): Promise<Map<string, ZipEntry & { memberDataOffset: number }>> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const source = byteSourceFromFileHandle(handle, size, path);
    const entries = new Map<string, ZipEntry & { memberDataOffset: number }>();
    for (const entry of await readZipDirectory(source, path)) {
      if (!entry.fileName.endsWith('.npy')) continue;
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new Error(`${path}[${entry.fileName}]: compression method ${entry.compressionMethod}; expected 0 (np.savez) or 8 (np.savez_compressed)`);
      }
      entries.set(entry.fileName, { ...entry, memberDataOffset: await zipEntryDataOffset(source, entry, path) });
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** Labels of one split as small integers, checked against the task; bad rows throw or are skipped. */
function labelTable(
  path: string,
  info: MedmnistFlagInfo,
  task: Task,
  split: MedmnistSplit,
  array: NdArray,
  imageRows: number,
  onError: OnError,
  issues: DatasetIssue[],
): { rows: Int32Array; labels: Uint8Array } {
  const where = `${path}[${split}_labels.npy]`;
  if (array.dtype === 'float32' || array.dtype === 'float64') {
    throw new Error(`${where}: expected integer labels, got ${array.dtype}`);
  }
  const multilabel = task.type === 'multilabel';
  const columns = multilabel ? task.labels.length : 1;
  const shape = array.shape;
  const shapeFits = multilabel ? shape.length === 2 && shape[1] === columns : shape.length === 1 || (shape.length === 2 && shape[1] === 1);
  if (!shapeFits) {
    throw new Error(`${where}: expected shape (N, ${multilabel ? columns : 1}) for ${info.flag}, got (${shape.join(', ')})`);
  }
  const rows = shape[0]!;
  if (rows !== imageRows) throw new Error(`${where}: ${rows} labels for ${imageRows} images in ${split}_images`);

  const labels = new Uint8Array(rows * columns);
  const kept: number[] = [];
  const classes = multilabel ? 2 : task.classes.length;
  const names = multilabel ? task.labels : task.classes;
  for (let row = 0; row < rows; row++) {
    let problem: string | undefined;
    for (let column = 0; column < columns; column++) {
      const value = Number(array.data[row * columns + column]!);
      if (!Number.isInteger(value) || value < 0 || value >= classes) {
        problem = multilabel
          ? `row ${row}: label ${names[column]} is ${value}, expected 0 or 1`
          : `row ${row}: label ${value} is outside 0..${classes - 1} (${names.join(', ')})`;
        break;
      }
      labels[row * columns + column] = value;
    }
    if (problem === undefined) {
      kept.push(row);
      continue;
    }
    if (onError === 'throw') throw new Error(`${where}: ${problem}`);
    issues.push({ kind: 'skipped', file: `${path}[${split}_labels]`, row, message: `${split}: ${problem}; sample skipped` });
  }
  return { rows: Int32Array.from(kept), labels };
}
