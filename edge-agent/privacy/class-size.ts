import type { Paired, Proportion, SiteReport } from '../../schemas/site-report.ts';

/**
 * Rule 0 of the privacy gate (./gate.ts): a class with 1..k−1 cases releases nothing conditional on it
 * (DataSHIELD nfilter.tab; CMS: no displayed or derivable value 1..k−1).
 *
 * What a withheld class takes with it, and why:
 * - its total, its histogram and its two confusion cells (tp+fn = positives, fp+tn = negatives);
 * - `cases`, the complement (cases − the other class = the withheld total);
 * - `images`: with one image per study (chest X-ray), used − the study exclusions = cases;
 * - every proportion with the class in its numerator or denominator: sensitivity or specificity, and PPV
 *   and NPV always (each mixes both classes);
 * - AUC, calibration and the paired comparison: each is computed from every case of both classes;
 * - subgroups: their counts partition the site, so they would add up to the withheld total.
 * Study-level exclusion counts (no-label, invalid-label, conflicting-label) stay: those studies have no
 * usable class, so they say nothing about either class.
 *
 * A class already null (gated before) stays withheld at any k, which keeps the gate idempotent.
 */
export type ClassName = 'positives' | 'negatives';

const CLASS_CELLS = { positives: ['tp', 'fn'], negatives: ['fp', 'tn'] } as const;
const CLASS_METRICS = {
  positives: ['sensitivity', 'ppv', 'npv'],
  negatives: ['specificity', 'ppv', 'npv'],
} as const;

/** The classes rule 0 withholds at minimum cell size k: small (1..k−1) or already withheld. */
export function smallClasses(r: Pick<SiteReport, ClassName>, k: number): ClassName[] {
  return (['positives', 'negatives'] as const).filter((c) => {
    const n = r[c];
    return n === null || (n >= 1 && n < k);
  });
}

export function withheldProportion(method: Proportion['method']): Proportion {
  return {
    estimate: null,
    ciLow: null,
    ciHigh: null,
    numerator: null,
    denominator: null,
    method,
    reason: 'insufficient-class-size',
  };
}

function withheldPaired(p: Paired): Paired {
  return {
    aucA: null,
    aucB: null,
    difference: null,
    se: null,
    z: null,
    p: null,
    covariance: null,
    method: 'delong-paired',
    reason: 'insufficient-class-size',
    ...(p.modelB ? { modelB: p.modelB } : {}),
  };
}

/** Applies rule 0 in place; returns the withheld classes (none: the report is unchanged). */
export function withholdSmallClasses(r: SiteReport, k: number): ClassName[] {
  const classes = smallClasses(r, k);
  if (classes.length === 0) return classes;
  r.withheld = { reason: 'insufficient-class-size', classes };
  r.cases = null;
  r.images = { seen: null, used: null };
  for (const c of classes) {
    r[c] = null;
    r.histogram[c] = null;
    for (const cell of CLASS_CELLS[c]) r.confusion[cell] = null;
    for (const m of CLASS_METRICS[c]) r[m] = withheldProportion(r[m].method);
  }
  r.auc = {
    estimate: null,
    se: null,
    ciLow: null,
    ciHigh: null,
    method: 'delong',
    reason: 'insufficient-class-size',
  };
  if (r.calibration)
    r.calibration = {
      brier: null,
      ece: null,
      intercept: null,
      slope: null,
      reason: 'insufficient-class-size',
    };
  if (r.paired) r.paired = withheldPaired(r.paired);
  delete r.subgroups;
  return classes;
}
