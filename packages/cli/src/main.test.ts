import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, type Command } from './command.js';
import { main } from './main.js';
import { captureIo } from '@medssl/experiment/testing';

const echo: Command = {
  name: 'echo',
  summary: 'prints its arguments',
  usage: 'Usage: medssl echo WORDS...\n',
  async run(argv, io) {
    if (argv.length === 0) throw new UsageError('expected at least one word');
    if (argv[0] === 'fail') throw new Error('the file x.npy is truncated');
    io.stdout(`${argv.join(' ')}\n`);
    return 0;
  },
};

describe('medssl main', () => {
  it('prints help naming the commands, and exits 0 on --help, 2 with no arguments', async () => {
    const help = captureIo();
    expect(await main(['--help'], help.io, [echo])).toBe(0);
    expect(help.out.join('')).toMatch(/Usage\n {2}medssl <command> \[options\]/);
    expect(help.out.join('')).toMatch(/echo {6}prints its arguments/);
    const bare = captureIo();
    expect(await main([], bare.io, [echo])).toBe(2);
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = captureIo();
    expect(await main(['--version'], result.io)).toBe(0);
    expect(result.out.join('')).toBe(`${version}\n`);
  });

  it('runs a command, shows its usage, and maps errors to exit codes', async () => {
    const ok = captureIo();
    expect(await main(['echo', 'a', 'b'], ok.io, [echo])).toBe(0);
    expect(ok.out.join('')).toBe('a b\n');
    const usage = captureIo();
    expect(await main(['echo', '--help'], usage.io, [echo])).toBe(0);
    expect(usage.out.join('')).toBe(echo.usage);
    const misuse = captureIo();
    expect(await main(['echo'], misuse.io, [echo])).toBe(2);
    expect(misuse.err.join('')).toMatch(/medssl echo: expected at least one word\nRun "medssl echo --help"/);
    const failure = captureIo();
    expect(await main(['echo', 'fail'], failure.io, [echo])).toBe(1);
    expect(failure.err.join('')).toBe('medssl echo: the file x.npy is truncated\n');
  });

  it('names an unknown command', async () => {
    const result = captureIo();
    expect(await main(['embedd'], result.io, [echo])).toBe(2);
    expect(result.err.join('')).toMatch(/unknown command "embedd" \(commands: echo\)/);
  });

  it('runs from TypeScript source through `pnpm medssl --help` with no build step', () => {
    const root = join(import.meta.dirname, '../../..');
    const result = spawnSync('pnpm', ['--silent', 'medssl', '--help'], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^medssl \d+\.\d+\.\d+/);
    // The source entry is what ran: the condition resolves @medssl/cli to src/, not dist/.
    const resolved = execFileSync('node', ['--conditions=@medssl/source', '--input-type=module', '-e', 'console.log(import.meta.resolve("@medssl/core"))'], {
      cwd: join(root, 'packages/cli'),
      encoding: 'utf8',
    });
    expect(resolved.trim()).toMatch(/packages\/core\/src\/index\.ts$/);
  });
});
