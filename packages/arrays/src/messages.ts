/**
 * Error messages quote what a file holds; a hostile file can hold megabytes where a name is expected. These
 * keep every echo short, so a message stays readable and costs nothing to build.
 */

/** Characters of file content an error message repeats before it cuts the rest. */
export const MESSAGE_ECHO_LIMIT = 80;

/** `text` as it is when short; otherwise its first `limit` characters and how long it really is. */
export function truncateText(text: string, limit = MESSAGE_ECHO_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}… (${text.length} characters)`;
}

/** `text` in double quotes, escaped as JSON, truncated as {@link truncateText} does. */
export function quoteText(text: string, limit = MESSAGE_ECHO_LIMIT): string {
  if (text.length <= limit) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, limit))}… (${text.length} characters)`;
}
