/**
 * Progress for long runs: on a terminal, one redrawn line with a bar, images/s and ETA; otherwise (logs, CI,
 * a Kubernetes pod) plain lines at intervals, so output stays readable in both.
 */
export interface Progress {
  /** `done` counts all rows finished, those reused from an interrupted run included. */
  update(done: number): void;
  finish(): void;
}

export interface ProgressOptions {
  /** A bar redrawn in place (default: whether standard error is a terminal). */
  readonly interactive?: boolean;
  /** Rows already done when the run started (a resumed run): they count towards the bar, not the rate. */
  readonly initial?: number;
  /** Seconds between plain lines; default 10. */
  readonly interval?: number;
  /** Width of the bar in characters; default 24. */
  readonly barWidth?: number;
  /** Clock in milliseconds; for tests. */
  readonly now?: () => number;
}

export function createProgress(label: string, total: number, write: (text: string) => void, options: ProgressOptions | boolean = {}): Progress {
  const settings: ProgressOptions = typeof options === 'boolean' ? { interactive: options } : options;
  const interactive = settings.interactive ?? Boolean(process.stderr.isTTY);
  const now = settings.now ?? (() => performance.now());
  const initial = settings.initial ?? 0;
  const interval = (settings.interval ?? 10) * 1000;
  const barWidth = settings.barWidth ?? 24;
  const started = now();
  // Plain lines start one interval in: a log needs no line for the first batch.
  let lastPrinted = interactive ? Number.NEGATIVE_INFINITY : started;
  let finished = false;

  const rateAt = (done: number, at: number) => (done - initial) / Math.max((at - started) / 1000, 1e-9);
  const describe = (done: number, at: number) => {
    const rate = rateAt(done, at);
    const remaining = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const fraction = total > 0 ? done / total : 1;
    const percent = `${Math.floor(100 * fraction)} %`;
    const counts = `${done}/${total}`;
    const speed = `${rate.toFixed(1)} img/s, ETA ${formatDuration(remaining)}`;
    if (!interactive) return `${label} ${counts} (${percent}) ${speed}`;
    const filled = Math.min(barWidth, Math.floor(fraction * barWidth));
    const bar = `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}`;
    return `${label} ${bar} ${percent.padStart(5)} ${counts} ${speed}`;
  };
  return {
    update(done) {
      if (finished) return;
      const at = now();
      if (interactive) {
        if (at - lastPrinted < 100 && done !== total) return;
        write(`\r${describe(done, at)}\x1b[K`);
      } else {
        if (at - lastPrinted < interval && done !== total) return;
        write(`${describe(done, at)}\n`);
      }
      lastPrinted = at;
    },
    finish() {
      if (finished) return;
      finished = true;
      const seconds = (now() - started) / 1000;
      const computed = total - initial;
      const resumed = initial > 0 ? ` (${initial} resumed)` : '';
      write(
        `${interactive ? '\r' : ''}${label} ${total}/${total}${resumed} in ${formatDuration(seconds)} (${(computed / Math.max(seconds, 1e-9)).toFixed(1)} img/s)${interactive ? '\x1b[K' : ''}\n`,
      );
    },
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : minutes > 0 ? `${minutes}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}
