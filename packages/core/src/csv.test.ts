import { describe, expect, it } from 'vitest';
import { csvColumns, parseCsv } from './csv.js';

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes, line breaks in quotes, CRLF and a byte order mark', () => {
    const table = parseCsv('\ufeffpath,label\r\n"a,b.png",1\r\n"say ""hi""\nthere",0\nlast,', 'x.csv');
    expect(table.header).toEqual(['path', 'label']);
    expect(table.rows).toEqual([
      ['a,b.png', '1'],
      ['say "hi"\nthere', '0'],
      ['last', ''],
    ]);
    expect(table.lines).toEqual([2, 3, 5]);
  });

  it('ignores a final newline and blank trailing line but keeps empty fields', () => {
    expect(parseCsv('a,b\n1,\n', 'x.csv').rows).toEqual([['1', '']]);
  });

  it('names the file and line of a row with the wrong number of fields', () => {
    expect(() => parseCsv('id_code,diagnosis\nabc,2\ndef\n', 'train.csv')).toThrow('train.csv: line 3: expected 2 fields (id_code,diagnosis), got 1');
    expect(() => parseCsv('a\n"open', 'bad.csv')).toThrow('bad.csv: line 2: a quoted field is not closed');
    expect(() => parseCsv('', 'empty.csv')).toThrow('empty.csv: empty CSV file');
  });

  it('finds columns by name and lists the header when one is missing', () => {
    const table = parseCsv('Image Index,Finding Labels,Patient ID\nx.png,No Finding,1\n', 'Data_Entry_2017.csv');
    expect(csvColumns(table, ['Image Index', 'Patient ID'], 'Data_Entry_2017.csv')).toEqual({ 'Image Index': 0, 'Patient ID': 2 });
    expect(() => csvColumns(table, ['id_code', 'diagnosis'], 'Data_Entry_2017.csv')).toThrow(
      'Data_Entry_2017.csv: missing columns "id_code", "diagnosis"; the header has "Image Index", "Finding Labels", "Patient ID"',
    );
  });
});
