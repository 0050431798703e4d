/**
 * Markup that is already safe to insert. Only `html` (and `rawHtml` for static markup written here) make
 * one, so every value taken from a results document passes through `escapeHtml` on its way into the page.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

/** Static markup written in this package (never text from a document). */
export function rawHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * A template tag that escapes every interpolated value unless it is `SafeHtml`; arrays are joined, and
 * `undefined`, `null` and `false` insert nothing (for `${condition && html`...`}`).
 */
export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, index) => {
    markup += interpolate(value) + strings[index + 1]!;
  });
  return new SafeHtml(markup);
}

function interpolate(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}
