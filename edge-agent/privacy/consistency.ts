import type { SiteReport, Subgroup } from '../../schemas/site-report.ts';

/**
 * The privacy gate's consistency checks (rule 6 of ./gate.ts): an input whose numbers do not add up could
 * reveal what suppression hides, so it is refused before any rule runs, and the output is checked again.
 */

export type Cell = 'tp' | 'fp' | 'tn' | 'fn';
export type MetricName = 'sensitivity' | 'specificity' | 'ppv' | 'npv';

export class PrivacyGateError extends Error {
  override name = 'PrivacyGateError';
}

/** The cells each metric is computed from: [numerator cell, other denominator cell]. */
export const METRIC_CELLS: Record<MetricName, readonly [Cell, Cell]> = {
  sensitivity: ['tp', 'fn'],
  specificity: ['tn', 'fp'],
  ppv: ['tp', 'fp'],
  npv: ['tn', 'fn'],
};

export function fail(message: string): never {
  throw new PrivacyGateError(`privacy gate: ${message}`);
}

/** The counts and metrics the site and every subgroup carry. */
export type Block = Pick<
  SiteReport,
  'cases' | 'positives' | 'negatives' | 'confusion' | 'sensitivity' | 'specificity' | 'ppv' | 'npv'
>;

function checkBlock(r: Block, where: string): void {
  const at = where ? `${where}: ` : '';
  const { positives, negatives } = r;
  if (positives !== null && negatives !== null && r.cases !== positives + negatives)
    fail(`${at}cases (${r.cases}) != positives + negatives`);
  if ((positives === null || negatives === null) && r.cases !== null)
    fail(`${at}cases is released while a class total is withheld`);
  const { tp, fp, tn, fn } = r.confusion;
  if (positives === null && (tp !== null || fn !== null))
    fail(`${at}tp or fn released for withheld positives`);
  if (negatives === null && (fp !== null || tn !== null))
    fail(`${at}fp or tn released for withheld negatives`);
  if (tp !== null && fn !== null && tp + fn !== positives) fail(`${at}tp + fn != positives`);
  if (fp !== null && tn !== null && fp + tn !== negatives) fail(`${at}fp + tn != negatives`);
  for (const name of Object.keys(METRIC_CELLS) as MetricName[]) {
    const metric = r[name];
    const [a, b] = METRIC_CELLS[name];
    const ca = r.confusion[a];
    const cb = r.confusion[b];
    if (metric.numerator !== null && ca !== null && metric.numerator !== ca)
      fail(`${at}${name}.numerator != ${a}`);
    if (metric.denominator !== null && ca !== null && cb !== null && metric.denominator !== ca + cb) {
      fail(`${at}${name}.denominator != ${a} + ${b}`);
    }
  }
}

/** A withheld class must be null everywhere, and named in `withheld` (else a reader cannot tell why). */
function checkWithheld(r: SiteReport): void {
  const nullClasses = (['positives', 'negatives'] as const).filter((c) => r[c] === null);
  const named = r.withheld?.classes ?? [];
  if (nullClasses.length !== named.length || nullClasses.some((c) => !named.includes(c)))
    fail('withheld.classes must name exactly the classes whose totals are null');
  if (nullClasses.length === 0) return;
  if (r.images.seen !== null || r.images.used !== null) fail('images are released while a class is withheld');
  if ((r.subgroups ?? []).length > 0) fail('subgroups are released while a class is withheld');
  if (r.auc.estimate !== null || r.paired?.aucA != null || r.calibration?.brier != null)
    fail('AUC, calibration or the paired comparison is released while a class is withheld');
}

export function checkConsistency(r: SiteReport): void {
  checkWithheld(r);
  checkBlock(r, '');
  const h = r.histogram;
  for (const c of ['positives', 'negatives'] as const) {
    const counts = h[c];
    if (counts !== null && counts.length !== h.edges.length - 1) fail('histogram needs one count per bin');
    if ((counts === null) !== (r[c] === null)) fail(`histogram ${c} must be null exactly when ${c} is`);
    if (counts !== null && sum(counts) !== r[c]) fail(`histogram ${c} do not add up to ${c}`);
  }
  for (let i = 1; i < h.edges.length; i++) {
    if (!((h.edges[i] as number) > (h.edges[i - 1] as number)))
      fail('histogram edges must be strictly increasing');
  }
  for (const [attribute, groups] of byAttribute(r.subgroups ?? [])) {
    const values = new Set<string>();
    for (const g of groups) {
      if (values.has(g.value)) fail(`subgroup ${attribute}=${g.value} appears twice`);
      values.add(g.value);
      checkBlock(g, `subgroup ${attribute}=${g.value}`);
    }
    for (const f of ['cases', 'positives', 'negatives'] as const) {
      if (sum(groups.map((g) => g[f])) !== r[f])
        fail(`subgroups of ${attribute}: ${f} do not add up to the site's`);
    }
  }
}

export const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

/** Subgroups by attribute, in order of first appearance. */
export function byAttribute(groups: readonly Subgroup[]): Map<string, Subgroup[]> {
  const map = new Map<string, Subgroup[]>();
  for (const g of groups) {
    let list = map.get(g.attribute);
    if (!list) {
      list = [];
      map.set(g.attribute, list);
    }
    list.push(g);
  }
  return map;
}
