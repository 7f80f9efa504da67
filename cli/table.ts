/** The widest cell of each column. */
function columnWidths(lines: readonly string[][]): number[] {
  const count = Math.max(0, ...lines.map((l) => l.length));
  return Array.from({ length: count }, (_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
}

/** Rows as columns two spaces apart, each cell padded to its column's width; no trailing spaces. */
function aligned(lines: readonly string[][], widths: readonly number[]): string {
  return lines
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Columns padded to their widest cell, under a header and a rule. */
export function table(header: string[], rows: string[][]): string {
  const widths = columnWidths([header, ...rows]);
  return aligned([header, widths.map((w) => '-'.repeat(w)), ...rows], widths);
}

/** Rows as aligned columns without a header; one line saying so when there are none. */
export function listing(rows: string[][]): string {
  return rows.length === 0 ? '(none)' : aligned(rows, columnWidths(rows));
}
