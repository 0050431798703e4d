import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { LabelFractionEvaluation } from '@medssl/core';
import { saveSubsetFiles } from '@medssl/core/node';
import { writeFileAtomic } from '@medssl/arrays/node';
import type { FeatureSet, Task } from '@medssl/spec';
import { version } from './version.js';

export type EvaluationSplits<T> = Readonly<Record<'train' | 'val' | 'test', T>>;

/** What an evaluation ran on: the task, dataset, backbone and weights, and each split's inputs. */
export interface EvaluationSource {
  readonly task: Task;
  readonly dataset: { readonly id: string; readonly version: string };
  readonly backbone: string;
  readonly weightsSha256: string;
  readonly inputs: EvaluationSplits<object>;
}

/** The source of an evaluation on stored features: the train split's manifest and each split's folder. */
export function featureSetSource(sets: EvaluationSplits<FeatureSet>, folders: EvaluationSplits<string>): EvaluationSource {
  const { manifest } = sets.train;
  return {
    task: manifest.task,
    dataset: manifest.dataset,
    backbone: manifest.backbone,
    weightsSha256: manifest.weightsSha256,
    inputs: {
      train: { folder: resolve(folders.train), count: sets.train.ids.length, manifest: sets.train.manifest },
      val: { folder: resolve(folders.val), count: sets.val.ids.length, manifest: sets.val.manifest },
      test: { folder: resolve(folders.test), count: sets.test.ids.length, manifest: sets.test.manifest },
    },
  };
}

export interface EvaluationDocumentInput {
  readonly protocol: string;
  readonly protocolOptions: object;
  readonly source: EvaluationSource;
  readonly fractions: readonly number[];
  readonly seeds: readonly number[];
  readonly result: LabelFractionEvaluation;
  readonly elapsedMilliseconds: number;
  /** Extra top-level fields, e.g. the experiment unit's key. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * Writes one evaluation's results document (`medssl.eval/v1`) atomically, with its label-fraction subset
 * files in `subsets/` beside it, so a run can be reproduced exactly.
 */
export async function writeEvaluationDocument(out: string, input: EvaluationDocumentInput): Promise<object> {
  const folder = dirname(out);
  const subsetFolder = join(folder, 'subsets');
  await mkdir(subsetFolder, { recursive: true });
  const subsetFiles = await saveSubsetFiles(subsetFolder, input.result.subsets);
  const { source } = input;
  const document = {
    format: 'medssl.eval/v1',
    created: new Date().toISOString(),
    versions: { medssl: version, node: process.version },
    protocol: input.protocol,
    config: { fractions: input.fractions, seeds: input.seeds, options: input.protocolOptions },
    task: source.task,
    dataset: source.dataset,
    backbone: source.backbone,
    weightsSha256: source.weightsSha256,
    inputs: source.inputs,
    subsetFiles: subsetFiles.map((path) => relative(folder, path)),
    elapsedSeconds: input.elapsedMilliseconds / 1000,
    ...input.extra,
    rows: input.result.rows,
    summary: input.result.summary,
  };
  await writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`);
  return document;
}
