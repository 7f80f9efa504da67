import type { PooledEstimate } from '../../schemas/comparison.ts';
import type { EvaluationReport } from '../../schemas/evaluation-report.ts';
import { esc, fmt, table, withCi } from './html.ts';
import { proportion } from './sections-evidence.ts';
import { forestPlotSvg, rocCurveSvg } from './svg-plots.ts';

type R = EvaluationReport;
type Group = R['pooled']['overall'];

const pooledCell = (p: PooledEstimate) => withCi(p.estimate, p.ciLow, p.ciHigh);
const predictionCell = (p: PooledEstimate) =>
  p.predictionLow == null ? '–' : `${fmt(p.predictionLow)}–${fmt(p.predictionHigh)}`;

function pooledRows(label: string, g: Group): string[][] {
  return (['auc', 'sensitivity', 'specificity'] as const).map((metric) => {
    const p = g[metric];
    return [
      esc(label),
      metric,
      pooledCell(p),
      predictionCell(p),
      fmt(p.tau2, 4),
      p.i2 === null ? '–' : `${(p.i2 * 100).toFixed(1)} %`,
      String(p.k),
      `${p.method}${p.test === 'knha' ? ' + Knapp–Hartung' : ''}${p.reason ? ` (${esc(p.reason)})` : ''}`,
    ];
  });
}

export function resultsSection(r: R): string {
  const perSite = r.sites.map((s) => [
    esc(s.site),
    esc(s.region),
    s.auc ? withCi(s.auc.estimate, s.auc.ciLow, s.auc.ciHigh) : '–',
    proportion(s.sensitivity),
    proportion(s.specificity),
  ]);
  const pooled = [
    ...pooledRows(r.region ? `region ${r.region}` : 'all sites', r.pooled.overall),
    ...(r.region ? [] : r.pooled.regions.flatMap((g) => pooledRows(`region ${g.region}`, g))),
  ];
  const binned = r.pooled.overall.binnedAuc;
  return `<section id="results"><h2>6. Per-site and pooled results</h2>${table(
    'Per site (AUC with DeLong 95 % CI; sensitivity and specificity with Wilson 95 % CI)',
    ['Site', 'Region', 'AUC', 'Sensitivity', 'Specificity'],
    perSite,
  )}${table(
    'Pooled by random effects on the logit scale (95 % CI, prediction interval, τ², I²)',
    ['Scope', 'Metric', 'Estimate (95 % CI)', 'Prediction interval', 'τ²', 'I²', 'Sites', 'Method'],
    pooled,
  )}
<figure>${forestPlotSvg(r)}<figcaption>Forest plot: AUC per site with 95 % CI; the diamond is the pooled AUC, the dashed line its prediction interval.</figcaption></figure>
<figure>${rocCurveSvg(r)}<figcaption>Pooled binned ROC over ${r.roc.sites} sites (summed score histograms); binned AUC ${binned ? withCi(binned.estimate, binned.ciLow, binned.ciHigh) : '–'}.</figcaption></figure></section>`;
}

export function calibrationSection(r: R): string {
  const rows = r.sites.map((s) => {
    const c = s.calibration;
    return [
      esc(s.site),
      fmt(c?.brier),
      fmt(c?.ece),
      fmt(c?.intercept),
      fmt(c?.slope),
      esc(c?.reason ?? (c ? '' : 'not reported')),
    ];
  });
  return `<section id="calibration"><h2>7. Calibration</h2>${table(
    'Per site: Brier score, ECE (10 bins), calibration intercept and slope',
    ['Site', 'Brier', 'ECE', 'Intercept', 'Slope', 'Note'],
    rows,
  )}</section>`;
}

export function subgroupsSection(r: R): string {
  const rows = (r.pooled.overall.subgroups ?? []).map((g) => [
    esc(g.attribute),
    esc(g.value),
    pooledCell(g.auc),
    pooledCell(g.sensitivity),
    pooledCell(g.specificity),
    String(g.auc.k),
  ]);
  return `<section id="subgroups"><h2>8. Subgroups</h2>${
    rows.length
      ? table(
          'Pooled per subgroup over the sites that released it',
          ['Attribute', 'Value', 'AUC', 'Sensitivity', 'Specificity', 'Sites'],
          rows,
        )
      : '<p>No subgroup was released.</p>'
  }</section>`;
}

export function comparisonSection(r: R): string {
  const rows = r.contrasts.map((k) => [
    `${esc(r.device.version)} − ${esc(k.versusVersion)}`,
    withCi(k.estimate, k.ciLow, k.ciHigh),
    k.predictionLow === null ? '–' : `${fmt(k.predictionLow)}–${fmt(k.predictionHigh)}`,
    fmt(k.p, 4),
    `${k.k} (${k.kPaired} paired)`,
    `${k.method}${k.test === 'knha' ? ' + Knapp–Hartung' : ''}${k.reason ? ` (${esc(k.reason)})` : ''}`,
  ]);
  return `<section id="comparison"><h2>9. Paired comparison with other versions</h2>${
    rows.length
      ? table(
          'AUC difference, within each site first (paired DeLong), pooled by random effects',
          ['Contrast', 'Difference (95 % CI)', 'Prediction interval', 'p', 'Sites', 'Method'],
          rows,
        )
      : '<p>No other version was evaluated on the same sites.</p>'
  }</section>`;
}
