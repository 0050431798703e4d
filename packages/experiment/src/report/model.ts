// Turns results documents into what the page shows: per task (dataset), one series per evaluation with
// its primary metric by label fraction, colours that stay the same for a backbone across the page, the best
// single backbone that a fusion is compared with, and DVME attention and DME weights averaged over seeds.
import type { ReportPretraining, ReportTask, ResultsDocument } from './documents.js';
import { protocolName } from './format.js';

export interface SeriesPoint {
  readonly fraction: number;
  readonly mean: number;
  readonly std: number;
  readonly count: number;
}

export interface SeedPoint {
  readonly fraction: number;
  readonly seed: number;
  readonly value: number;
}

export interface Series {
  /** Unique on the page; used in `data-series` attributes. */
  readonly key: string;
  readonly label: string;
  readonly protocol: string;
  readonly kind: 'single' | 'fusion';
  readonly backbones: readonly string[];
  readonly color: string;
  readonly document: ResultsDocument;
  /** The task's primary metric per fraction (mean ± std over seeds), by increasing fraction. */
  readonly points: readonly SeriesPoint[];
  readonly seeds: readonly SeedPoint[];
  /** A single backbone's pretraining, from its document or the report's lookup. */
  readonly pretraining?: ReportPretraining;
}

export interface TaskGroup {
  /** For the section's anchor. */
  readonly anchor: string;
  readonly dataset: string;
  readonly datasetVersions: readonly string[];
  readonly task: ReportTask;
  readonly metric: string;
  readonly fractions: readonly number[];
  /** Every series, single backbones first, sorted by protocol then label. */
  readonly series: readonly Series[];
}

/** Backbone colours (Tableau 10 without purple and grey, which the fusions use). */
const BACKBONE_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#ff9da7', '#9c755f'];
const FUSION_COLORS: Readonly<Record<string, string>> = { dvme: '#1f2430', dme: '#8e5ea2', concat: '#8c8c8c' };
const OTHER_FUSION_COLOR = '#555f6d';

/** Protocol order on the page: the paper's linear → kNN → finetune, then the fusions. */
const PROTOCOL_ORDER = ['linear', 'knn', 'finetune', 'dvme', 'dme', 'concat'];

export function protocolRank(protocol: string): number {
  const index = PROTOCOL_ORDER.indexOf(protocol);
  return index === -1 ? PROTOCOL_ORDER.length : index;
}

/** One colour per backbone id, assigned in sorted order so that adding a document keeps them stable. */
export function backboneColors(documents: readonly ResultsDocument[]): Map<string, string> {
  const ids = [...new Set(documents.flatMap((document) => document.backbones))].sort();
  return new Map(ids.map((id, index) => [id, BACKBONE_COLORS[index % BACKBONE_COLORS.length]!]));
}

export function fusionColor(protocol: string): string {
  return FUSION_COLORS[protocol] ?? OTHER_FUSION_COLOR;
}

/** Line dash per protocol, for the panels that compare protocols of one backbone. */
export function protocolDash(protocol: string): string {
  return ({ linear: '', knn: '7 4', finetune: '2 3' } as Record<string, string>)[protocol] ?? '10 3 2 3';
}

/** A backbone's pretraining by id, for documents that do not record it (written before runs recorded it, or by `medssl eval`). */
export type PretrainingLookup = (backboneId: string) => ReportPretraining | undefined;

export function groupByTask(
  documents: readonly ResultsDocument[],
  colors: ReadonlyMap<string, string>,
  pretrainingOf: PretrainingLookup = () => undefined,
): TaskGroup[] {
  const groups = new Map<string, ResultsDocument[]>();
  for (const document of documents) {
    const groupKey = `${document.dataset.id}\u0000${JSON.stringify(document.task)}`;
    groups.set(groupKey, [...(groups.get(groupKey) ?? []), document]);
  }
  const datasetCounts = new Map<string, number>();
  for (const members of groups.values()) datasetCounts.set(members[0]!.dataset.id, (datasetCounts.get(members[0]!.dataset.id) ?? 0) + 1);
  return [...groups.values()]
    .sort((a, b) => a[0]!.dataset.id.localeCompare(b[0]!.dataset.id))
    .map((members, index) => {
      const { dataset, task } = members[0]!;
      const series = seriesOf(members, task.primaryMetric, colors, pretrainingOf);
      return {
        anchor: `task-${index + 1}`,
        dataset: dataset.id,
        datasetVersions: [...new Set(members.map((member) => member.dataset.version))],
        task,
        metric: task.primaryMetric,
        fractions: [...new Set(series.flatMap((entry) => entry.points.map((point) => point.fraction)))].sort((a, b) => a - b),
        series,
      };
    });
}

