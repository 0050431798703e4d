import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration } from './progress.js';

function clock() {
  let milliseconds = 0;
  return { now: () => milliseconds, advance: (seconds: number) => (milliseconds += seconds * 1000) };
}

describe('progress', () => {
  it('draws a bar with images/s and ETA in place on a terminal', () => {
    const time = clock();
    const lines: string[] = [];
    const progress = createProgress('pcam/train × dino:vits16', 200, (text) => lines.push(text), { interactive: true, now: time.now, barWidth: 10 });
    time.advance(2);
    progress.update(50);
    time.advance(0.05);
    progress.update(51); // redrawn at most every 100 ms
    time.advance(2);
    progress.update(100);
    expect(lines).toEqual([
      '\rpcam/train × dino:vits16 ██░░░░░░░░  25 % 50/200 25.0 img/s, ETA 6s\x1b[K',
      '\rpcam/train × dino:vits16 █████░░░░░  50 % 100/200 24.7 img/s, ETA 4s\x1b[K',
    ]);
    progress.finish();
    expect(lines.at(-1)).toBe('\rpcam/train × dino:vits16 200/200 in 4s (49.4 img/s)\x1b[K\n');
  });

  it('writes plain lines at intervals when not a terminal, counting resumed rows towards the bar only', () => {
    const time = clock();
    const lines: string[] = [];
    const progress = createProgress('aptos/train', 1000, (text) => lines.push(text), { interactive: false, initial: 400, interval: 10, now: time.now });
    time.advance(5);
    progress.update(500);
    time.advance(5);
    progress.update(600);
    time.advance(4);
    progress.update(650);
    time.advance(6);
    progress.update(800);
    expect(lines).toEqual(['aptos/train 600/1000 (60 %) 20.0 img/s, ETA 20s\n', 'aptos/train 800/1000 (80 %) 20.0 img/s, ETA 10s\n']);
    progress.finish();
    expect(lines.at(-1)).toBe('aptos/train 1000/1000 (400 resumed) in 20s (30.0 img/s)\n');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });
});
