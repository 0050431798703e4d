import type { CommandIo } from '../command.js';

/** Command output captured for tests: what went to standard output and to standard error. */
export function captureIo(): { io: CommandIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text) => out.push(text), stderr: (text) => err.push(text) }, out, err };
}
