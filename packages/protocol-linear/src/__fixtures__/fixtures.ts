// Typed readers for the JSON fixtures written by make_fixtures.py (scikit-learn 1.2.1). Test-only.
import { readFileSync } from 'node:fs';
import type { FeatureSet, TargetArray, Task } from '@medssl/spec';

interface SplitDocument {
  readonly shape: [number, number];
  /** base64 of little-endian float32, C order. */
  readonly features: string;
  /** Class per row, or the 0/1 flags row after row for multilabel. */
  readonly targets: number[];
}

export interface ReferenceFit {
  readonly gridIndex: number;
  readonly l2: number;
  readonly C: number;
  /** `[outputs][dimension]` on standardised features (one row for binary). */
  readonly coefficients: number[][];
  readonly intercepts: number[];
  readonly testProbabilities: string;
  readonly testMetrics: Readonly<Record<string, number>>;
  readonly testPerLabelAuc?: number[];
}

export interface FixtureCase {
  readonly name: string;
  readonly sklearn: string;
  readonly task: Task;
  readonly grid: number[];
  readonly train: SplitDocument;
  readonly val: SplitDocument;
  readonly test: SplitDocument;
  readonly fits: ReferenceFit[];
  readonly selection?: { readonly validationScores: number[]; readonly selectedIndex: number; readonly margin: number };
}

export function decodeFloat32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export function readCase(name: 'binary' | 'multiclass' | 'multilabel'): FixtureCase {
  return JSON.parse(readFileSync(new URL(`./${name}.json`, import.meta.url), 'utf8')) as FixtureCase;
}

export function featureSet(fixture: FixtureCase, split: 'train' | 'val' | 'test'): FeatureSet {
  const document = fixture[split];
  const [rows, dimension] = document.shape;
  const targets: TargetArray =
    fixture.task.type === 'multilabel'
      ? { type: 'labels', data: Uint8Array.from(document.targets), shape: [rows, fixture.task.labels.length] }
      : { type: 'class', data: Int32Array.from(document.targets), shape: [rows] };
  return {
    features: { data: decodeFloat32(document.features), shape: [rows, dimension] },
    targets,
    ids: Array.from({ length: rows }, (_, row) => `${fixture.name}-${split}-${row}`),
    manifest: {
      format: 'medssl.features/v1',
      dataset: { id: `fixture:${fixture.name}`, version: fixture.sklearn },
      task: fixture.task,
      split,
      backbone: 'fixture:correlated-gaussian',
      weightsSha256: '0'.repeat(64),
      preprocessing: { channels: 3 },
      runtime: { id: 'numpy', provider: 'cpu', precision: 'float32' },
      count: rows,
      dimension,
      created: '1970-01-01T00:00:00.000Z',
    },
  };
}
