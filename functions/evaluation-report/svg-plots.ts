import type { EvaluationReport } from '../../schemas/evaluation-report.ts';
import { esc } from './html.ts';

/** Shortest decimal text of a coordinate, so the SVG bytes are the same on every machine. */
const n = (x: number) => String(Math.round(x * 10) / 10);

interface ForestRow {
  label: string;
  estimate: number | null;
  low: number | null;
  high: number | null;
  pooled?: boolean;
}

/**
 * A forest plot of per-site AUCs with their 95 % intervals and the random-effects pooled AUC as a diamond
 * (with its prediction interval as a line when there is one), on a fixed [0.5, 1] axis (values below clip).
 */
export function forestPlotSvg(r: EvaluationReport): string {
  const rows: ForestRow[] = r.sites.map((s) => ({
    label: `${s.site} (${s.region})`,
    estimate: s.auc?.estimate ?? null,
    low: s.auc?.ciLow ?? null,
    high: s.auc?.ciHigh ?? null,
  }));
  const pooled = r.pooled.overall.auc;
  rows.push({
    label: 'Pooled (random effects)',
    estimate: pooled.estimate,
    low: pooled.ciLow,
    high: pooled.ciHigh,
    pooled: true,
  });
  const left = 200;
  const width = 360;
  const rowH = 22;
  const height = rows.length * rowH + 40;
  const x = (v: number) => left + ((Math.max(0.5, Math.min(1, v)) - 0.5) / 0.5) * width;
  const parts = rows.map((row, i) => forestRowSvg(row, 20 + i * rowH + rowH / 2, x));
  const pi = pooled.predictionLow != null && pooled.predictionHigh != null;
  const py = 20 + (rows.length - 1) * rowH + rowH / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Forest plot of AUC by site" viewBox="0 0 ${left + width + 120} ${height}" width="${left + width + 120}" height="${height}">`,
    `<title>Forest plot of AUC by site</title>`,
    axisSvg(x, height - 20, [0.5, 0.6, 0.7, 0.8, 0.9, 1]),
    ...parts,
    pi
      ? `<line x1="${n(x(pooled.predictionLow as number))}" x2="${n(x(pooled.predictionHigh as number))}" y1="${n(py + 8)}" y2="${n(py + 8)}" stroke="#555" stroke-dasharray="3 2"/>`
      : '',
    '</svg>',
  ].join('');
  function forestRowSvg(row: ForestRow, y: number, at: (v: number) => number): string {
    const label = `<text x="${left - 8}" y="${n(y + 4)}" text-anchor="end" font-size="12">${esc(row.label)}</text>`;
    if (row.estimate === null)
      return `${label}<text x="${left + 4}" y="${n(y + 4)}" font-size="12" fill="#555">not estimable</text>`;
    const value = `<text x="${left + width + 8}" y="${n(y + 4)}" font-size="12">${row.estimate.toFixed(3)}</text>`;
    const ci =
      row.low !== null && row.high !== null
        ? `<line x1="${n(at(row.low))}" x2="${n(at(row.high))}" y1="${n(y)}" y2="${n(y)}" stroke="#222"/>`
        : '';
    const mark = row.pooled
      ? `<polygon points="${n(at(row.low ?? row.estimate))},${n(y)} ${n(at(row.estimate))},${n(y - 6)} ${n(at(row.high ?? row.estimate))},${n(y)} ${n(at(row.estimate))},${n(y + 6)}" fill="#1f4e79"/>`
      : `<rect x="${n(at(row.estimate) - 4)}" y="${n(y - 4)}" width="8" height="8" fill="#1f4e79"/>`;
    return `${label}${row.pooled ? '' : ci}${mark}${value}`;
  }
}

function axisSvg(x: (v: number) => number, y: number, ticks: number[]): string {
  const line = `<line x1="${n(x(ticks[0] as number))}" x2="${n(x(ticks[ticks.length - 1] as number))}" y1="${y}" y2="${y}" stroke="#222"/>`;
  const marks = ticks.map(
    (t) =>
      `<line x1="${n(x(t))}" x2="${n(x(t))}" y1="${y}" y2="${y + 4}" stroke="#222"/><text x="${n(x(t))}" y="${y + 16}" text-anchor="middle" font-size="11">${t.toFixed(1)}</text>`,
  );
  return line + marks.join('');
}

/** The pooled binned ROC curve (summed histograms) on the unit square, with the chance diagonal. */
export function rocCurveSvg(r: EvaluationReport): string {
  const size = 260;
  const pad = 40;
  const px = (v: number) => pad + v * size;
  const py = (v: number) => pad + (1 - v) * size;
  const path = r.roc.points.map(([f, t], i) => `${i === 0 ? 'M' : 'L'}${n(px(f))} ${n(py(t))}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Pooled ROC curve" viewBox="0 0 ${size + 2 * pad} ${size + 2 * pad}" width="${size + 2 * pad}" height="${size + 2 * pad}">`,
    '<title>Pooled ROC curve</title>',
    `<rect x="${pad}" y="${pad}" width="${size}" height="${size}" fill="none" stroke="#222"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
    ...ticks.map(
      (t) =>
        `<text x="${n(px(t))}" y="${size + pad + 14}" text-anchor="middle" font-size="11">${t}</text><text x="${pad - 6}" y="${n(py(t) + 4)}" text-anchor="end" font-size="11">${t}</text>`,
    ),
    `<text x="${pad + size / 2}" y="${size + pad + 32}" text-anchor="middle" font-size="12">1 − specificity</text>`,
    `<text x="12" y="${pad + size / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${pad + size / 2})">sensitivity</text>`,
    path ? `<path d="${path}" fill="none" stroke="#1f4e79" stroke-width="2"/>` : '',
    '</svg>',
  ].join('');
}
