// The report page: pure functions from results documents to one self-contained HTML string (inline CSS
// and SVG, no script, nothing fetched), so it opens from disk, in a mail attachment or offline. No Node
// built-ins here: the same code can render a report in a browser.
import type { ResultsDocument } from './documents.js';
import { formatFraction, formatMeanStd, formatMetric, formatSeconds, formatTime, metricName, protocolName, shortHash } from './format.js';
import { html, rawHtml, type SafeHtml } from './html.js';
import {
  averagedAttention,
  averagedSourceWeights,
  backboneColors,
  bestSingleSeries,
  groupByTask,
  protocolDash,
  protocolRank,
  type PretrainingLookup,
  type Series,
  type TaskGroup,
} from './model.js';
import { PRETRAINING_GROUPS, domainComparisons, pretrainingGroup, pretrainingGroupLabel, type DomainComparison } from './pretraining.js';
import { transferabilityAgreement, type TransferabilityDocument } from './transferability.js';
import { fractionChart, heatmap, legendSwatch, metricDomain, stackedBars, type ChartSeries } from './plots.js';
import { REPORT_STYLES } from './styles.js';

export interface ReportOptions {
  /** The page's heading and `<title>`; default "medssl report". */
  readonly title?: string;
  /** When the report was made (ISO 8601), shown in the header; left out when not given. */
  readonly generated?: string;
  /** A note shown prominently under the title, e.g. that the numbers come from synthetic data. */
  readonly notice?: string;
  /** Pretraining of backbones whose documents do not record it (the CLI looks ids up in its registry). */
  readonly pretrainingOf?: PretrainingLookup;
  /** Transferability estimates (`readTransferabilityDocuments`), set against the linear probe per task. */
  readonly transferability?: readonly TransferabilityDocument[];
}

