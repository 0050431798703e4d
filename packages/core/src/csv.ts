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
  const records: string[][] = [];
  const lines: number[] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let fieldStarted = false;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark is not data

  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === '' && !fieldStarted)) {
      records.push(record);
      lines.push(recordLine);
    }
    record = [];
    field = '';
    fieldStarted = false;
  };

  for (let index = 0; index < body.length; index++) {
    const character = body[index]!;
    if (quoted) {
      if (character === '"') {
        if (body[index + 1] === '"') {
          field += '"';
          index++;
        } else {
          quoted = false;
        }
      } else {
        if (character === '\n') line++;
        field += character;
      }
      continue;
    }
    if (character === '"') {
      if (field.length > 0) throw new SyntaxError(`${source}: line ${line}: a quote inside an unquoted field`);
      quoted = true;
      fieldStarted = true;
    } else if (character === ',') {
      record.push(field);
      field = '';
      fieldStarted = true;
    } else if (character === '\n' || character === '\r') {
      if (character === '\r' && body[index + 1] === '\n') index++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += character;
      fieldStarted = true;
    }
  }
  if (quoted) throw new SyntaxError(`${source}: line ${recordLine}: a quoted field is not closed before the end of the file`);
  if (field.length > 0 || record.length > 0 || fieldStarted) endRecord();

  const [header, ...rows] = records;
  if (!header) throw new SyntaxError(`${source}: empty CSV file, expected a header row`);
  rows.forEach((row, position) => {
    if (row.length !== header.length) {
      throw new SyntaxError(`${source}: line ${lines[position + 1]}: expected ${header.length} fields (${header.join(',')}), got ${row.length}`);
    }
  });
  return { header, rows, lines: lines.slice(1) };
}

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
    throw new Error(`${source}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((name) => JSON.stringify(name)).join(', ')}; the header has ${table.header.map((name) => JSON.stringify(name)).join(', ')}`);
  }
  return positions;
}
