/** `0.01` → `1 %`, `0.125` → `12.5 %` (a no-break space, so a list of them wraps between entries only). */
export function formatFraction(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(6))}\u00a0%`;
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05 UTC`; other text is shown as it is. */
export function formatTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** Metric values: three decimals, enough to tell backbones apart at the scale of seed noise. */
export function formatMetric(value: number): string {
  return value.toFixed(3);
}

export function formatMeanStd(mean: number, std: number): string {
  return `${formatMetric(mean)} ± ${formatMetric(std)}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toPrecision(3))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Protocol ids as a reader knows them. */
export function protocolName(protocol: string): string {
  return PROTOCOL_NAMES[protocol] ?? protocol;
}

const PROTOCOL_NAMES: Readonly<Record<string, string>> = {
  linear: 'linear probe',
  knn: 'kNN',
  finetune: 'finetune',
  dvme: 'DVME',
  dme: 'DME',
  concat: 'concat',
};

/** Metric ids as a reader knows them. */
export function metricName(metric: string): string {
  return METRIC_NAMES[metric] ?? metric.replace(/_/g, ' ');
}

const METRIC_NAMES: Readonly<Record<string, string>> = {
  auc: 'AUC',
  mean_auc: 'mean AUC',
  kappa: 'quadratic κ',
  linear_kappa: 'linear κ',
  accuracy: 'accuracy',
  balanced_accuracy: 'balanced accuracy',
  macro_f1: 'macro F1',
};

/** The first 12 hex digits of a SHA-256, as git shortens commits. */
export function shortHash(hash: string): string {
  return hash.length > 12 ? hash.slice(0, 12) : hash;
}
