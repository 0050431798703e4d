import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cutText, parseJson } from '@medssl/core';
import { ExperimentConfigError, type ExperimentConfig } from './config.js';

/**
 * Reads an experiment config: JSON, or a module (`.js`, `.mjs`, `.ts`, `.mts`) whose default export (or
 * `config` export) is the config. TypeScript configs need a TypeScript-aware Node: `pnpm medssl` runs
 * with tsx; plain Node 22.6+ strips types itself.
 */
export async function loadExperimentConfig(path: string): Promise<ExperimentConfig> {
  const absolute = resolve(path);
  const extension = extname(absolute).toLowerCase();
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ExperimentConfigError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'read error'})`}`, { cause: error });
    }
    return parseJson(text, (where, message) => new ExperimentConfigError(`${path}: ${where}: not valid JSON: ${message}`)) as ExperimentConfig;
  }
  if (!['.js', '.mjs', '.ts', '.mts'].includes(extension)) {
    throw new ExperimentConfigError(`${path}: expected a .json, .js, .mjs, .ts or .mts config file`);
  }
  let module: { default?: unknown; config?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as typeof module;
  } catch (error) {
    const hint = extension.endsWith('ts') ? ' (TypeScript configs need tsx or Node >= 22.6; `pnpm medssl run` has it)' : '';
    throw new ExperimentConfigError(`${path}: could not be loaded${hint}: ${cutText((error as Error).message.split('\n')[0] ?? '', 200)}`, { cause: error });
  }
  const config = module.default ?? module.config;
  if (config === undefined) throw new ExperimentConfigError(`${path}: exports no config (export default defineExperiment({ ... }))`);
  return (typeof config === 'function' ? await (config as () => unknown)() : config) as ExperimentConfig;
}
