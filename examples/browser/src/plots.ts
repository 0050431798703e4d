// Two small SVG plots as markup strings (no DOM, no plotting library): the test ROC curve of a binary
// task, and the primary test metric against the number of labelled training images.
import type { LabelFractionPoint, RocPoint } from './evaluate.js';

const WIDTH = 360;
const HEIGHT = 310;
// The top margin leaves room for the title and for value labels above points at 1.0.
const MARGIN = { left: 52, right: 16, top: 44, bottom: 46 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Readable names of the metrics `@medssl/metrics` computes. */
export const METRIC_NAMES: Readonly<Record<string, string>> = {
  auc: 'ROC AUC',
  mean_auc: 'Mean AUC',
  kappa: 'Quadratic kappa',
  linear_kappa: 'Linear kappa',
  accuracy: 'Accuracy',
  balanced_accuracy: 'Balanced accuracy',
  macro_f1: 'Macro F1',
};

export function metricName(id: string): string {
  return METRIC_NAMES[id] ?? id;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function format(value: number, digits = 3): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

function svg(title: string, description: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(description)}" class="plot">`,
    `<title>${escapeXml(description)}</title>`,
    `<text x="${WIDTH / 2}" y="17" text-anchor="middle" class="plot-title">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Axis lines, grid, ticks and labels for x in [xMin, xMax] and y in [yMin, yMax]. */
function axes(options: {
  xTicks: readonly { value: number; label: string }[];
  yTicks: readonly number[];
  x: (value: number) => number;
  y: (value: number) => number;
  xLabel: string;
  yLabel: string;
}): string[] {
  const { x, y } = options;
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const lines: string[] = [];
  for (const value of options.yTicks) {
    lines.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_WIDTH}" y1="${y(value)}" y2="${y(value)}" class="grid"/>`);
    lines.push(`<text x="${MARGIN.left - 6}" y="${y(value) + 4}" text-anchor="end" class="tick">${format(value, 1)}</text>`);
  }
  for (const tick of options.xTicks) {
    lines.push(`<line x1="${x(tick.value)}" x2="${x(tick.value)}" y1="${MARGIN.top}" y2="${bottom}" class="grid"/>`);
    lines.push(`<text x="${x(tick.value)}" y="${bottom + 16}" text-anchor="middle" class="tick">${escapeXml(tick.label)}</text>`);
  }
  lines.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" class="frame"/>`);
  lines.push(`<text x="${MARGIN.left + PLOT_WIDTH / 2}" y="${HEIGHT - 6}" text-anchor="middle" class="axis-label">${escapeXml(options.xLabel)}</text>`);
  lines.push(
    `<text transform="translate(14 ${MARGIN.top + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(options.yLabel)}</text>`,
  );
  return lines;
}

const unitTicks = [0, 0.2, 0.4, 0.6, 0.8, 1];
const unitX = (value: number) => round(MARGIN.left + value * PLOT_WIDTH);
const round = (value: number) => Math.round(value * 10) / 10;

/** The test ROC curve with the chance diagonal and the AUC. */
export function rocCurveSvg(points: readonly RocPoint[], auc: number, positiveClass: string): string {
  const y = (value: number) => round(MARGIN.top + (1 - value) * PLOT_HEIGHT);
  const path = points.map((point, index) => `${index === 0 ? 'M' : 'L'}${unitX(point.falsePositiveRate)} ${y(point.truePositiveRate)}`).join(' ');
  return svg(`Test ROC curve (AUC ${auc.toFixed(3)})`, `ROC curve on the test split, positive class ${positiveClass}, AUC ${auc.toFixed(3)}`, [
    ...axes({
      xTicks: unitTicks.map((value) => ({ value, label: format(value, 1) })),
      yTicks: unitTicks,
      x: unitX,
      y,
      xLabel: 'False positive rate',
      yLabel: 'True positive rate',
    }),
    `<line x1="${unitX(0)}" y1="${y(0)}" x2="${unitX(1)}" y2="${y(1)}" class="chance"/>`,
    `<path d="${path}" class="curve"/>`,
    `<text x="${unitX(1) - 6}" y="${y(0) - 8}" text-anchor="end" class="note">dashed: chance (0.5)</text>`,
  ]);
}

/**
 * The primary test metric when the probe learns from 10 %, 25 %, 50 % and 100 % of the training images
 * (nested, stratified subsets): how much the features give with few labels.
 */
export function labelFractionSvg(points: readonly LabelFractionPoint[], metricId: string): string {
  const values = points.map((point) => point.value);
  // AUC and accuracy live in [0, 1]; kappa can fall below 0, and then the axis leaves room under it.
  const lowest = Math.min(...values);
  const yMin = lowest >= 0 ? 0 : Math.floor((lowest - 0.05) * 5) / 5;
  const yTicks = Array.from({ length: Math.round((1 - yMin) / 0.2) + 1 }, (_, index) => Math.round((yMin + index * 0.2) * 10) / 10);
  const y = (value: number) => round(MARGIN.top + ((1 - value) / (1 - yMin)) * PLOT_HEIGHT);
  // Evenly spaced positions: the fractions are few and far apart in size.
  const x = (index: number) => round(MARGIN.left + ((index + 0.5) / points.length) * PLOT_WIDTH);
  const name = metricName(metricId);
  const path = points.map((point, index) => `${index === 0 ? 'M' : 'L'}${x(index)} ${y(point.value)}`).join(' ');
  const markers = points.flatMap((point, index) => [
    `<circle cx="${x(index)}" cy="${y(point.value)}" r="4" class="marker"><title>${Math.round(point.fraction * 100)} % of train (${point.trainCount} images): ${escapeXml(name)} ${point.value.toFixed(3)}</title></circle>`,
    `<text x="${x(index)}" y="${y(point.value) - 9}" text-anchor="middle" class="value">${point.value.toFixed(2)}</text>`,
  ]);
  return svg(`Test ${name} vs labelled training images`, `Test ${name} when the probe learns from part of the training split`, [
    ...axes({
      xTicks: points.map((point, index) => ({ value: index, label: `${point.trainCount} (${Math.round(point.fraction * 100)}%)` })),
      yTicks,
      x,
      y,
      xLabel: 'Training images used (share of train)',
      yLabel: `Test ${name}`,
    }),
    `<path d="${path}" class="curve"/>`,
    ...markers,
  ]);
}
