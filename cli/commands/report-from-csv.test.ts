import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportFromCsv } from './report-from-csv.ts';

function scoresFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cairn-report-')), 'scores.csv');
  writeFileSync(path, text);
  return path;
}

const balanced = Array.from({ length: 20 }, (_, i) => `${(i / 20).toFixed(2)},${i % 2}`).join('\n');

describe('reportFromCsv', () => {
  it('reads quoted subgroup values with commas and line breaks, CRLF and a BOM', () => {
    const rows = balanced.split('\n').map((r, i) => `${r},"site ${i % 2 ? 'a, north' : 'b\nsouth'}"`);
    const r = reportFromCsv({
      scores: scoresFile(`\uFEFFscore,label,scanner\r\n${rows.join('\r\n')}\r\n`),
      subgroups: 'scanner',
      minCell: '0',
      output: 'json',
    });
    expect(r.cases).toBe(20);
    // One field each, whatever the quotes held (the report normalises subgroup values for release).
    expect(r.subgroups?.map((g) => g.value).sort()).toEqual(['SITE A_ NORTH', 'SITE B SOUTH']);
  });

  it('names the line a bad row starts on, counting blank lines and breaks inside quotes', () => {
    const scores = scoresFile('score,label,note\n0.1,0,"two\nlines"\n\n0.2,yes,x\n');
    expect(() => reportFromCsv({ scores, output: 'text' })).toThrow('line 5: label "yes" is not 0 or 1');
  });
});
