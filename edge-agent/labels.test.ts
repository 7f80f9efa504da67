import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinLabels, labelsWarnings, parseLabelsCsv, readLabelsFile } from './labels.ts';

describe('parseLabelsCsv', () => {
  it('reads the two columns in any order, ignoring others, with quotes, CRLF and a BOM', () => {
    const text =
      '\uFEFFsite,"label",note,StudyInstanceUID\r\n' +
      'x,1,"has, comma",1.2.3\r\n' +
      'x,0,"multi\nline ""quoted""",1.2.4\r\n' +
      '\r\n' +
      'x, 1 ,,"1.2.5"\n' +
      'x,1,,\n' +
      'x,0,,1.2.6';
    const { labels, invalid } = parseLabelsCsv(text);
    expect(Object.fromEntries(labels)).toEqual({ '1.2.3': 1, '1.2.4': 0, '1.2.5': 1, '1.2.6': 0 });
    expect(invalid.size).toBe(0);
  });

  it('excludes non-0/1 labels as invalid and contradicting duplicates as conflicting, one line per problem row', () => {
    const parsed = parseLabelsCsv(
      'StudyInstanceUID,label\n1.1,yes\n1.2,2\n1.3,\n1.4,1\n1.4,0\n1.5,1\n1.5,1\n1.6,0.5\n1.6,1\n,1\n',
    );
    expect(Object.fromEntries(parsed.labels)).toEqual({ '1.5': 1 });
    expect([...parsed.invalid].sort()).toEqual(['1.1', '1.2', '1.3', '1.6']);
    expect([...parsed.conflicting]).toEqual(['1.4']);
    // The same label twice counts once, and says so.
    expect(parsed.repeatedRows).toBe(1);
    expect(parsed.problemRows).toBe(6);
    expect(parsed.problems).toEqual([
      'labels.csv line 2: label "yes" is not 0 or 1',
      'labels.csv line 3: label "2" is not 0 or 1',
      'labels.csv line 4: label is empty',
      'labels.csv line 6: the study of line 5 is listed again with a different label',
      'labels.csv line 9: label "0.5" is not 0 or 1',
    ]);
    expect(labelsWarnings(parsed)).toEqual([
      ...parsed.problems,
      'labels.csv: 1 more rows with problems',
      'labels.csv: 1 rows repeat a study with the same label; each study counts once',
    ]);
  });

  it('counts lines, not records, when a quoted field spans lines', () => {
    const parsed = parseLabelsCsv('StudyInstanceUID,label,note\n1.1,1,"two\nlines"\n1.2,maybe,\n');
    expect(parsed.problems).toEqual(['labels.csv line 4: label "maybe" is not 0 or 1']);
  });

  it('refuses a file without one usable label in one line: yes/no labels, a header only', () => {
    expect(() => parseLabelsCsv('StudyInstanceUID,label\n1.1,yes\n1.2,no\n')).toThrow(
      /^labels\.csv line 2: label "yes" is not 0 or 1 \(no row has a usable label; 2 rows with problems\)$/,
    );
    expect(() => parseLabelsCsv('StudyInstanceUID,label\n')).toThrow(/^labels\.csv: no row has/);
  });

  it('names a semicolon-separated file as such', () => {
    expect(() => parseLabelsCsv('StudyInstanceUID;label\n1.1;1\n')).toThrow(
      /^labels\.csv line 1: the file is separated by semicolons \(;\), not commas/,
    );
  });

  it('reads a missing file as one line without its path', () => {
    expect(() => readLabelsFile(join(tmpdir(), 'no-such-PATIENT', 'labels.csv'))).toThrow(
      /^labels\.csv: cannot be read \(ENOENT\)$/,
    );
  });

  it('accepts header names in any letter case', () => {
    expect(parseLabelsCsv('studyinstanceuid,LABEL\n9.9,1').labels.get('9.9')).toBe(1);
  });

  it('throws one clear line without echoing the file', () => {
    const secret = '1.2.840.99999.PATIENT';
    for (const text of [`${secret},1\n`, 'StudyInstanceUID,outcome\n1.2,1', '']) {
      let message = '';
      try {
        parseLabelsCsv(text);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^labels\.csv( line \d+)?: [^\n]+$/);
      expect(message).not.toContain(secret);
    }
    expect(() => parseLabelsCsv('StudyInstanceUID,label\n"1.2,1\n')).toThrow(
      /^labels\.csv line 2: a quoted field opened here is never closed$/,
    );
  });
});

describe('joinLabels', () => {
  it('pairs scored studies with labels and counts the rest by reason', () => {
    const parsed = parseLabelsCsv('StudyInstanceUID,label\nA,1\nB,0\nC,maybe\nZ,1\nF,1\nF,0\n');
    const scores = new Map([
      ['A', 0.9],
      ['B', 0.2],
      ['C', 0.5],
      ['D', 0.4],
      ['E', 0.1],
      ['F', 0.6],
    ]);
    const { outcomes, excluded } = joinLabels(scores, parsed);
    expect(outcomes).toEqual([
      { study: 'A', score: 0.9, label: 1 },
      { study: 'B', score: 0.2, label: 0 },
    ]);
    expect(excluded).toEqual({ 'invalid-label': 1, 'conflicting-label': 1, 'no-label': 2 });
  });
});

describe('campaign-named subgroup columns', () => {
  it('reads only the requested columns, case-insensitively, leaving empty cells out and naming missing ones', () => {
    const parsed = parseLabelsCsv('StudyInstanceUID,label,Ward,notes\nA,1,east,secret\nB,0,,x\n', [
      'ward',
      'ethnicity',
    ]);
    expect(parsed.attributes).toEqual(new Map([['A', { ward: 'east' }]]));
    expect(parsed.missingColumns).toEqual(['ethnicity']);
    const { outcomes } = joinLabels(new Map([['A', 0.7]]), parsed, parsed.attributes);
    expect(outcomes).toEqual([{ study: 'A', score: 0.7, label: 1, attributes: { ward: 'east' } }]);
  });
});
