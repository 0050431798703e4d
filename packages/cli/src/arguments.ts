import { UsageError } from './command.js';

/** A comma-separated list of numbers, e.g. `--fractions 0.01,0.1,1`; errors name the option and the item. */
export function numberList(text: string | undefined, option: string, fallback: readonly number[]): number[] {
  if (text === undefined) return [...fallback];
  const items = text.split(',').map((item) => item.trim());
  return items.map((item) => {
    const value = Number(item);
    if (item === '' || !Number.isFinite(value)) throw new UsageError(`--${option}: "${item}" is not a number (in "${text}")`);
    return value;
  });
}

/**
 * An optional whole-number option, at least `minimum` (default 1): undefined when absent; an error naming the
 * option and what was given otherwise.
 */
export function integerOption(text: string | number | undefined, option: string, minimum = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (typeof text === 'string' && text.trim() === '') throw new UsageError(`--${option} needs a value`);
  if (!Number.isSafeInteger(value) || value < minimum) {
    const wanted = minimum === 1 ? 'a positive integer' : minimum === 0 ? 'a non-negative integer' : `an integer of at least ${minimum}`;
    throw new UsageError(`--${option} must be ${wanted}, got "${text}"`);
  }
  return value;
}

/** An optional number option of 0 or more (a learning rate, a temperature): undefined when absent. */
export function nonNegativeOption(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`--${option} must be a non-negative number, got "${text}"`);
  return value;
}

export function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${option} is required`);
  return value;
}

/** A comma-separated list of folders, e.g. `--train a,b,c` for one feature set per backbone. */
export function pathList(text: string, option: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new UsageError(`--${option}: empty entry in "${text}"`);
  return items;
}

/**
 * `KEY=VALUE` pairs of a repeatable option (`--dataset-option seed=3 --dataset-option onError=skip`) as the
 * options object a provider reads; the provider checks names and converts values. Errors name the pair.
 */
export function keyValueOptions(pairs: readonly string[] | undefined, option: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const split = pair.indexOf('=');
    if (split < 1) throw new UsageError(`--${option} ${JSON.stringify(pair)}: expected KEY=VALUE`);
    const key = pair.slice(0, split).trim();
    if (Object.hasOwn(options, key)) throw new UsageError(`--${option} ${key} is given twice`);
    options[key] = pair.slice(split + 1);
  }
  return options;
}

/** `--dataset-option KEY=VALUE ...` as a dataset provider's options. */
export function datasetOptions(pairs: readonly string[] | undefined): Record<string, string> {
  return keyValueOptions(pairs, 'dataset-option');
}
