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
