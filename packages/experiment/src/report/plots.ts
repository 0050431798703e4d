// Inline SVG plots drawn by hand (no chart library, so the page needs nothing from the network). Sizes are
// in viewBox units; CSS scales each plot to its column. Classes and data attributes name what each mark is,
// for the stylesheet and for tests that read the page.
import { formatFraction, formatMetric, metricName } from './format.js';
import { html, rawHtml, type SafeHtml } from './html.js';

export interface ChartSeries {
  readonly key: string;
  readonly label: string;
  readonly color: string;
  /** SVG stroke-dasharray; empty for a solid line. */
  readonly dash?: string;
  readonly points: readonly { readonly fraction: number; readonly mean: number; readonly std: number; readonly count: number }[];
  readonly seeds: readonly { readonly fraction: number; readonly seed: number; readonly value: number }[];
  /** Drawn heavier, e.g. the fusion against the single backbone. */
  readonly emphasis?: boolean;
}

export interface FractionChartOptions {
  readonly title: string;
  readonly metric: string;
  readonly series: readonly ChartSeries[];
  /** The fractions that get an axis tick. */
  readonly fractions: readonly number[];
  /** Shared by the charts of one task, so side-by-side panels compare at a glance. */
  readonly yDomain: readonly [number, number];
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { top: 12, right: 16, bottom: 44, left: 54 };

/** Round tick values covering [low, high], about `count` of them, and the domain they span. */
export function niceTicks(low: number, high: number, count = 5): { domain: [number, number]; ticks: number[] } {
  // A span at the scale of rounding error (seeds that agree to the last bit) gets a visible one instead.
  if (!(high - low > Math.max(Math.abs(low), Math.abs(high), 1e-6) * 1e-6)) {
    const middle = (low + high) / 2;
    const pad = Math.max(Math.abs(middle) * 0.02, 0.01);
    return niceTicks(middle - pad, middle + pad, count);
  }
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const ratio = rough / power;
  const step = (ratio >= 5 ? 10 : ratio >= 2 ? 5 : ratio >= 1 ? 2 : 1) * power;
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  const ticks = Array.from({ length: last - first + 1 }, (_, index) => Number(((first + index) * step).toPrecision(12)));
  return { domain: [ticks[0]!, ticks[ticks.length - 1]!], ticks };
}

/** The y range covering every mean ± std and every seed of the series given. */
export function metricDomain(series: readonly ChartSeries[]): [number, number] {
  const values = series.flatMap((entry) => [
    ...entry.points.flatMap((point) => [point.mean - point.std, point.mean + point.std]),
    ...entry.seeds.map((seed) => seed.value),
  ]);
  if (values.length === 0) return [0, 1];
  return niceTicks(Math.min(...values), Math.max(...values)).domain;
}

/** A log-scaled x position for label fractions, padded so the end points are not on the frame. */
function fractionScale(fractions: readonly number[], left: number, right: number): (fraction: number) => number {
  let low = Math.log10(Math.min(...fractions));
  let high = Math.log10(Math.max(...fractions));
  if (high - low < 1e-9) {
    low -= 0.5;
    high += 0.5;
  }
  const pad = (high - low) * 0.07;
  low -= pad;
  high += pad;
  return (fraction) => left + ((Math.log10(fraction) - low) / (high - low)) * (right - left);
}

/**
 * The primary metric against the label fraction (log axis): per series a mean line, a ± std band, and a
 * dot per seed.
 */
export function fractionChart(options: FractionChartOptions): SafeHtml {
  const width = options.width ?? 400;
  const height = options.height ?? 270;
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = height - MARGIN.bottom;
  const fractions = options.fractions.length > 0 ? options.fractions : [1];
  const x = fractionScale(fractions, plotLeft, plotRight);
  const { ticks, domain } = niceTicks(options.yDomain[0], options.yDomain[1]);
  const y = (value: number) => plotBottom - ((value - domain[0]) / (domain[1] - domain[0])) * (plotBottom - plotTop);
  const count = options.series.length;
  // Seeds of different series at one fraction are spread sideways a little so they do not hide each other.
  const offset = (index: number) => (index - (count - 1) / 2) * Math.min(4, 16 / Math.max(count, 1));

  const grid = ticks.map(
    (tick) =>
      html`<line class="grid" x1="${plotLeft}" x2="${plotRight}" y1="${round(y(tick))}" y2="${round(y(tick))}"/><text class="tick" x="${plotLeft - 6}" y="${round(y(tick)) + 3.5}" text-anchor="end">${formatTick(tick, ticks)}</text>`,
  );
  const xTicks = fractions.map(
    (fraction) =>
      html`<line class="grid vertical" x1="${round(x(fraction))}" x2="${round(x(fraction))}" y1="${plotTop}" y2="${plotBottom}"/><text class="tick" x="${round(x(fraction))}" y="${plotBottom + 15}" text-anchor="middle">${formatFraction(fraction)}</text>`,
  );
  const layers = options.series.map((series, index) => {
    const points = series.points.map((point) => ({ ...point, x: x(point.fraction) + offset(index) }));
    const band =
      points.length > 0
        ? html`<path class="std-band" data-series="${series.key}" fill="${series.color}" d="${bandPath(points.map((point) => [point.x, y(point.mean + point.std), y(point.mean - point.std)] as const))}"><title>${series.label}: mean ± std over seeds</title></path>`
        : rawHtml('');
    const line =
      points.length > 0
        ? html`<path class="mean-line${series.emphasis ? ' emphasis' : ''}" data-series="${series.key}" stroke="${series.color}" stroke-dasharray="${series.dash ?? ''}" d="${linePath(points.map((point) => [point.x, y(point.mean)] as const))}"><title>${series.label}</title></path>`
        : rawHtml('');
    const means = points.map(
      (point) =>
        html`<circle class="mean-point" data-series="${series.key}" cx="${round(point.x)}" cy="${round(y(point.mean))}" r="${series.emphasis ? 3.6 : 3}" fill="${series.color}"><title>${series.label} · ${formatFraction(point.fraction)}: ${formatMetric(point.mean)} ± ${formatMetric(point.std)} (${point.count} seed${point.count === 1 ? '' : 's'})</title></circle>`,
    );
    const seeds = series.seeds.map(
      (seed) =>
        html`<circle class="seed-point" data-series="${series.key}" cx="${round(x(seed.fraction) + offset(index))}" cy="${round(y(seed.value))}" r="2.2" stroke="${series.color}"><title>${series.label} · ${formatFraction(seed.fraction)} · seed ${seed.seed}: ${formatMetric(seed.value)}</title></circle>`,
    );
    return { band, line, marks: [seeds, means] };
  });
  return html`<svg class="plot fraction-chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${options.title}">
<rect class="frame" x="${plotLeft}" y="${plotTop}" width="${plotRight - plotLeft}" height="${plotBottom - plotTop}"/>
${grid}${xTicks}
${layers.map((layer) => layer.band)}
${layers.map((layer) => layer.line)}
${layers.map((layer) => layer.marks)}
<text class="axis-label" x="${(plotLeft + plotRight) / 2}" y="${height - 8}" text-anchor="middle">label fraction (log scale)</text>
<text class="axis-label" transform="translate(13 ${(plotTop + plotBottom) / 2}) rotate(-90)" text-anchor="middle">${metricName(options.metric)}</text>
</svg>`;
}

function formatTick(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  const decimals = Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function linePath(points: readonly (readonly [number, number])[]): string {
  return points.map(([px, py], index) => `${index === 0 ? 'M' : 'L'}${round(px)} ${round(py)}`).join(' ');
}

function bandPath(points: readonly (readonly [number, number, number])[]): string {
  const upper = points.map(([px, top]) => [px, top] as const);
  const lower = [...points].reverse().map(([px, , bottom]) => [px, bottom] as const);
  return `${linePath([...upper, ...lower])} Z`;
}

/** A legend swatch: a short line in the series' colour and dash, with a dot. */
export function legendSwatch(color: string, dash = ''): SafeHtml {
  return html`<svg class="swatch" viewBox="0 0 28 10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" stroke="${color}" stroke-width="2.4" stroke-dasharray="${dash}"/><circle cx="14" cy="5" r="3" fill="${color}"/></svg>`;
}

/** Sequential colour for a weight in [0, 1]: near-white to deep blue. */
export function heatColor(value: number): string {
  const stops = [
    [247, 251, 255],
    [198, 219, 239],
    [107, 174, 214],
    [33, 113, 181],
    [8, 48, 107],
  ];
  const clamped = Math.min(1, Math.max(0, value)) * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(clamped));
  const t = clamped - index;
  const [from, to] = [stops[index]!, stops[index + 1]!];
  const channel = (k: number) => Math.round(from[k]! + (to[k]! - from[k]!) * t);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

export interface HeatmapOptions {
  readonly title: string;
  /** `[row][column]`. */
  readonly matrix: readonly (readonly number[])[];
  readonly labels: readonly string[];
  /** A colour per label, shown as a swatch beside it. */
  readonly colors: readonly string[];
  /** Small multiples omit the text labels and keep only the colour swatches. */
  readonly compact?: boolean;
}

/** A K×K matrix of weights: query sources down, key sources across, the value printed in every cell. */
export function heatmap(options: HeatmapOptions): SafeHtml {
  const { matrix, labels, colors } = options;
  const size = labels.length;
  const compact = options.compact ?? false;
  const cell = compact ? 30 : Math.max(44, Math.min(64, 260 / Math.max(size, 1)));
  const swatch = compact ? 6 : 9;
  const labelWidth = compact ? swatch + 4 : Math.min(180, Math.max(...labels.map((label) => label.length), 4) * 6.4 + swatch + 10);
  const top = compact ? swatch + 4 : labelWidth * 0.72 + 6;
  const left = labelWidth;
  const width = left + size * cell + 2;
  const height = top + size * cell + (compact ? 2 : 20);
  const rows = matrix.map((row, query) =>
    row.map((value, key) => {
      const cx = left + key * cell;
      const cy = top + query * cell;
      return html`<g class="heat-cell-group"><rect class="heat-cell" data-value="${value}" x="${cx}" y="${cy}" width="${cell}" height="${cell}" fill="${heatColor(value)}"><title>${labels[query]} → ${labels[key]}: ${value.toFixed(3)}</title></rect><text class="cell-value${value > 0.55 ? ' dark' : ''}" x="${cx + cell / 2}" y="${cy + cell / 2 + (compact ? 3 : 4)}" text-anchor="middle">${value.toFixed(2)}</text></g>`;
    }),
  );
  const rowLabels = labels.map((label, index) => {
    const cy = top + index * cell + cell / 2;
    return html`<rect class="source-swatch" x="${left - swatch - 3}" y="${cy - swatch / 2}" width="${swatch}" height="${swatch}" fill="${colors[index] ?? '#888'}"/>${compact ? '' : html`<text class="heat-label" x="${left - swatch - 7}" y="${cy + 4}" text-anchor="end">${label}</text>`}`;
  });
  const columnLabels = labels.map((label, index) => {
    const cx = left + index * cell + cell / 2;
    return html`<rect class="source-swatch" x="${cx - swatch / 2}" y="${top - swatch - 3}" width="${swatch}" height="${swatch}" fill="${colors[index] ?? '#888'}"/>${compact ? '' : html`<text class="heat-label" transform="translate(${cx + 3} ${top - swatch - 7}) rotate(-40)" text-anchor="start">${label}</text>`}`;
  });
  const caption = compact ? '' : html`<text class="axis-label" x="${left + (size * cell) / 2}" y="${height - 4}" text-anchor="middle">attends to →</text>`;
  return html`<svg class="plot heatmap${compact ? ' compact' : ''}" viewBox="0 0 ${round(width + (compact ? 0 : 40))} ${round(height)}" width="${round(width + (compact ? 0 : 40))}" role="img" aria-label="${options.title}">${rowLabels}${columnLabels}${rows}${caption}</svg>`;
}

export interface StackedBarRow {
  readonly label: string;
  /** Shares that sum to about 1, one per segment. */
  readonly values: readonly number[];
}

/** One horizontal bar per row, split into segments by share (DME source weights per label fraction). */
export function stackedBars(options: { title: string; rows: readonly StackedBarRow[]; segmentLabels: readonly string[]; colors: readonly string[] }): SafeHtml {
  const barWidth = 420;
  const rowHeight = 26;
  const left = 62;
  const width = left + barWidth + 8;
  const height = options.rows.length * rowHeight + 22;
  const rows = options.rows.map((row, index) => {
    const total = row.values.reduce((sum, value) => sum + value, 0) || 1;
    let start = 0;
    const y = index * rowHeight + 4;
    const segments = row.values.map((value, segment) => {
      const segmentWidth = (value / total) * barWidth;
      const x = left + start;
      start += segmentWidth;
      const text =
        segmentWidth >= 34
          ? html`<text class="bar-value" x="${round(x + segmentWidth / 2)}" y="${y + rowHeight / 2 + 2}" text-anchor="middle">${value.toFixed(2)}</text>`
          : '';
      return html`<rect class="bar-segment" data-source="${options.segmentLabels[segment]}" x="${round(x)}" y="${y}" width="${round(segmentWidth)}" height="${rowHeight - 6}" fill="${options.colors[segment] ?? '#888'}"><title>${options.segmentLabels[segment]} at ${row.label}: ${value.toFixed(3)}</title></rect>${text}`;
    });
    return html`<text class="tick" x="${left - 8}" y="${y + rowHeight / 2 + 1}" text-anchor="end">${row.label}</text>${segments}`;
  });
  const axis = [0, 0.25, 0.5, 0.75, 1].map(
    (share) => html`<text class="tick" x="${left + share * barWidth}" y="${height - 4}" text-anchor="middle">${share.toFixed(2)}</text>`,
  );
  return html`<svg class="plot stacked-bars" viewBox="0 0 ${width} ${height}" role="img" aria-label="${options.title}">${rows}${axis}</svg>`;
}