/** Renders results documents (see `readResultsDocument`) to one self-contained HTML page. */
export function renderReport(documents: readonly ResultsDocument[], options: ReportOptions = {}): string {
  if (documents.length === 0) throw new Error('renderReport needs at least one results document');
  const title = options.title ?? 'medssl report';
  const colors = backboneColors(documents);
  const groups = groupByTask(documents, colors, options.pretrainingOf);
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${rawHtml(REPORT_STYLES)}</style>
</head>
<body>
<header class="page-header">
<h1>${title}</h1>
${options.notice ? html`<p class="notice">${options.notice}</p>` : ''}
${overview(documents, groups, options.generated)}
<nav class="contents">${groups.map((group) => html`<a href="#${group.anchor}">${group.dataset}</a>`)}<a href="#provenance">provenance</a></nav>
</header>
<main>
${groups.map((group) => taskSection(group, colors, options.transferability ?? []))}
${provenance(groups)}
</main>
</body>
</html>
`;
  return page.value;
}

function overview(documents: readonly ResultsDocument[], groups: readonly TaskGroup[], generated: string | undefined): SafeHtml {
  const backbones = [...new Set(documents.filter((document) => document.kind === 'single').flatMap((document) => document.backbones))];
  const protocols = [...new Set(documents.map((document) => document.protocol))].sort((a, b) => protocolRank(a) - protocolRank(b));
  const medsslVersions = [...new Set(documents.map((document) => document.versions.medssl).filter((version) => version !== undefined))];
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return html`<p class="overview">${plural(documents.length, 'evaluation')} on ${plural(groups.length, 'task')} · ${plural(backbones.length, 'backbone')} · protocols: ${protocols.map(protocolName).join(', ')}${
    medsslVersions.length > 0 ? html` · medssl ${medsslVersions.join(', ')}` : ''
  }${generated ? html` · generated ${formatTime(generated)}` : ''}</p>
<p class="how-to-read">Each task shows its primary metric against the fraction of training labels used (log scale): lines are the mean over seeds, bands ± one standard deviation, dots single seeds.</p>
${domainOverview(groups)}`;
}

/** One sentence on in-domain against natural-image pretraining over the whole page, where the tasks allow it. */
function domainOverview(groups: readonly TaskGroup[]): SafeHtml | '' {
  const comparisons = groups.flatMap((group) => domainComparisons(group));
  if (comparisons.length === 0) return '';
  const count = (verdict: DomainComparison['verdict']) => comparisons.filter((comparison) => comparison.verdict === verdict).length;
  return html`<p class="overview domain-overview">In-domain against natural-image pretraining, the best model of each side per task, protocol and label fraction: in-domain ahead in <strong>${count('in-domain')}</strong>, natural images ahead in <strong>${count('natural')}</strong>, within one standard deviation over seeds in <strong>${count('unclear')}</strong> of ${comparisons.length} comparisons.</p>`;
}

function taskSection(group: TaskGroup, colors: ReadonlyMap<string, string>, transferability: readonly TransferabilityDocument[]): SafeHtml {
  const singles = group.series.filter((series) => series.kind === 'single');
  const fusions = group.series.filter((series) => series.kind === 'fusion');
  const best = bestSingleSeries(group);
  // One y range for every chart of the task, so panels side by side compare directly.
  const yDomain = metricDomain(group.series);
  const protocols = [...new Set(singles.map((series) => series.protocol))];
  const classes = group.task.classes ?? group.task.labels;
  const description = [
    group.datasetVersions.length > 0 ? `version ${group.datasetVersions.join(', ')}` : '',
    `${group.task.type}${classes ? ` (${classes.length <= 6 ? classes.join(' / ') : `${classes.length} ${group.task.labels ? 'labels' : 'classes'}`})` : ''}`,
    `primary metric ${metricName(group.metric)}`,
  ].filter((part) => part !== '');
  return html`<section class="task" id="${group.anchor}">
<h2>${group.dataset} <span class="subtitle">${description.join(' · ')}</span></h2>
${singles.length > 0 ? labelEfficiency(group, singles, protocols, yDomain) : ''}
${summaryTable(group, best)}
${domainSection(group)}
${transferabilitySection(group, transferability)}
${protocolComparison(group, singles, yDomain)}
${fusions.length > 0 ? fusionComparison(group, fusions, best) : ''}
${fusions.map((series) => attentionSection(series, colors))}
${fusions.map((series) => sourceWeightsSection(series, colors))}
</section>`;
}

function legend(entries: readonly { label: string; color: string; dash?: string; key?: string }[]): SafeHtml {
  return html`<ul class="legend">${entries.map((entry) => html`<li class="legend-entry" data-series="${entry.key ?? entry.label}">${legendSwatch(entry.color, entry.dash)}<span>${entry.label}</span></li>`)}</ul>`;
}

function chartSeries(series: Series, overrides: Partial<ChartSeries> = {}): ChartSeries {
  return { key: series.key, label: series.label, color: series.color, points: series.points, seeds: series.seeds, ...overrides };
}

/** Metric vs label fraction, one panel per protocol side by side, one line per backbone. */
function labelEfficiency(group: TaskGroup, singles: readonly Series[], protocols: readonly string[], yDomain: readonly [number, number]): SafeHtml {
  const backbones = [...new Map(singles.map((series) => [series.backbones[0]!, series.color])).entries()].sort(([a], [b]) => a.localeCompare(b));
  const panels = protocols.map((protocol) => {
    const members = singles.filter((series) => series.protocol === protocol);
    const title = `${protocolName(protocol)}: ${metricName(group.metric)} vs label fraction`;
    return html`<figure class="panel" data-protocol="${protocol}"><figcaption>${protocolName(protocol)}</figcaption>${fractionChart({
      title,
      metric: group.metric,
      series: members.map((series) => chartSeries(series)),
      fractions: group.fractions,
      yDomain,
    })}</figure>`;
  });
  return html`<h3>${metricName(group.metric)} vs label fraction${protocols.length > 1 ? ', by protocol' : ''}</h3>
${legend(backbones.map(([label, color]) => ({ label, color })))}
<div class="panels">${panels}</div>`;
}

/** Mean ± std of the primary metric per fraction for every evaluation of the task; best per column bold. */
function summaryTable(group: TaskGroup, best: Series | undefined): SafeHtml {
  const bestMean = new Map(
    group.fractions.map((fraction) => [
      fraction,
      Math.max(...group.series.flatMap((series) => series.points.filter((point) => point.fraction === fraction).map((point) => point.mean))),
    ]),
  );
  // With pretraining recorded, single backbones are grouped by it within each protocol.
  const grouped = group.series.some((series) => series.pretraining !== undefined);
  const groupLabels = pretrainingLabels(group.series);
  const rank = (series: Series) => (series.kind === 'single' ? PRETRAINING_GROUPS.indexOf(pretrainingGroup(series.pretraining)) : PRETRAINING_GROUPS.length);
  const ordered = grouped
    ? [...group.series].sort(
        (a, b) => Number(a.kind === 'fusion') - Number(b.kind === 'fusion') || protocolRank(a.protocol) - protocolRank(b.protocol) || rank(a) - rank(b),
      )
    : group.series;
  const rows = ordered.map((series) => {
    const cells = group.fractions.map((fraction) => {
      const point = series.points.find((candidate) => candidate.fraction === fraction);
      if (!point) return html`<td class="number missing">–</td>`;
      const isBest = point.mean === bestMean.get(fraction);
      return html`<td class="number${isBest ? ' best' : ''}" title="${point.count} seed${point.count === 1 ? '' : 's'}">${formatMeanStd(point.mean, point.std)}</td>`;
    });
    const pretraining = grouped
      ? html`<td class="pretraining">${series.kind === 'single' ? groupLabels.get(pretrainingGroup(series.pretraining)) : 'fusion'}</td>`
      : '';
    return html`<tr data-series="${series.key}"><td>${protocolName(series.protocol)}</td>${pretraining}<td class="model">${legendSwatch(series.color)}${series.label}${series === best ? html` <span class="tag">best single</span>` : ''}</td>${cells}</tr>`;
  });
  const metrics = [...new Set(group.series.flatMap((series) => series.document.summary.flatMap((entry) => Object.keys(entry.metrics))))].sort((a, b) =>
    a === group.metric ? -1 : b === group.metric ? 1 : a.localeCompare(b),
  );
  const allRows = group.series.flatMap((series) =>
    metrics.map((metric, index) => {
      const cells = group.fractions.map((fraction) => {
        const summary = series.document.summary.find((entry) => entry.fraction === fraction)?.metrics[metric];
        return summary ? html`<td class="number">${formatMeanStd(summary.mean, summary.std)}</td>` : html`<td class="number missing">–</td>`;
      });
      return html`<tr${index === 0 ? html` class="group-start"` : ''}><td>${index === 0 ? html`${protocolName(series.protocol)} · ${series.label}` : ''}</td><td>${metricName(metric)}</td>${cells}</tr>`;
    }),
  );
  const header = group.fractions.map((fraction) => html`<th class="number">${formatFraction(fraction)}</th>`);
  return html`<h3>${metricName(group.metric)}, mean ± std over seeds</h3>
<div class="table-scroll"><table class="summary"><thead><tr><th>protocol</th>${grouped ? html`<th>pretraining</th>` : ''}<th>model</th>${header}</tr></thead><tbody>${rows}</tbody></table></div>
${metrics.length > 1 ? html`<details class="all-metrics"><summary>All metrics (${metrics.map(metricName).join(', ')})</summary><div class="table-scroll"><table class="summary"><thead><tr><th>evaluation</th><th>metric</th>${header}</tr></thead><tbody>${allRows}</tbody></table></div></details>` : ''}`;
}

/** Each pretraining group's label, naming the data sets or modalities of its members. */
function pretrainingLabels(series: readonly Series[]): Map<string, string> {
  const singles = series.filter((entry) => entry.kind === 'single');
  return new Map(
    PRETRAINING_GROUPS.map((name) => [
      name,
      pretrainingGroupLabel(
        name,
        singles.filter((entry) => pretrainingGroup(entry.pretraining) === name).map((entry) => entry.pretraining),
      ),
    ]),
  );
}

/** The best in-domain model against the best natural-image one, per protocol and fraction. */
function domainSection(group: TaskGroup): SafeHtml | '' {
  const comparisons = domainComparisons(group);
  if (comparisons.length === 0) return '';
  const verdicts = { 'in-domain': 'in-domain ahead', natural: 'natural images ahead', unclear: 'within the spread' } as const;
  const rows = comparisons.map((comparison) => {
    const sign = comparison.difference >= 0 ? '+' : '−';
    return html`<tr data-verdict="${comparison.verdict}"><td>${protocolName(comparison.protocol)}</td><td class="number">${formatFraction(comparison.fraction)}</td><td class="model">${comparison.inDomain.series.label}</td><td class="number">${formatMeanStd(comparison.inDomain.point.mean, comparison.inDomain.point.std)}</td><td class="model">${comparison.natural.series.label}</td><td class="number">${formatMeanStd(comparison.natural.point.mean, comparison.natural.point.std)}</td><td class="number"><span class="delta ${comparison.difference >= 0 ? 'up' : 'down'}">${sign}${formatMetric(Math.abs(comparison.difference))}</span> ± ${formatMetric(comparison.spread)}</td><td class="number">${comparison.seeds}${comparison.paired ? ' paired' : ''}</td><td>${verdicts[comparison.verdict]}</td></tr>`;
  });
  return html`<h3>In-domain vs natural-image pretraining</h3>
<p class="note">Per protocol and label fraction, the in-domain self-supervised model with the highest mean ${metricName(group.metric)} against the model pretrained on natural images (ImageNet, LVD-142M; supervised or self-supervised) with the highest. The difference is in-domain minus natural images, ± one standard deviation over seeds: of the per-seed differences where both ran the same seeds (a seed draws the same labelled subset for every backbone), else √(std₁² + std₂²). A side is ahead when the difference exceeds that deviation.</p>
<div class="table-scroll"><table class="summary domain-table"><thead><tr><th>protocol</th><th class="number">fraction</th><th>best in-domain</th><th class="number">${metricName(group.metric)}</th><th>best natural images</th><th class="number">${metricName(group.metric)}</th><th class="number">difference</th><th class="number">seeds</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** Each transferability estimator's ranking of the backbones against the linear probe's, per fraction. */
function transferabilitySection(group: TaskGroup, documents: readonly TransferabilityDocument[]): SafeHtml | '' {
  const agreement = transferabilityAgreement(group, documents);
  const skipped = documents.find((document) => document.dataset === group.dataset)?.skipped ?? [];
  const skippedNote =
    skipped.length > 0
      ? html`<p class="note transferability-skipped">Not scored: ${skipped.map((entry, index) => html`${index > 0 ? '; ' : ''}${formatFraction(entry.fraction)} (seed ${String(entry.seed)}): ${entry.reason}`)}.</p>`
      : '';
  if (!agreement) return skipped.length > 0 ? html`<h3>Transferability estimates against the linear probe</h3>${skippedNote}` : '';
  const fractions = [...agreement.measuredBest.keys()].sort((a, b) => a - b);
  const estimators = [...new Set(agreement.agreements.map((entry) => entry.estimator))];
  const rows = estimators.map((estimator) => {
    const cells = fractions.map((fraction) => {
      const entry = agreement.agreements.find((candidate) => candidate.estimator === estimator && candidate.fraction === fraction);
      if (!entry) return html`<td class="number missing">–</td>`;
      // τ is undefined when the probe measured every backbone alike.
      const tau = Number.isFinite(entry.tau) ? entry.tau.toFixed(2) : '–';
      return html`<td class="number" data-picked-best="${String(entry.pickedBest)}" title="first choice: ${entry.pick}">τw ${tau} · ${entry.pickedBest ? 'best picked' : html`picked ${entry.pick}`}</td>`;
    });
    return html`<tr data-estimator="${estimator}"><td>${estimator}</td>${cells}</tr>`;
  });
  const best = fractions.map((fraction) => html`<td class="model">${agreement.measuredBest.get(fraction)}</td>`);
  return html`<h3>Transferability estimates against the linear probe</h3>
<p class="note">Before anything trains, each estimator scores every backbone from its training features and labels alone (the same label-fraction subsets, mean over seeds). Weighted Kendall's τ (hyperbolic weights, as the transferability papers report it) compares its ranking with the linear probe's mean ${metricName(group.metric)} over the ${agreement.backbones.length} backbones both have; 1 is the same order, −1 the reverse. "Best picked" means its first choice is the backbone the probe measured best.</p>
<div class="table-scroll"><table class="summary transferability-table"><thead><tr><th>estimator</th>${fractions.map((fraction) => html`<th class="number">${formatFraction(fraction)}</th>`)}</tr></thead><tbody>${rows}<tr class="group-start"><td>measured best (linear probe)</td>${best}</tr></tbody></table></div>
<details class="transferability-rankings"><summary>The rankings, best first</summary>
<div class="table-scroll"><table class="summary"><thead><tr><th>ranking by</th>${fractions.map((fraction) => html`<th>${formatFraction(fraction)}</th>`)}</tr></thead><tbody>
<tr data-ranking="linear"><td>linear probe (measured)</td>${fractions.map((fraction) => html`<td>${(agreement.measuredRanking.get(fraction) ?? []).join(' › ')}</td>`)}</tr>
${estimators.map(
  (estimator) =>
    html`<tr data-ranking="${estimator}"><td>${estimator}</td>${fractions.map((fraction) => html`<td>${(agreement.agreements.find((candidate) => candidate.estimator === estimator && candidate.fraction === fraction)?.ranking ?? []).join(' › ')}</td>`)}</tr>`,
)}
</tbody></table></div></details>${skippedNote}`;
}

/** Linear vs kNN vs finetune for each backbone that was evaluated by more than one of them. */
function protocolComparison(group: TaskGroup, singles: readonly Series[], yDomain: readonly [number, number]): SafeHtml | '' {
  const byBackbone = new Map<string, Series[]>();
  for (const series of singles) byBackbone.set(series.backbones[0]!, [...(byBackbone.get(series.backbones[0]!) ?? []), series]);
  const compared = [...byBackbone.entries()]
    .filter(([, members]) => new Set(members.map((series) => series.protocol)).size > 1)
    .sort(([a], [b]) => a.localeCompare(b));
  if (compared.length === 0) return '';
  const protocols = [...new Set(compared.flatMap(([, members]) => members.map((series) => series.protocol)))].sort((a, b) => protocolRank(a) - protocolRank(b));
  const panels = compared.map(([backbone, members]) => {
    const chart = fractionChart({
      title: `${backbone}: protocols compared`,
      metric: group.metric,
      series: members.map((series) =>
        chartSeries(series, { key: `${series.key}|compare`, label: `${backbone} · ${protocolName(series.protocol)}`, dash: protocolDash(series.protocol) }),
      ),
      fractions: group.fractions,
      yDomain,
    });
    return html`<figure class="panel" data-backbone="${backbone}"><figcaption>${legendSwatch(members[0]!.color)}${backbone}</figcaption>${chart}</figure>`;
  });
  return html`<h3>Protocols compared, per backbone</h3>
${legend(protocols.map((protocol) => ({ label: protocolName(protocol), color: '#4a5361', dash: protocolDash(protocol), key: `protocol:${protocol}` })))}
<div class="panels">${panels}</div>`;
}

/** DVME, DME and concat against the best single backbone. */
function fusionComparison(group: TaskGroup, fusions: readonly Series[], best: Series | undefined): SafeHtml {
  const series = [
    ...(best ? [chartSeries(best, { key: `${best.key}|best`, label: `${best.label} (${protocolName(best.protocol)}, best single)`, dash: '5 3' })] : []),
    ...fusions.map((fusion) => chartSeries(fusion, { emphasis: true })),
  ];
  // Its own y range: the differences here are small next to the spread between backbones.
  const chart = fractionChart({
    title: `fusion vs best single backbone: ${metricName(group.metric)} vs label fraction`,
    metric: group.metric,
    series,
    fractions: group.fractions,
    yDomain: metricDomain(series),
  });
  const fractions = group.fractions.filter((fraction) => fusions.some((fusion) => fusion.points.some((point) => point.fraction === fraction)));
  const rows = fractions.map((fraction) => {
    const reference = best?.points.find((point) => point.fraction === fraction);
    const cells = fusions.map((fusion) => {
      const point = fusion.points.find((candidate) => candidate.fraction === fraction);
      if (!point) return html`<td class="number missing">–</td>`;
      const delta = reference ? point.mean - reference.mean : undefined;
      return html`<td class="number">${formatMeanStd(point.mean, point.std)}${delta === undefined ? '' : html` <span class="delta ${delta >= 0 ? 'up' : 'down'}">${delta >= 0 ? '+' : '−'}${formatMetric(Math.abs(delta))}</span>`}</td>`;
    });
    return html`<tr><td class="number">${formatFraction(fraction)}</td><td class="number">${reference ? formatMeanStd(reference.mean, reference.std) : '–'}</td>${cells}</tr>`;
  });
  const sources = [...new Set(fusions.flatMap((fusion) => fusion.backbones))];
  return html`<h3>Fusion vs best single backbone</h3>
<p class="note">Fused sources: ${sources.join(', ')}. ${
    best
      ? html`Best single backbone: <strong>${best.label}</strong> (${protocolName(best.protocol)}), the highest mean ${metricName(group.metric)} over the fusions' fractions${best.protocol === 'linear' ? ' among linear probes, since the fusion heads are linear on the same frozen features' : ''}. The y axis is zoomed to these lines.`
      : 'No single-backbone results for this task to compare with.'
  }</p>
${legend(series.map((entry) => ({ label: entry.label, color: entry.color, dash: entry.dash ?? '', key: entry.key })))}
<div class="fusion-row"><figure class="panel" data-figure="fusion">${chart}</figure>
<div class="table-scroll"><table class="summary fusion-table"><thead><tr><th class="number">fraction</th><th class="number">${best ? html`${best.label} <span class="muted">(best single)</span>` : 'best single'}</th>${fusions.map((fusion) => html`<th class="number">${fusion.label}</th>`)}</tr></thead><tbody>${rows}</tbody></table>
${best ? html`<p class="note">Coloured: the fusion's mean minus the best single backbone's mean.</p>` : ''}</div></div>`;
}

function sourceColors(sources: readonly string[], colors: ReadonlyMap<string, string>): string[] {
  return sources.map((source) => colors.get(source) ?? '#888');
}

/** DVME attention per block: the mean over heads, large, and each head as a small multiple. */
function attentionSection(series: Series, colors: ReadonlyMap<string, string>): SafeHtml | '' {
  const attention = averagedAttention(series);
  if (!attention) return '';
  const blocks = attention.blocks.map((block) => {
    const blockColors = sourceColors(block.sources, colors);
    const heads = block.heads.map(
      (matrix, head) =>
        html`<figure class="head"><figcaption>head ${head + 1}</figcaption>${heatmap({ title: `block ${block.block}, head ${head + 1}`, matrix, labels: block.sources, colors: blockColors, compact: true })}</figure>`,
    );
    return html`<div class="attention-block" data-block="${block.block}">
<figure class="attention-mean"><figcaption>block ${block.block}: mean over ${block.heads.length} head${block.heads.length === 1 ? '' : 's'}</figcaption>${heatmap({ title: `block ${block.block}, mean over heads`, matrix: block.mean, labels: block.sources, colors: blockColors })}</figure>
${block.heads.length > 1 ? html`<div class="heads">${heads}</div>` : ''}
</div>`;
  });
  return html`<h3>${series.label} attention</h3>
<p class="note">Row: the source attending; column: the source attended to (rows sum to 1). Label fraction ${formatFraction(attention.fraction)}, averaged over ${attention.seeds} seed${attention.seeds === 1 ? '' : 's'}. Small multiples use the same order, marked by colour.</p>
${legend(attention.blocks[0]!.sources.map((source) => ({ label: source, color: colors.get(source) ?? '#888', key: `source:${source}` })))}
${blocks}`;
}

/** DME: the softmax weight of each source per label fraction. */
function sourceWeightsSection(series: Series, colors: ReadonlyMap<string, string>): SafeHtml | '' {
  const weights = averagedSourceWeights(series);
  if (weights.length === 0) return '';
  const chart = stackedBars({
    title: `${series.label} source weights per label fraction`,
    rows: weights.map((entry) => ({ label: formatFraction(entry.fraction), values: entry.weights })),
    segmentLabels: series.backbones,
    colors: sourceColors(series.backbones, colors),
  });
  return html`<h3>${series.label} source weights</h3>
<p class="note">The softmax weight of each source in the weighted sum, per label fraction, averaged over seeds.</p>
${legend(series.backbones.map((source) => ({ label: source, color: colors.get(source) ?? '#888', key: `source:${source}` })))}
<figure class="panel wide">${chart}</figure>`;
}

function optionsText(options: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(options);
  return entries.length === 0 ? 'defaults' : entries.map(([name, value]) => `${name}: ${JSON.stringify(value)}`).join(', ');
}

/** The folder all results files share, so the table can show the rest of each path. */
function commonFolder(sources: readonly string[]): string {
  const folders = sources.map((source) => source.split(' › ')[0]!.split('/').slice(0, -1));
  const first = folders[0] ?? [];
  let length = 0;
  while (length < first.length && folders.every((folder) => folder[length] === first[length])) length++;
  return length === 0 ? '' : `${first.slice(0, length).join('/')}/`;
}

/** How each result was made: enough to reproduce it. */
function provenance(groups: readonly TaskGroup[]): SafeHtml {
  const all = groups.flatMap((group) => group.series);
  const folder = commonFolder(all.map((series) => series.document.source));
  const rows = all.map((series) => {
    const document = series.document;
    const weights = document.backbones.map(
      (backbone, index) =>
        html`<div>${legendSwatch(series.kind === 'single' ? series.color : '#888')}${backbone} <code title="${document.weightsSha256[index]}">${shortHash(document.weightsSha256[index]!)}</code></div>`,
    );
    const inputs = document.inputs.map(
      (input) => html`<span title="${input.folders.join('\n')}">${input.split}${input.count === undefined ? '' : html`&nbsp;${input.count}`}</span>`,
    );
    const versions = Object.entries(document.versions).map(([name, version]) => html`<div>${name} ${version}</div>`);
    const evaluation =
      series.kind === 'single'
        ? html`<strong>${protocolName(document.protocol)}</strong> · ${series.label}`
        : html`<strong>${series.label}</strong> · ${document.backbones.length} sources`;
    return html`<tr>
<td>${evaluation}<div class="muted">${document.dataset.id} ${document.dataset.version}</div></td>
<td class="weights">${weights}</td>
<td class="config"><div>fractions ${document.config.fractions.map(formatFraction).join(', ')}</div><div>seeds ${document.config.seeds.join(', ')}</div>${inputs.length > 0 ? html`<div>rows ${inputs.map((input, index) => html`${index > 0 ? ' · ' : ''}${input}`)}</div>` : ''}<div class="muted options">options ${optionsText(document.config.options)}</div></td>
<td class="time">${formatTime(document.created)}<div class="muted">${document.elapsedSeconds === undefined ? '' : `took ${formatSeconds(document.elapsedSeconds)}`}</div></td>
<td class="versions">${versions}</td>
<td class="files"><code title="${document.source}">${document.source.startsWith(folder) ? document.source.slice(folder.length) : document.source}</code><div class="muted">${document.format}</div>${
      document.subsetFiles.length > 0
        ? html`<details><summary>${document.subsetFiles.length} subset file${document.subsetFiles.length === 1 ? '' : 's'}</summary><ul>${document.subsetFiles.map((file) => html`<li><code>${file}</code></li>`)}</ul></details>`
        : ''
    }</td>
</tr>`;
  });
  return html`<section class="provenance" id="provenance">
<h2>Provenance</h2>
<p class="note">Weights are identified by SHA-256 (hover for the full hash). Subset files are the label-fraction index files, relative to each results document; with the same inputs they reproduce every row.${folder ? html` Results files are in <code>${folder}</code>.` : ''}</p>
<div class="table-scroll"><table class="provenance-table"><thead><tr><th>evaluation</th><th>weights (SHA-256)</th><th>config</th><th>created</th><th>versions</th><th>results file</th></tr></thead><tbody>${rows}</tbody></table></div>
</section>`;
}
