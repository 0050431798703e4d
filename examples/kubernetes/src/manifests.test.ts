// The manifests stay runnable: the shard count agrees with the Job's completions, and every option the pods
// pass exists in the CLI they run (the commands' own usage text), so a renamed flag fails here, not in a cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../../packages/cli/src/index.js';

// The commands as the CLI registers them (its public entry), to check the manifests use real options.
const commandNamed = (name: string) => commands.find((command) => command.name === name)!;
const embedCommand = commandNamed('embed');
const featuresCommand = commandNamed('features');

const folder = join(import.meta.dirname, '..');

/** The shell command of each container: the folded `args` block under `command: ["sh", "-c"]`. */
function commandsOf(yaml: string): string[] {
  return Array.from(yaml.matchAll(/args:\n\s+- >-\n((?:\s{14}.*\n)+)/g), (match) =>
    match[1]!
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' '),
  );
}

const optionsOf = (command: string) => Array.from(command.matchAll(/\s(--[a-z-]+)/g), (match) => match[1]!);

describe('examples/kubernetes', () => {
  it('shards the split into as many parts as the Indexed Job has completions', () => {
    const yaml = readFileSync(join(folder, 'embed-indexed-job.yaml'), 'utf8');
    expect(yaml).toMatch(/completionMode: Indexed/);
    const completions = Number(/completions: (\d+)/.exec(yaml)?.[1]);
    expect(Number(/parallelism: (\d+)/.exec(yaml)?.[1])).toBe(completions);
    const [embed] = commandsOf(yaml);
    expect(embed).toMatch(/^exec medssl embed /);
    expect(embed).toContain(`--shard "$JOB_COMPLETION_INDEX/${completions}"`);
    expect(embed).toContain('--resume');
    for (const option of optionsOf(embed!)) expect(embedCommand.usage, option).toContain(option);
  });

  it('merges the shard folders the job writes', () => {
    const job = commandsOf(readFileSync(join(folder, 'embed-indexed-job.yaml'), 'utf8'))[0]!;
    const [merge] = commandsOf(readFileSync(join(folder, 'merge-job.yaml'), 'utf8'));
    expect(merge).toMatch(/^exec medssl features merge /);
    const shardOut = /--out "([^"]+)-\$JOB_COMPLETION_INDEX"/.exec(job)?.[1];
    expect(shardOut).toBeDefined();
    expect(merge).toContain(`${shardOut}-*`);
    const store = /--store (\S+)/.exec(job)?.[1];
    expect(merge).toContain(`--store ${store}`);
    for (const option of optionsOf(merge!)) expect(featuresCommand.usage, option).toContain(option);
  });
});
