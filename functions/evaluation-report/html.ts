/** Text made safe to put between HTML tags or inside a quoted attribute. */
export const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** A number as the report prints it (three decimals), or an en dash when there is none. */
export const fmt = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? '–' : x.toFixed(digits);

/** "0.912 (0.880–0.940)" */
export const withCi = (
  e: number | null | undefined,
  lo: number | null | undefined,
  hi: number | null | undefined,
) => (e === null || e === undefined ? '–' : `${fmt(e)} (${fmt(lo)}–${fmt(hi)})`);

/** A table: header cells, then rows of cells already escaped (or built from escaped parts). */
export function table(caption: string, head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
