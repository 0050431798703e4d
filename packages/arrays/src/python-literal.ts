import { ArrayFormatError } from './errors.js';
import { quoteText, truncateText } from './messages.js';

/**
 * A strict parser for the few Python literals an NPY header holds: a dict of strings, booleans,
 * integers and tuples (lists and None appear in headers of structured dtypes, which we then refuse
 * by name). It evaluates nothing, unlike Python's `ast.literal_eval` on which numpy relies.
 */

export type PythonLiteral =
  | string
  | number
  | boolean
  | null
  | { readonly kind: 'tuple'; readonly items: PythonLiteral[] }
  | { readonly kind: 'list'; readonly items: PythonLiteral[] }
  | { readonly kind: 'dict'; readonly entries: Map<string, PythonLiteral> };

export interface ParsedLiteral {
  value: PythonLiteral;
  /** Index just after the literal, where the caller checks that only padding follows. */
  end: number;
}

const MAXIMUM_NESTING = 32;

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };

/**
 * Parses one literal at the start of `text` (after optional whitespace). `file` and `field` name
 * what is being parsed in error messages.
 */
export function parsePythonLiteral(text: string, file: string, field: string): ParsedLiteral {
  let position = 0;

  // The text around the position, not all of it: a header may be long.
  const context = (): string => {
    const start = Math.max(0, position - 40);
    return `${start > 0 ? '…' : ''}${quoteText(text.slice(start).trimEnd(), 80)}`;
  };

  const fail = (expected: string): never => {
    const found = position < text.length ? `'${text[position]}'` : 'the end of the text';
    throw new ArrayFormatError(file, field, `expected ${expected} at position ${position}, found ${found} in ${context()}`);
  };

  const refuse = (problem: string): never => {
    throw new ArrayFormatError(file, field, `${problem} at position ${position} in ${context()}`);
  };

  const skipWhitespace = (): void => {
    while (position < text.length && /\s/.test(text[position]!)) position++;
  };

  const parseString = (): string => {
    const quote = text[position]!;
    position++;
    let value = '';
    while (position < text.length && text[position] !== quote) {
      const character = text[position]!;
      if (character === '\n') fail(`closing ${quote}`);
      if (character === '\\') {
        const escaped = text[position + 1] ?? '';
        if (escaped === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(position + 2, position + 4))) {
          value += String.fromCharCode(Number.parseInt(text.slice(position + 2, position + 4), 16));
          position += 4;
          continue;
        }
        const replacement = SIMPLE_ESCAPES[escaped];
        if (replacement === undefined) {
          position++;
          fail(`a supported escape (\\\\, \\', \\", \\n, \\t, \\r, \\0, \\xNN)`);
        }
        value += replacement;
        position += 2;
        continue;
      }
      value += character;
      position++;
    }
    if (position >= text.length) fail(`closing ${quote}`);
    position++;
    return value;
  };

  const integerPattern = /-?\d+[lL]?/y;
  const parseInteger = (): number => {
    integerPattern.lastIndex = position;
    const match = integerPattern.exec(text);
    if (match === null) return fail('a value');
    // Python 2 wrote long integers with an L suffix, and numpy still accepts such headers.
    const digits = match[0].replace(/[lL]$/, '');
    const value = Number(digits);
    if (!Number.isSafeInteger(value)) refuse(`integer ${truncateText(digits, 30)} is too large (expected below 2^53)`);
    position += match[0].length;
    return value;
  };

  const parseSequence = (closing: string): { items: PythonLiteral[]; sawComma: boolean } => {
    position++;
    const items: PythonLiteral[] = [];
    let sawComma = false;
    skipWhitespace();
    while (text[position] !== closing) {
      items.push(parseValue());
      skipWhitespace();
      if (text[position] === ',') {
        sawComma = true;
        position++;
        skipWhitespace();
      } else if (text[position] !== closing) {
        fail(`',' or '${closing}'`);
      }
    }
    position++;
    return { items, sawComma };
  };

  const parseDict = (): PythonLiteral => {
    position++;
    const entries = new Map<string, PythonLiteral>();
    skipWhitespace();
    while (text[position] !== '}') {
      if (text[position] !== "'" && text[position] !== '"') fail('a string key or }');
      const key = parseString();
      if (entries.has(key)) refuse(`key '${truncateText(key)}' appears twice`);
      skipWhitespace();
      if (text[position] !== ':') fail("':'");
      position++;
      entries.set(key, parseValue());
      skipWhitespace();
      if (text[position] === ',') {
        position++;
        skipWhitespace();
      } else if (text[position] !== '}') {
        fail("',' or '}'");
      }
    }
    position++;
    return { kind: 'dict', entries };
  };

  let depth = 0;
  function parseValue(): PythonLiteral {
    skipWhitespace();
    const character = text[position];
    if (character === '{' || character === '(' || character === '[') {
      // Bounded so that a hostile header cannot exhaust the stack.
      if (depth >= MAXIMUM_NESTING) refuse(`more than ${MAXIMUM_NESTING} nested brackets`);
      depth++;
      try {
        return parseBracketed(character);
      } finally {
        depth--;
      }
    }
    if (character === "'" || character === '"') return parseString();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (text.startsWith(word, position) && !/\w/.test(text[position + word.length] ?? '')) {
        position += word.length;
        return value;
      }
    }
    return parseInteger();
  }

  function parseBracketed(opening: '{' | '(' | '['): PythonLiteral {
    if (opening === '{') return parseDict();
    if (opening === '[') return { kind: 'list', items: parseSequence(']').items };
    const { items, sawComma } = parseSequence(')');
    // `(x)` is x in parentheses; only `()` and `(x,)` are tuples.
    if (items.length === 1 && !sawComma) return items[0]!;
    return { kind: 'tuple', items };
  }

  const value = parseValue();
  return { value, end: position };
}

/** Renders a parsed literal back as Python would print it, for error messages. */
export function formatPythonLiteral(value: PythonLiteral): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value}'`;
  if (value.kind === 'dict') {
    return `{${[...value.entries].map(([key, item]) => `'${key}': ${formatPythonLiteral(item)}`).join(', ')}}`;
  }
  const items = value.items.map(formatPythonLiteral);
  if (value.kind === 'list') return `[${items.join(', ')}]`;
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
}
