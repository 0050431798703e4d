// What a backbone's weights learnt from, as the report groups it, and the question the grouping is for:
// per task, protocol and label fraction, does the best in-domain model beat the best natural-image one?
import type { ReportPretraining } from './documents.js';
import type { Series, SeriesPoint, TaskGroup } from './model.js';

/** Pretraining groups, in the order the report lists them. */
export const PRETRAINING_GROUPS = [
  'natural-supervised',
  'natural-self-supervised',
  'in-domain-self-supervised',
  'in-domain-supervised',
  'none',
  'unknown',
] as const;
export type PretrainingGroup = (typeof PRETRAINING_GROUPS)[number];

export function pretrainingGroup(pretraining: ReportPretraining | undefined): PretrainingGroup {
  if (!pretraining || pretraining.supervision === 'unknown' || pretraining.domain === 'unknown') return 'unknown';
  if (pretraining.supervision === 'none') return 'none';
  const natural = pretraining.domain === 'natural';
  if (pretraining.supervision === 'supervised') return natural ? 'natural-supervised' : 'in-domain-supervised';
  if (pretraining.supervision === 'self-supervised') return natural ? 'natural-self-supervised' : 'in-domain-self-supervised';
  return 'unknown';
}

/** `natural images (ImageNet-1k, LVD-142M), self-supervised`, `in-domain (chest-xray), self-supervised`. */
export function pretrainingGroupLabel(group: PretrainingGroup, members: readonly (ReportPretraining | undefined)[]): string {
  const data = [...new Set(members.flatMap((member) => (member ? [member.data] : [])))].sort();
  const domains = [...new Set(members.flatMap((member) => (member ? [member.domain] : [])))].sort();
  switch (group) {
    case 'natural-supervised':
      return `natural images (${data.join(', ')}), supervised`;
    case 'natural-self-supervised':
      return `natural images (${data.join(', ')}), self-supervised`;
    case 'in-domain-self-supervised':
      return `in-domain (${domains.join(', ')}), self-supervised`;
    case 'in-domain-supervised':
      return `in-domain (${domains.join(', ')}), supervised`;
    case 'none':
      return 'random initialization';
    case 'unknown':
      return 'pretraining not recorded';
  }
}

/** The better of two sides at one fraction: in-domain, natural images, or neither beyond the seeds' spread. */
export type DomainVerdict = 'in-domain' | 'natural' | 'unclear';

export interface DomainComparison {
  readonly protocol: string;
  readonly fraction: number;
  /** The in-domain self-supervised series with the highest mean at this fraction, and that point. */
  readonly inDomain: { readonly series: Series; readonly point: SeriesPoint };
  /** The natural-image series (supervised or self-supervised) with the highest mean at this fraction. */
  readonly natural: { readonly series: Series; readonly point: SeriesPoint };
  /** In-domain minus natural: the mean of the per-seed differences where both ran the same seeds, else the difference of the means. */
  readonly difference: number;
  /**
   * One standard deviation of that difference over seeds: of the per-seed differences when paired (the
   * same seeds draw the same labelled subsets for every backbone), else √(std₁² + std₂²).
   */
  readonly spread: number;
  readonly paired: boolean;
  /** Seeds behind the difference. */
  readonly seeds: number;
  /** Which side is ahead by more than `spread`; `unclear` when the difference is within it. */
  readonly verdict: DomainVerdict;
}

/**
 * Per protocol and fraction of a task, the best in-domain self-supervised model against the best
 * natural-image model (the ImageNet-pretrained ones and DINOv2's LVD-142M), where the task has both.
 */
export function domainComparisons(group: TaskGroup): DomainComparison[] {
  const singles = group.series.filter((series) => series.kind === 'single');
  const protocols = [...new Set(singles.map((series) => series.protocol))];
  const comparisons: DomainComparison[] = [];
  for (const protocol of protocols) {
    const ofProtocol = singles.filter((series) => series.protocol === protocol);
    const inDomain = ofProtocol.filter((series) => pretrainingGroup(series.pretraining) === 'in-domain-self-supervised');
    const natural = ofProtocol.filter((series) => ['natural-supervised', 'natural-self-supervised'].includes(pretrainingGroup(series.pretraining)));
    if (inDomain.length === 0 || natural.length === 0) continue;
    for (const fraction of group.fractions) {
      const bestInDomain = bestAt(inDomain, fraction);
      const bestNatural = bestAt(natural, fraction);
      if (!bestInDomain || !bestNatural) continue;
      comparisons.push({ protocol, fraction, inDomain: bestInDomain, natural: bestNatural, ...difference(bestInDomain, bestNatural, fraction) });
    }
  }
  return comparisons;
}

function bestAt(candidates: readonly Series[], fraction: number): { series: Series; point: SeriesPoint } | undefined {
  let best: { series: Series; point: SeriesPoint } | undefined;
  for (const series of candidates) {
    const point = series.points.find((candidate) => candidate.fraction === fraction);
    if (point && (!best || point.mean > best.point.mean)) best = { series, point };
  }
  return best;
}

function difference(
  inDomain: { series: Series; point: SeriesPoint },
  natural: { series: Series; point: SeriesPoint },
  fraction: number,
): Pick<DomainComparison, 'difference' | 'spread' | 'paired' | 'seeds' | 'verdict'> {
  const bySeed = (series: Series) => new Map(series.seeds.filter((seed) => seed.fraction === fraction).map((seed) => [seed.seed, seed.value]));
  const ours = bySeed(inDomain.series);
  const theirs = bySeed(natural.series);
  const paired = ours.size > 1 && ours.size === theirs.size && [...ours.keys()].every((seed) => theirs.has(seed));
  let value: number;
  let spread: number;
  let seeds: number;
  if (paired) {
    const differences = [...ours].map(([seed, score]) => score - theirs.get(seed)!);
    value = differences.reduce((sum, entry) => sum + entry, 0) / differences.length;
    spread = Math.sqrt(differences.reduce((sum, entry) => sum + (entry - value) ** 2, 0) / (differences.length - 1));
    seeds = differences.length;
  } else {
    value = inDomain.point.mean - natural.point.mean;
    spread = Math.hypot(inDomain.point.std, natural.point.std);
    seeds = Math.min(inDomain.point.count, natural.point.count);
  }
  const verdict: DomainVerdict = value - spread > 0 ? 'in-domain' : value + spread < 0 ? 'natural' : 'unclear';
  return { difference: value, spread, paired, seeds, verdict };
}
