/**
 * The one CSV reader (RFC 4180) for what sites hand us: labels.csv, and the stored predictions `cairn report`
 * reads. Fields are never interpreted here; callers name the file in errors, so a message never needs a cell.
 */

/**
 * RFC 4180 records with the line each starts on; a quoted field may contain commas, doubled quotes and line
 * breaks. CRLF, a lone CR and a UTF-8 BOM are accepted; a final line break ends the last record rather than
 * starting an empty one; a blank line is one empty field (callers skip it). `name` starts the error message of an unclosed quote (`labels.csv line 4: …`).
 */
export function* csvRecords(text: string, name: string): Generator<{ fields: string[]; line: number }> {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      quoted = true;
      quoteLine = line;
      field = '';
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      yield { fields: row, line: rowLine };
      row = [];
      field = '';
      line++;
      rowLine = line;
      if (ch === '\r' && src[i + 1] === '\n') i++;
    } else {
      field += ch;
    }
    i++;
  }
  if (quoted) throw new Error(`${name} line ${quoteLine}: a quoted field opened here is never closed`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    yield { fields: row, line: rowLine };
  }
}
