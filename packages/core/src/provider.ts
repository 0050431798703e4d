import { SPECIFICATION_VERSION, type Dataset, type DatasetInfo, type DatasetProvider, type ProviderOptions } from '@medssl/spec';

/**
 * How an option's value is read. Values from configs keep their JSON types; values from the command line
 * arrive as text (`--dataset-option seed=3`) and are converted: `strings` and `numbers` split on commas,
 * `json` parses (objects such as split fractions), a list of words is a closed set of choices.
 */
export type OptionKind = 'string' | 'integer' | 'number' | 'boolean' | 'strings' | 'numbers' | 'json' | readonly string[];

/** What `defineDatasetProvider` needs. */
export interface DatasetProviderDefinition {
  readonly datasets: readonly DatasetInfo[];
  /** Whether an id is one of this provider's; default: one of `datasets`' ids. */
  readonly answers?: (id: string) => boolean;
  /** The options `open` takes beside the root, by name. */
  readonly options?: Readonly<Record<string, OptionKind>>;
  /** Opens an id this provider answers, with the options read and checked. */
  readonly open: (id: string, root: string, options: Readonly<Record<string, unknown>>) => Promise<Dataset>;
}

/**
 * A dataset package's provider: `answers` ids, and `open` checks every option against its declared kind
 * before the package's factory runs, so a misspelt or mistyped option is an error that names it and
 * lists the known ones, never silently ignored.
 */
export function defineDatasetProvider(definition: DatasetProviderDefinition): DatasetProvider {
  const known = definition.options ?? {};
  const answers = definition.answers ?? ((id: string) => definition.datasets.some((info) => info.id === id));
  return {
    specificationVersion: SPECIFICATION_VERSION,
    kind: 'dataset',
    datasets: definition.datasets,
    answers,
    open(id, root, options = {}) {
      if (!answers(id)) {
        return Promise.reject(new RangeError(`this provider opens ${definition.datasets.map((info) => info.id).join(', ')}, not ${JSON.stringify(id)}`));
      }
      let read: Record<string, unknown>;
      try {
        read = readOptions(options, known, id);
      } catch (error) {
        return Promise.reject(error);
      }
      return definition.open(id, root, read);
    },
  };
}

/** An option a provider does not take, or a value of the wrong kind: a mistake in the request, named. */
export class ProviderOptionError extends TypeError {
  override readonly name = 'ProviderOptionError';
}

/** Options checked against their kinds and converted from text where they came as text. */
export function readOptions(options: ProviderOptions, known: Readonly<Record<string, OptionKind>>, owner: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const names = Object.keys(known);
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const kind = Object.hasOwn(known, name) ? known[name] : undefined;
    if (kind === undefined) {
      throw new ProviderOptionError(`${owner}: unknown option ${JSON.stringify(name)}; ${names.length > 0 ? `it takes ${names.join(', ')}` : 'it takes none'}`);
    }
    result[name] = readOption(value, kind, `${owner}: option ${name}`);
  }
  return result;
}

function readOption(value: unknown, kind: OptionKind, where: string): unknown {
  const text = typeof value === 'string' ? value.trim() : undefined;
  const fail = (expected: string): never => {
    throw new ProviderOptionError(`${where} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  if (Array.isArray(kind)) {
    if (typeof value !== 'string' || !kind.includes(value)) fail(`one of ${kind.join(', ')}`);
    return value;
  }
  switch (kind) {
    case 'string':
      return typeof value === 'string' && value.length > 0 ? value : fail('a non-empty string');
    case 'integer':
    case 'number': {
      const number = text !== undefined && text !== '' ? Number(text) : value;
      if (typeof number !== 'number' || !Number.isFinite(number) || (kind === 'integer' && !Number.isSafeInteger(number)))
        fail(kind === 'integer' ? 'an integer' : 'a number');
      return number;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (text === 'true') return true;
      if (text === 'false') return false;
      return fail('true or false');
    case 'strings': {
      const list = text !== undefined ? text.split(',').map((item) => item.trim()) : value;
      if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && item.length > 0))
        fail('a list of names (comma-separated on the command line)');
      return list;
    }
    case 'numbers': {
      const list = text !== undefined ? text.split(',').map((item) => Number(item.trim())) : value;
      if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'number' && Number.isFinite(item)))
        fail('a list of numbers (comma-separated on the command line)');
      return list;
    }
    case 'json': {
      if (text === undefined) return value;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return fail('JSON (e.g. {"train":0.7,"val":0.1,"test":0.2})');
      }
    }
    default:
      return fail(`an option of kind ${String(kind)}`);
  }
}
