import { quoteForMessage } from '@medssl/core';
import { ExperimentRequestError } from '@medssl/experiment';
import type { Command, CommandIo } from './command.js';
import { UsageError } from './command.js';
import { commands as registeredCommands } from './commands.js';
import { version } from './version.js';

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function helpText(commands: readonly Command[] = registeredCommands): string {
  const width = Math.max(8, ...commands.map((command) => command.name.length));
  const list =
    commands.length === 0
      ? '  (none yet: dataset, embedding and evaluation commands arrive with their packages)\n'
      : commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}\n`).join('');
  return `medssl ${version}: which pretrained features transfer to your medical imaging task, and how many labels you need

Usage
  medssl <command> [options]
  medssl <command> --help

Commands
${list}
Options
  -h, --help     show this help
  -v, --version  print the version
  --debug        after an error's one line, print its stack and causes (also MEDSSL_DEBUG=1); anywhere
                 in the command line

Documentation: the README of each @medssl package; the paper this follows is
Truong, Mohammadi and Lenga, "How Transferable Are Self-supervised Features in Medical Image
Classification Tasks?", ML4H 2021 (arXiv 2108.10048).
`;
}

/** The global flag that adds an error's stack to its one line; `MEDSSL_DEBUG=1` does the same. */
export const DEBUG_FLAG = '--debug';

/**
 * Runs the CLI and returns the exit code: 0 success, 1 failure, 2 usage error. An error is one line naming
 * the command and what is wrong; with `--debug` (anywhere before a bare `--`) or `MEDSSL_DEBUG=1` its stack
 * and the chain of its causes follow.
 */
export async function main(commandLine: readonly string[], io: CommandIo = processIo, commands: readonly Command[] = registeredCommands): Promise<number> {
  const { argv, debug } = withoutDebugFlag(commandLine);
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? commands.find((command) => command.name === rest[0]) : undefined;
    io.stdout(topic ? topic.usage : helpText(commands));
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    io.stdout(`${version}\n`);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === first);
  if (!command) {
    const known = commands.map((candidate) => candidate.name).join(', ') || 'none yet';
    io.stderr(`medssl: unknown command "${first}" (commands: ${known}). Run "medssl --help".\n`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    io.stdout(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ExperimentRequestError) {
      io.stderr(`medssl ${command.name}: ${error.message}\nRun "medssl ${command.name} --help" for usage.\n`);
      return 2;
    }
    io.stderr(`medssl ${command.name}: ${error instanceof Error ? error.message : `failed with ${quoteForMessage(error)}`}\n`);
    if (debug) io.stderr(debugReport(error));
    return 1;
  }
}

function withoutDebugFlag(commandLine: readonly string[]): { argv: string[]; debug: boolean } {
  const end = commandLine.indexOf('--');
  const options = end < 0 ? commandLine : commandLine.slice(0, end);
  const argv = [...options.filter((argument) => argument !== DEBUG_FLAG), ...(end < 0 ? [] : commandLine.slice(end))];
  const debug = argv.length < commandLine.length || process.env.MEDSSL_DEBUG === '1';
  return { argv, debug };
}

/** The stack of an error and of each cause below it, for `--debug`. */
export function debugReport(error: unknown): string {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  for (let current = error, depth = 0; current !== undefined && !seen.has(current) && depth < 16; depth++) {
    seen.add(current);
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : `thrown: ${quoteForMessage(current)}`;
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return `${lines.join('\n')}\n`;
}
