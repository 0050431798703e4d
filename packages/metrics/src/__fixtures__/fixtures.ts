// Typed readers for the JSON fixtures written by make_fixtures.py (scikit-learn 1.2.1). Test-only.
import { readFileSync } from 'node:fs';
import type { Task } from '@medssl/spec';

interface FixtureDocument<Case> {
  readonly sklearn: string;
  readonly cases: readonly Case[];
}

export interface AucCase {
  readonly name: string;
  readonly targets: number[];
  readonly scores: number[];
  /** null: scikit-learn raised (one class only). */
  readonly expected: number | null;
  /** The same, on the scores rounded to float32. */
  readonly expectedFloat32: number | null;
}

export interface MultilabelCase {
  readonly name: string;
  readonly labels: string[];
  readonly rows: number;
  readonly targets: number[];
  /** Decimals that both sides read as float32. */
  readonly scores: number[];
  readonly perLabel: (number | null)[];
  readonly macroAuc: number | null;
  readonly excludedLabels: string[];
}

export interface ClassificationCase {
  readonly name: string;
  readonly classCount: number;
  readonly targets: number[];
  readonly predictions: number[];
  readonly confusion: number[];
  /** null: scikit-learn returned nan. */
  readonly kappa: { readonly none: number | null; readonly linear: number | null; readonly quadratic: number | null };
  readonly accuracy: number;
  readonly balancedAccuracy: number;
  /** Whether scikit-learn warned "y_pred contains classes not in y_true". */
  readonly balancedAccuracyWarned: boolean;
  readonly macroF1: number;
}

export interface TaskCase {
  readonly name: string;
  readonly task: Task;
  readonly targets: number[];
  readonly targetShape: number[];
  readonly scores: number[];
  readonly scoreShape: [number, number];
  readonly metrics: Record<string, number | null>;
  readonly perLabel?: Record<string, number | null>;
}

function readCases<Case>(fileName: string): readonly Case[] {
  const text = readFileSync(new URL(`./${fileName}`, import.meta.url), 'utf8');
  return (JSON.parse(text) as FixtureDocument<Case>).cases;
}

export const aucCases = (): readonly AucCase[] => readCases<AucCase>('auc.json');
export const multilabelCases = (): readonly MultilabelCase[] => readCases<MultilabelCase>('multilabel.json');
export const classificationCases = (): readonly ClassificationCase[] => readCases<ClassificationCase>('classification.json');
export const taskCases = (): readonly TaskCase[] => readCases<TaskCase>('task.json');
