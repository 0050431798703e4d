// Node-only parts of @medssl/training: checkpoints as files. The main entry stays free of Node built-ins.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeNpzParts, type NdArray } from '@medssl/arrays';
import { openNpzFile, writeFileAtomic } from '@medssl/arrays/node';
import type { Tensor } from '@medssl/spec';
import { isModelTensor, type CheckpointState, type CheckpointStore, type SavedCheckpoint } from './checkpoint.js';

/** The sidecar of a run's checkpoint: the state, and which tensor files hold the last and the best epoch. */
interface Sidecar extends CheckpointState {
  readonly files: { readonly latest: string; readonly best: string | null };
}

export const SIDECAR_FILE = 'checkpoint.json';
const EPOCH_FILE = /^epoch-\d+\.npz$/;

export interface FileCheckpointStoreOptions {
  /** The `format` every sidecar must have (e.g. `medssl.finetune-checkpoint/v1`); others are refused by name. */
  readonly format: string;
}

/**
 * Checkpoints as files, one folder per run (`<folder>/<run>/`): each epoch's tensors (the model's under
 * its own names, AdamW's `adamw.first.<i>` and `adamw.second.<i>`) in `epoch-<n>.npz` (numpy reads it:
 * `np.load(path)['head.weight']`), and `checkpoint.json` beside it with the epoch count, optimiser steps,
 * history, best epoch, random-stream position and settings. Both are written atomically and flushed to
 * disk, the tensors first: the sidecar names the files it belongs to, so a crash at any moment leaves the
 * previous epoch's checkpoint whole. Only the last and the best epoch's files are kept; a finished run
 * keeps the best one.
 */
export function fileCheckpointStore(folder: string, options: FileCheckpointStoreOptions): CheckpointStore {
  const { format } = options;
  const runFolder = (run: string) => join(folder, run.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const sidecarPath = (run: string) => join(runFolder(run), SIDECAR_FILE);

  const readSidecar = async (run: string): Promise<Sidecar | undefined> => {
    const path = sidecarPath(run);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let sidecar: Sidecar;
    try {
      sidecar = JSON.parse(text) as Sidecar;
    } catch (error) {
      throw new Error(`checkpoint sidecar ${path} is not JSON: ${(error as Error).message}`);
    }
    if (sidecar.format !== format) throw new Error(`checkpoint sidecar ${path}: format is ${JSON.stringify(sidecar.format)}, expected ${format}`);
    if (typeof sidecar.files?.latest !== 'string') throw new Error(`checkpoint sidecar ${path}: files.latest is missing`);
    return sidecar;
  };

  const writeSidecar = async (sidecar: Sidecar) => {
    await writeFileAtomic(sidecarPath(sidecar.run), `${JSON.stringify(sidecar, null, 2)}\n`);
    // Tensor files the sidecar no longer names are left over from earlier epochs.
    const keep = new Set([sidecar.files.latest, sidecar.files.best]);
    for (const name of await readdir(runFolder(sidecar.run))) {
      if (EPOCH_FILE.test(name) && !keep.has(name)) await rm(join(runFolder(sidecar.run), name), { force: true });
    }
  };

  return {
    location: folder,
    async load(run): Promise<SavedCheckpoint | undefined> {
      const sidecar = await readSidecar(run);
      if (sidecar === undefined) return undefined;
      const { files, ...state } = sidecar;
      return {
        state,
        tensors: () => readTensors(join(runFolder(run), files.latest), () => true),
        bestTensors: () => {
          if (files.best === null) throw new Error(`checkpoint ${sidecarPath(run)}: no epoch has been the best yet`);
          return readTensors(join(runFolder(run), files.best), isModelTensor);
        },
      };
    },
    async save(state, tensors, isBest) {
      await mkdir(runFolder(state.run), { recursive: true });
      const file = `epoch-${String(state.epochsCompleted).padStart(4, '0')}.npz`;
      const arrays = new Map<string, NdArray>([...tensors].map(([name, tensor]) => [name, { dtype: 'float32', shape: tensor.shape, data: tensor.data }]));
      await writeFileAtomic(join(runFolder(state.run), file), encodeNpzParts(arrays));
      const previous = await readSidecar(state.run);
      await writeSidecar({ ...state, files: { latest: file, best: isBest ? file : (previous?.files.best ?? null) } });
    },
    async finish(state) {
      const previous = await readSidecar(state.run);
      if (previous === undefined) throw new Error(`checkpoint ${sidecarPath(state.run)}: cannot finish a run that saved no epoch`);
      await writeSidecar({ ...state, files: { latest: previous.files.best ?? previous.files.latest, best: previous.files.best } });
    },
  };
}

async function readTensors(path: string, wanted: (key: string) => boolean): Promise<Map<string, Tensor>> {
  const archive = await openNpzFile(path);
  try {
    const tensors = new Map<string, Tensor>();
    for (const key of archive.keys.filter(wanted)) {
      const array = await archive.read(key);
      if (array.dtype !== 'float32') throw new Error(`checkpoint ${path}: ${key} is ${array.dtype}, expected float32`);
      tensors.set(key, { data: array.data, shape: [...array.shape] });
    }
    return tensors;
  } finally {
    await archive.close();
  }
}
