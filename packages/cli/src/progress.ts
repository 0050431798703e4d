/**
 * Progress for long runs: a redrawn line with images/s and ETA on a terminal, plain periodic lines
 * otherwise (logs, CI), so output stays readable in both.
 */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

export function createProgress(label: string, total: number, write: (text: string) => void, interactive = Boolean(process.stderr.isTTY)): Progress {
  const started = performance.now();
  let lastPrinted = 0;
  const line = (done: number) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const remaining = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
    return `${label} ${done}/${total} (${percent} %) ${rate.toFixed(1)} img/s, ETA ${formatDuration(remaining)}`;
  };
  return {
    update(done) {
      const now = performance.now();
      if (interactive) {
        if (now - lastPrinted > 100 || done === total) write(`\r${line(done)}\x1b[K`);
      } else if (now - lastPrinted > 10_000 || done === total) {
        write(`${line(done)}\n`);
      } else return;
      lastPrinted = now;
    },
    finish() {
      const seconds = (performance.now() - started) / 1000;
      write(`${interactive ? '\r' : ''}${label} ${total}/${total} in ${formatDuration(seconds)} (${(total / Math.max(seconds, 1e-9)).toFixed(1)} img/s)${interactive ? '\x1b[K' : ''}\n`);
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
