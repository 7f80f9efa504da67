import { describe, expect, it } from 'vitest';
import { csvRecords } from './csv.ts';

const read = (text: string) => [...csvRecords(text, 'x.csv')];
const fields = (text: string) => read(text).map((r) => r.fields);

describe('csvRecords (RFC 4180)', () => {
  it('splits plain records on commas and line breaks, without an empty record after the last break', () => {
    expect(fields('a,b\n1,2\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a,,c\n,\n')).toEqual([
      ['a', '', 'c'],
      ['', ''],
    ]);
  });

  it('keeps commas, doubled quotes and line breaks inside quoted fields', () => {
    expect(fields('"a,b","say ""hi""","two\nlines"\n')).toEqual([['a,b', 'say "hi"', 'two\nlines']]);
    expect(fields('"",x\n')).toEqual([['', 'x']]);
  });

  it('accepts CRLF, a lone CR and a UTF-8 BOM', () => {
    expect(fields('\uFEFFid,label\r\n1,0\r\n2,1\r\n')).toEqual([
      ['id', 'label'],
      ['1', '0'],
      ['2', '1'],
    ]);
    expect(fields('a\rb\r')).toEqual([['a'], ['b']]);
  });

  it('numbers each record by the line it starts on, counting the breaks inside quoted fields', () => {
    const records = read('h1,h2\n"multi\nline\nnote",1\n\nlast,2\r\nend,3');
    expect(records.map((r) => r.line)).toEqual([1, 2, 5, 6, 7]);
    expect(records[2]?.fields).toEqual(['']);
  });

  it('refuses an unclosed quote with the file name and the line it opened on', () => {
    expect(() => read('a,b\n1,2\n3,"open\nstill open\n')).toThrow(
      'x.csv line 3: a quoted field opened here is never closed',
    );
  });
});
