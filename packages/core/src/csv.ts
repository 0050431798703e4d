import { DatasetLayoutError } from './errors.js';
import { cutText } from './messages.js';

/**
 * A strict RFC 4180 CSV reader: quoted fields (with doubled quotes and line breaks inside), CRLF or LF line
 * ends, a header row. Rows with the wrong number of fields are errors naming the source and the line.
 */
export interface CsvTable {
  readonly header: readonly string[];
  /** Data rows, each as long as the header. */
  readonly rows: readonly (readonly string[])[];
  /** 1-based line number in the source where each data row starts, for error messages. */
  readonly lines: readonly number[];
}

export function parseCsv(text: string, source: string): CsvTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark is not data
  const records: string[][] = [];
  const lines: number[] = [];
  const length = body.length;
  let position = 0;
  let line = 1;
  while (position < length) {
    const recordLine = line;
    const record: string[] = [];
    // One record: fields separated by commas, ended by a line break or the end of the text.
    while (true) {
      let field: string;
      if (body.charCodeAt(position) === QUOTE) {
        let value = '';
        let chunkStart = position + 1;
        let cursor = chunkStart;
        while (true) {
          const quote = body.indexOf('"', cursor);
          if (quote < 0) throw new DatasetLayoutError(source, `line ${recordLine}`, 'a quoted field is not closed before the end of the file');
          if (body.charCodeAt(quote + 1) === QUOTE) {
            value += body.slice(chunkStart, quote + 1);
            chunkStart = cursor = quote + 2;
            continue;
          }
          value += body.slice(chunkStart, quote);
          position = quote + 1;
          break;
        }
        for (let index = value.indexOf('\n'); index >= 0; index = value.indexOf('\n', index + 1)) line++;
        field = value;
        const next = body.charCodeAt(position);
        if (position < length && next !== COMMA && next !== NEWLINE && next !== RETURN) {
          throw new DatasetLayoutError(source, `line ${line}`, 'unexpected text after a closing quote');
        }
      } else {
        const start = position;
        while (position < length) {
          const code = body.charCodeAt(position);
          if (code === COMMA || code === NEWLINE || code === RETURN) break;
          if (code === QUOTE) throw new DatasetLayoutError(source, `line ${line}`, 'a quote inside an unquoted field');
          position++;
        }
        field = body.slice(start, position);
      }
      record.push(field);
      if (position < length && body.charCodeAt(position) === COMMA) {
        position++;
        continue;
      }
      break;
    }
    if (position < length) {
      if (body.charCodeAt(position) === RETURN && body.charCodeAt(position + 1) === NEWLINE) position++;
      position++;
      line++;
    }
    // A blank line (a lone empty field) is not a record.
    if (!(record.length === 1 && record[0] === '')) {
      records.push(record);
      lines.push(recordLine);
    }
  }

  const [header, ...rows] = records;
  if (!header) throw new DatasetLayoutError(source, '', 'empty CSV file, expected a header row');
  rows.forEach((row, index) => {
    if (row.length !== header.length) {
      throw new DatasetLayoutError(source, `line ${lines[index + 1]}`, `expected ${header.length} fields (${cutText(header.join(','))}), got ${row.length}`);
    }
  });
  return { header, rows, lines: lines.slice(1) };
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** Column positions by name; an absent column is an error listing what the file has. */
export function csvColumns<Name extends string>(table: CsvTable, names: readonly Name[], source: string): Record<Name, number> {
  const positions = {} as Record<Name, number>;
  const missing: string[] = [];
  for (const name of names) {
    const position = table.header.indexOf(name);
    if (position < 0) missing.push(name);
    positions[name] = position;
  }
  if (missing.length > 0) {
    throw new DatasetLayoutError(
      source,
      '',
      `missing column${missing.length > 1 ? 's' : ''} ${missing.map((name) => JSON.stringify(name)).join(', ')}; the header has ${cutText(table.header.map((name) => JSON.stringify(name)).join(', '), 200)}`,
    );
  }
  return positions;
}
