import type { FractionSummary } from '@medssl/core';

/** A Markdown table: one row per label fraction, the primary metric first, each as mean ± std over seeds. */
export function markdownSummary(primaryMetric: string, summary: readonly FractionSummary[], title: string): string {
  const names = [...new Set(summary.flatMap((row) => Object.keys(row.metrics)))].sort((a, b) =>
    a === primaryMetric ? -1 : b === primaryMetric ? 1 : a.localeCompare(b),
  );
  const header = `| fraction | ${names.join(' | ')} |\n|---|${names.map(() => '---|').join('')}\n`;
  const body = summary
    .map((row) => {
      const cells = names.map((name) => {
        const metric = row.metrics[name];
        return metric ? `${metric.mean.toFixed(4)} ± ${metric.std.toFixed(4)}` : '–';
      });
      return `| ${formatFraction(row.fraction)} | ${cells.join(' | ')} |\n`;
    })
    .join('');
  return `### ${title}\n\n${header}${body}`;
}

function formatFraction(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(6))} %`;
}
