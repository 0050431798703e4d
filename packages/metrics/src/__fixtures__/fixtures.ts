// Typed readers for the JSON fixtures written by make_fixtures.py (scikit-learn 1.2.1). Test-only.
import { readFileSync } from 'node:fs';
import type { Task } from '@medssl/spec';

interface FixtureDocument<Case> {
  readonly sklearn?: string;
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

/** pROC's values for one case of make_delong.R. */
export interface DelongCase {
  readonly name: string;
  readonly targets: number[];
  /** Probabilities rounded to two decimals (one in the heavy-ties case): many ties. */
  readonly scoresA: number[];
  readonly scoresB: number[];
  readonly aucA: number;
  readonly aucB: number;
  /** var(roc, method = "delong") of A and B, cov(rocA, rocB, method = "delong"). */
  readonly varianceA: number;
  readonly varianceB: number;
  readonly covariance: number;
  /** roc.test(rocA, rocB, method = "delong", paired = TRUE): statistic, p-value, conf.int at 95 % and 90 %. */
  readonly z: number;
  readonly pValue: number;
  readonly interval95: [number, number];
  readonly interval90: [number, number];
  /** ci.auc(rocA, method = "delong"): lower and upper at 95 % and 90 %. */
  readonly aucIntervalA95: [number, number];
  readonly aucIntervalA90: [number, number];
}

export interface DelongDocument {
  readonly pROC: string;
  readonly delong: readonly DelongCase[];
  /** stats::p.adjust(pValues, method = "holm"). */
  readonly holm: readonly { readonly pValues: number[]; readonly adjusted: number[] }[];
  /** 2 * pnorm(-abs(z)) and qnorm(p). */
  readonly normal: {
    readonly twoSided: readonly { readonly z: number; readonly pValue: number }[];
    readonly quantiles: readonly { readonly p: number; readonly quantile: number }[];
  };
}

/** One case of make_delong_multilabel.py: the mean-AUC test computed from the definition in O(n²). */
export interface DelongMultilabelCase {
  readonly name: string;
  readonly labels: string[];
  readonly rows: number;
  readonly confidence: number;
  readonly targets: number[];
  readonly scoresA: number[];
  readonly scoresB: number[];
  readonly expected: {
    readonly includedLabels: string[];
    readonly excludedLabels: string[];
    readonly perLabel: Record<string, { aucA: number; aucB: number; variance: number; z: number; pValue: number } | null>;
    readonly meanAucA: number;
    readonly meanAucB: number;
    readonly difference: number;
    readonly variance: number;
    readonly z: number;
    readonly pValue: number;
    readonly interval: [number, number];
    readonly differenceCovariance: number[];
  };
}

function readJson<Document>(fileName: string): Document {
  return JSON.parse(readFileSync(new URL(`./${fileName}`, import.meta.url), 'utf8')) as Document;
}

export const delongDocument = (): DelongDocument => readJson<DelongDocument>('delong.json');
export const delongMultilabelCases = (): readonly DelongMultilabelCase[] => readJson<FixtureDocument<DelongMultilabelCase>>('delong_multilabel.json').cases;

function readCases<Case>(fileName: string): readonly Case[] {
  const text = readFileSync(new URL(`./${fileName}`, import.meta.url), 'utf8');
  return (JSON.parse(text) as FixtureDocument<Case>).cases;
}

export const aucCases = (): readonly AucCase[] => readCases<AucCase>('auc.json');
export const multilabelCases = (): readonly MultilabelCase[] => readCases<MultilabelCase>('multilabel.json');
export const classificationCases = (): readonly ClassificationCase[] => readCases<ClassificationCase>('classification.json');
export const taskCases = (): readonly TaskCase[] => readCases<TaskCase>('task.json');
