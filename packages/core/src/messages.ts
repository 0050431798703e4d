/** How many characters of a value read from a file an error message echoes before it cuts. */
export const MESSAGE_ECHO_LIMIT = 80;

/**
 * A value from a file as an error message shows it: strings quoted, anything else as JSON, cut to `limit`
 * characters with a count of what was left out (an id can be megabytes). `undefined` reads "nothing", so a
 * message never prints `undefined`.
 */
export function quoteForMessage(value: unknown, limit = MESSAGE_ECHO_LIMIT): string {
  if (value === undefined) return 'nothing';
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'number') text = String(value);
  else if (typeof value === 'function' || typeof value === 'symbol') text = typeof value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return cutText(text, limit);
}

/** `text`, or its first `limit` characters and how many more there were. */
export function cutText(text: string, limit = MESSAGE_ECHO_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, Math.max(1, limit))}… (${text.length - limit} more characters)`;
}

/**
 * What a value read from a file is, for the "found" half of an error: `nothing`, `null`, `true`, `the number
 * 3`, `the string "abc"`, `an array of 2 entries [1,2]`, `an object {"a":1}`; each echo cut by `quoteForMessage`.
 */
export function describeValue(value: unknown, limit = MESSAGE_ECHO_LIMIT): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return `the number ${quoteForMessage(value, limit)}`;
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `the string ${quoteForMessage(value, limit)}`;
  if (Array.isArray(value)) {
    const count = `${value.length} ${value.length === 1 ? 'entry' : 'entries'}`;
    return value.length === 0 ? 'an empty array' : `an array of ${count} ${quoteForMessage(value, limit)}`;
  }
  if (typeof value === 'object') return `an object ${quoteForMessage(value, limit)}`;
  return `a ${typeof value}`;
}
