// Transferability estimates in the report: read from their documents, then set against the linear probe's
// measured ranking of the same backbones, per task and label fraction, as the transferability papers
// report agreement (weighted Kendall's tau, and whether the estimator's first choice was the best).
import { weightedKendallTau } from '@medssl/transferability';
import { ResultsDocumentError } from './documents.js';
import type { TaskGroup } from './model.js';

export const TRANSFERABILITY_DOCUMENT_FORMAT = 'medssl.transferability/v1';

/** One dataset's estimates: per fraction, each backbone's score by each estimator (means over seeds). */
export interface TransferabilityDocument {
  readonly source: string;
  readonly dataset: string;
  readonly estimators: readonly string[];
  readonly backbones: readonly string[];
  readonly summary: readonly { readonly fraction: number; readonly scores: Readonly<Record<string, Readonly<Record<string, number>>>> }[];
  /** Subsets the estimators could not score, and why. */
  readonly skipped: readonly { readonly fraction: number; readonly seed: number; readonly reason: string }[];
}

/**
 * The transferability documents in a parsed JSON value: the document itself, or the `transferability`
 * entries of a run document; none for other formats. Errors name the file and the JSON path.
 */
export function readTransferabilityDocuments(value: unknown, source: string): TransferabilityDocument[] {
  if (typeof value !== 'object' || value === null) return [];
  const root = value as Record<string, unknown>;
  if (root.format === TRANSFERABILITY_DOCUMENT_FORMAT) return [transferabilityDocument(root, source, '$')];
  if (root.format !== 'medssl.run/v1' || root.transferability === undefined) return [];
  if (!Array.isArray(root.transferability)) throw new ResultsDocumentError(`${source}: $.transferability: expected an array`);
  return root.transferability.map((entry, index) => transferabilityDocument(entry, `${source} › transferability[${index}]`, `$.transferability[${index}]`));
}

function transferabilityDocument(value: unknown, source: string, path: string): TransferabilityDocument {
  const fail = (where: string, expected: string): never => {
    throw new ResultsDocumentError(`${source}: ${path}${where}: expected ${expected}`);
  };
  if (typeof value !== 'object' || value === null) return fail('', 'a transferability document');
  const root = value as Record<string, unknown>;
  const strings = (entry: unknown, where: string) =>
    Array.isArray(entry) && entry.every((item) => typeof item === 'string') ? (entry as string[]) : fail(where, 'an array of strings');
  const dataset = (root.dataset as { id?: unknown } | undefined)?.id;
  if (typeof dataset !== 'string') fail('.dataset.id', 'a string');
  const estimators = strings(root.estimators, '.estimators');
  const backbones = strings(root.backbones, '.backbones');
  if (!Array.isArray(root.summary)) fail('.summary', 'an array');
  const summary = (root.summary as unknown[]).map((entry, index) => {
    const where = `.summary[${index}]`;
    const { fraction, scores } = (entry ?? {}) as { fraction?: unknown; scores?: unknown };
    if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) fail(`${where}.fraction`, 'a label fraction in (0, 1]');
    if (typeof scores !== 'object' || scores === null) return fail(`${where}.scores`, 'an object');
    for (const backbone of backbones) {
      for (const estimator of estimators) {
        const score = (scores as Record<string, Record<string, unknown> | undefined>)[backbone]?.[estimator];
        // NaN is written as null: an estimator that could not score a set.
        if (score !== null && typeof score !== 'number') fail(`${where}.scores[${JSON.stringify(backbone)}].${estimator}`, 'a number or null');
      }
    }
    return { fraction: fraction as number, scores: scores as Record<string, Record<string, number>> };
  });
  const rows = Array.isArray(root.rows) ? (root.rows as unknown[]) : [];
  const skipped = rows.flatMap((row) => {
    const { fraction, seed, skipped: reason } = (row ?? {}) as { fraction?: unknown; seed?: unknown; skipped?: unknown };
    return typeof reason === 'string' && typeof fraction === 'number' && typeof seed === 'number' ? [{ fraction, seed, reason }] : [];
  });
  return { source, dataset: dataset as string, estimators, backbones, summary, skipped };
}

/** How one estimator's ranking at one fraction agreed with the linear probe's. */
export interface EstimatorAgreement {
  readonly estimator: string;
  readonly fraction: number;
  /** Weighted Kendall's tau between the estimator's scores and the probe's mean metric, over the backbones both have. */
  readonly tau: number;
  /** The backbone the estimator ranks first, and whether the probe measured it best. */
  readonly pick: string;
  readonly pickedBest: boolean;
  /** The compared backbones in the estimator's order, best first. */
  readonly ranking: readonly string[];
}

export interface TransferabilityAgreement {
  readonly document: TransferabilityDocument;
  /** The backbones compared (those with a linear-probe result at the fraction). */
  readonly backbones: readonly string[];
  /** Per fraction, the backbone the probe measured best. */
  readonly measuredBest: ReadonlyMap<number, string>;
  /** Per fraction, the compared backbones in the probe's order, best first. */
  readonly measuredRanking: ReadonlyMap<number, readonly string[]>;
  readonly agreements: readonly EstimatorAgreement[];
}

/** The estimators of a task's dataset against its linear-probe results, where both cover two or more backbones. */
export function transferabilityAgreement(group: TaskGroup, documents: readonly TransferabilityDocument[]): TransferabilityAgreement | undefined {
  const document = documents.find((candidate) => candidate.dataset === group.dataset);
  if (!document) return undefined;
  const linear = group.series.filter((series) => series.kind === 'single' && series.protocol === 'linear');
  const agreements: EstimatorAgreement[] = [];
  const measuredBest = new Map<number, string>();
  const measuredRanking = new Map<number, readonly string[]>();
  let compared: string[] = [];
  for (const { fraction, scores } of document.summary) {
    const measured = document.backbones.flatMap((backbone) => {
      const point = linear.find((series) => series.backbones[0] === backbone)?.points.find((candidate) => candidate.fraction === fraction);
      return point ? [{ backbone, mean: point.mean }] : [];
    });
    if (measured.length < 2) continue;
    compared = measured.map((entry) => entry.backbone);
    const best = measured.reduce((top, entry) => (entry.mean > top.mean ? entry : top));
    measuredBest.set(fraction, best.backbone);
    measuredRanking.set(
      fraction,
      ordered(
        measured.map((entry) => entry.backbone),
        measured.map((entry) => entry.mean),
      ),
    );
    for (const estimator of document.estimators) {
      const estimated = measured.map((entry) => scores[entry.backbone]![estimator]!);
      if (estimated.some((score) => typeof score !== 'number' || !Number.isFinite(score))) continue;
      const pick = measured[estimated.indexOf(Math.max(...estimated))]!.backbone;
      agreements.push({
        estimator,
        fraction,
        tau: weightedKendallTau(
          estimated,
          measured.map((entry) => entry.mean),
        ),
        pick,
        pickedBest: pick === best.backbone,
        ranking: ordered(
          measured.map((entry) => entry.backbone),
          estimated,
        ),
      });
    }
  }
  return agreements.length > 0 ? { document, backbones: compared, measuredBest, measuredRanking, agreements } : undefined;
}

/** Names in decreasing order of their values (ties in their given order). */
function ordered(names: readonly string[], values: readonly number[]): string[] {
  return names
    .map((name, index) => ({ name, value: values[index]! }))
    .sort((a, b) => b.value - a.value)
    .map((entry) => entry.name);
}