function seriesOf(documents: readonly ResultsDocument[], metric: string, colors: ReadonlyMap<string, string>, pretrainingOf: PretrainingLookup): Series[] {
  const sorted = [...documents].sort(
    (a, b) =>
      Number(a.kind === 'fusion') - Number(b.kind === 'fusion') ||
      protocolRank(a.protocol) - protocolRank(b.protocol) ||
      a.protocol.localeCompare(b.protocol) ||
      a.backbones.join(' + ').localeCompare(b.backbones.join(' + ')),
  );
  const fusionNames = sorted.filter((document) => document.kind === 'fusion').map((document) => protocolName(document.protocol));
  const seen = new Map<string, number>();
  return sorted.map((document) => {
    let label: string;
    if (document.kind === 'single') label = document.backbones[0]!;
    // Fusions are named by method; their sources are added only where two of the same method would collide.
    else
      label =
        fusionNames.filter((name) => name === protocolName(document.protocol)).length > 1
          ? `${protocolName(document.protocol)} (${document.backbones.join(' + ')})`
          : protocolName(document.protocol);
    const identity = `${document.protocol}\u0000${label}`;
    const repeat = (seen.get(identity) ?? 0) + 1;
    seen.set(identity, repeat);
    if (repeat > 1) label = `${label} #${repeat}`;
    const points = document.summary
      .flatMap((entry) => {
        const summary = entry.metrics[metric];
        return summary ? [{ fraction: entry.fraction, mean: summary.mean, std: summary.std, count: summary.count }] : [];
      })
      .sort((a, b) => a.fraction - b.fraction);
    const seeds = document.rows.flatMap((row) => {
      const value = row.metrics[metric];
      return value === undefined ? [] : [{ fraction: row.fraction, seed: row.seed, value }];
    });
    const pretraining = document.kind === 'single' ? (document.pretraining ?? pretrainingOf(document.backbones[0]!)) : undefined;
    return {
      key: `${document.dataset.id}|${document.protocol}|${label}`,
      label,
      protocol: document.protocol,
      kind: document.kind,
      backbones: document.backbones,
      color: document.kind === 'single' ? colors.get(document.backbones[0]!)! : fusionColor(document.protocol),
      document,
      points,
      seeds,
      ...(pretraining ? { pretraining } : {}),
    };
  });
}

/** The mean of a series' primary metric over the given fractions (those it has). */
function averageOver(series: Series, fractions: readonly number[]): number {
  const values = series.points.filter((point) => fractions.includes(point.fraction)).map((point) => point.mean);
  return values.length === 0 ? -Infinity : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * The single-backbone series a fusion is measured against: among the fusions' sources (all single
 * backbones if none of them were evaluated alone), linear probes first since the fusion heads are linear
 * on the same frozen features, the one with the highest mean metric over the fusions' fractions.
 */
export function bestSingleSeries(group: TaskGroup): Series | undefined {
  const fusions = group.series.filter((series) => series.kind === 'fusion');
  if (fusions.length === 0) return undefined;
  const sources = new Set(fusions.flatMap((series) => series.backbones));
  const singles = group.series.filter((series) => series.kind === 'single');
  const fromSources = singles.filter((series) => sources.has(series.backbones[0]!));
  const pool = fromSources.length > 0 ? fromSources : singles;
  const linear = pool.filter((series) => series.protocol === 'linear');
  const candidates = linear.length > 0 ? linear : pool;
  const fractions = [...new Set(fusions.flatMap((series) => series.points.map((point) => point.fraction)))];
  let best: Series | undefined;
  for (const candidate of candidates) if (!best || averageOver(candidate, fractions) > averageOver(best, fractions)) best = candidate;
  return best;
}

export interface AveragedAttention {
  readonly block: number;
  readonly sources: readonly string[];
  /** `[head][query][key]`, averaged over the seeds' rows. */
  readonly heads: readonly (readonly (readonly number[])[])[];
  /** `[query][key]`, the mean over heads. */
  readonly mean: readonly (readonly number[])[];
}

/** DVME attention at the largest fraction that has any, averaged over seeds; one entry per block. */
export function averagedAttention(series: Series): { fraction: number; seeds: number; blocks: AveragedAttention[] } | undefined {
  const rows = series.document.rows.filter((row) => row.attention && row.attention.length > 0);
  if (rows.length === 0) return undefined;
  const fraction = Math.max(...rows.map((row) => row.fraction));
  const atFraction = rows.filter((row) => row.fraction === fraction);
  const blockIds = [...new Set(atFraction.flatMap((row) => row.attention!.map((block) => block.block)))].sort((a, b) => a - b);
  const blocks = blockIds.map((blockId) => {
    const entries = atFraction.flatMap((row) => row.attention!.filter((block) => block.block === blockId));
    const first = entries[0]!;
    // Seeds whose block has another shape (sources or heads) cannot be averaged with the first: skip them.
    const matching = entries.filter((entry) => entry.heads === first.heads && entry.sources.join('\u0000') === first.sources.join('\u0000'));
    const size = first.sources.length;
    const heads = Array.from({ length: first.heads }, (_, head) =>
      Array.from({ length: size }, (_, query) => Array.from({ length: size }, (_, key) => mean(matching.map((entry) => entry.weights[head]![query]![key]!)))),
    );
    const meanOverHeads = Array.from({ length: size }, (_, query) => Array.from({ length: size }, (_, key) => mean(heads.map((head) => head[query]![key]!))));
    return { block: blockId, sources: first.sources, heads, mean: meanOverHeads };
  });
  return { fraction, seeds: atFraction.length, blocks };
}

export interface SourceWeightsAtFraction {
  readonly fraction: number;
  readonly seeds: number;
  /** Per source of the fusion, in order; the mean over seeds. */
  readonly weights: readonly number[];
}

/** DME source weights per fraction, averaged over seeds, in the order of the fusion's sources. */
export function averagedSourceWeights(series: Series): SourceWeightsAtFraction[] {
  const rows = series.document.rows.filter((row) => row.sourceWeights !== undefined);
  const fractions = [...new Set(rows.map((row) => row.fraction))].sort((a, b) => a - b);
  return fractions.map((fraction) => {
    const atFraction = rows.filter((row) => row.fraction === fraction);
    return {
      fraction,
      seeds: atFraction.length,
      weights: series.backbones.map((source) => mean(atFraction.map((row) => row.sourceWeights![source] ?? 0))),
    };
  });
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
