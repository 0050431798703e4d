import { quoteForMessage } from './messages.js';

/** Where JSON text stops being valid, and what was expected there. */
export interface JsonSyntaxProblem {
  /** UTF-16 offset of the first character that does not fit (the text's length when it ends too early). */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  /** The character found there, quoted, or `the end of the text`. */
  readonly found: string;
}

/**
 * Parses JSON text read from a file. Invalid text is an error made by `fail` from where it stops being
 * valid (`line 3, column 7`) and a message saying what was expected and found there, never the engine's
 * message (which names no file and can echo the whole text).
 */
export function parseJson(text: string, fail: (where: string, message: string) => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const problem = findJsonSyntaxProblem(text);
    if (problem === undefined) throw fail('(whole file)', 'expected JSON text, found text this parser cannot read');
    const ending = problem.found === 'the end of the text' ? ' (is the file cut short?)' : '';
    throw fail(`line ${problem.line}, column ${problem.column}`, `expected ${problem.expected}, found ${problem.found}${ending}`);
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/**
 * The first place `text` breaks the JSON grammar (RFC 8259), or undefined when it is valid. Iterative, so
 * deeply nested input cannot overflow the stack.
 */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  let position = 0;
  const stack: ('array' | 'object')[] = [];
  const problem = (expected: string): JsonSyntaxProblem => {
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    const character = text.codePointAt(position);
    const found = character === undefined ? 'the end of the text' : quoteForMessage(String.fromCodePoint(character));
    return { offset: position, line, column, expected, found };
  };
  const skipWhitespace = () => {
    while (position < text.length && WHITESPACE.has(text[position]!)) position++;
  };
  const scanString = (): JsonSyntaxProblem | undefined => {
    position++;
    for (;;) {
      const character = text[position];
      if (character === undefined) return problem('a closing quote');
      if (character === '"') {
        position++;
        return undefined;
      }
      if (character === '\\') {
        const escaped = text[position + 1];
        if (escaped !== undefined && ESCAPES.has(escaped)) position += 2;
        else if (escaped === 'u' && hexDigitsAt(text, position + 2)) position += 6;
        else return problem('an escape such as \\n or \\u00e9');
      } else if (character < ' ') {
        return problem('no control character inside a string (escape it)');
      } else position++;
    }
  };
  const scanKey = (): JsonSyntaxProblem | undefined => {
    skipWhitespace();
    if (text[position] !== '"') return problem('a quoted key');
    const invalid = scanString();
    if (invalid) return invalid;
    skipWhitespace();
    if (text[position] !== ':') return problem('":"');
    position++;
    return undefined;
  };
  for (;;) {
    // A value starts here.
    skipWhitespace();
    const character = text[position];
    if (character === '{' || character === '[') {
      position++;
      skipWhitespace();
      if (text[position] === (character === '{' ? '}' : ']')) position++;
      else {
        stack.push(character === '{' ? 'object' : 'array');
        if (character === '{') {
          const invalid = scanKey();
          if (invalid) return invalid;
        }
        continue;
      }
    } else if (character === '"') {
      const invalid = scanString();
      if (invalid) return invalid;
    } else if (character === '-' || (character !== undefined && character >= '0' && character <= '9')) {
      NUMBER.lastIndex = position;
      if (!NUMBER.test(text)) return problem('a number');
      position = NUMBER.lastIndex;
    } else {
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, position));
      if (literal === undefined) return problem('a JSON value');
      position += literal.length;
    }
    // A value ended: close containers, or go on to the next value.
    for (;;) {
      skipWhitespace();
      const container = stack.at(-1);
      if (container === undefined) return position < text.length ? problem('the end of the text') : undefined;
      const next = text[position];
      if (next === ',') {
        position++;
        if (container === 'object') {
          const invalid = scanKey();
          if (invalid) return invalid;
        }
        break;
      }
      if (next === (container === 'object' ? '}' : ']')) {
        position++;
        stack.pop();
        continue;
      }
      return problem(container === 'object' ? '"," or "}"' : '"," or "]"');
    }
  }
}

function hexDigitsAt(text: string, position: number): boolean {
  HEX4.lastIndex = position;
  return HEX4.test(text);
}

/** `$.task.type`, `$.classes[2]`, `$["odd key"]`: a JSON path for error messages. */
export function jsonPath(...steps: readonly (string | number)[]): string {
  return steps.reduce<string>(
    (path, step) => (typeof step === 'number' ? `${path}[${step}]` : /^[A-Za-z_$][\w$]*$/.test(step) ? `${path}.${step}` : `${path}[${quoteForMessage(step)}]`),
    '$',
  );
}
