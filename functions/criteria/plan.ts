import type { BoundRule, Criteria, CriteriaRule, MinimumRule } from '../../schemas/criteria.ts';
import { isBoundRule, isMinimumRule, isNonInferiority } from '../../schemas/criteria.ts';
import { type BoundMethod, minSampleForLowerBound } from '../../stats/sample-size.ts';

export interface PlanAssumptions {
  prevalence: number;
  sensitivity: number;
  specificity: number;
  /** The sites that share one scope's sample (a region's, or all of them overall). */
  sites: number;
  method: BoundMethod;
}

/**
 * What one rule needs to be decidable, in the scope it speaks of: studies, and of them positives and
 * negatives, in the scope and at each of its sites (the scope's need spread evenly). Null counts with a
 * `reason` when it cannot be planned from these assumptions.
 */
export interface PlanRow {
  rule: number;
  scope: 'overall' | 'region';
  what: string;
  cases: number | null;
  positives: number | null;
  negatives: number | null;
  casesPerSite: number | null;
  reason?: string;
}

/**
 * The sample each rule needs: a bound on sensitivity (specificity, PPV, NPV) needs enough cases in the
 * proportion's denominator for the interval's lower end at the expected value to reach the goal
 * (stats/sample-size.ts), scaled to studies by the prevalence (and, for PPV/NPV, the expected share of
 * positive/negative calls). It treats the scope's pool as one binomial sample: between-site heterogeneity
 * widens the pooled interval, so these are lower limits. AUC, prediction intervals, non-inferiority and
 * subgroup rules need variances the plan does not assume: listed with the reason.
 */
export function planCriteria(criteria: Criteria, a: PlanAssumptions): PlanRow[] {
  return criteria.rules.map((rule, i) => planRule(rule, i, a));
}

function planRule(rule: CriteriaRule, i: number, a: PlanAssumptions): PlanRow {
  if (isNonInferiority(rule))
    return unplanned(i, 'overall', `AUC vs ${rule.versus}`, 'needs the paired AUC difference’s variance');
  if (isMinimumRule(rule)) return minimum(rule, i, a);
  if (!isBoundRule(rule))
    return unplanned(i, rule.scope, `${rule.metric} by ${rule.subgroup}`, 'needs each subgroup’s share');
  return bound(rule, i, a);
}

const unplanned = (rule: number, scope: PlanRow['scope'], what: string, reason: string): PlanRow => ({
  rule,
  scope,
  what,
  cases: null,
  positives: null,
  negatives: null,
  casesPerSite: null,
  reason,
});

/** The studies at the prevalence, with at least the positives and negatives a rule names. */
function row(
  rule: number,
  scope: PlanRow['scope'],
  what: string,
  cases: number,
  a: PlanAssumptions,
  need: { positives?: number; negatives?: number } = {},
): PlanRow {
  const positives = Math.min(
    cases - Math.ceil(need.negatives ?? 0),
    Math.max(Math.ceil(need.positives ?? 0), Math.round(cases * a.prevalence)),
  );
  return {
    rule,
    scope,
    what,
    cases,
    positives,
    negatives: cases - positives,
    casesPerSite: Math.ceil(cases / a.sites),
  };
}

/** The expected proportion and the share of studies in its denominator. */
function denominatorOf(
  metric: BoundRule['metric'],
  a: PlanAssumptions,
): { p: number; share: number; class?: 'positives' | 'negatives' } | null {
  const calledPositive = a.sensitivity * a.prevalence + (1 - a.specificity) * (1 - a.prevalence);
  switch (metric) {
    case 'sensitivity':
      return { p: a.sensitivity, share: a.prevalence, class: 'positives' };
    case 'specificity':
      return { p: a.specificity, share: 1 - a.prevalence, class: 'negatives' };
    case 'ppv':
      return { p: (a.sensitivity * a.prevalence) / calledPositive, share: calledPositive };
    case 'npv':
      return { p: (a.specificity * (1 - a.prevalence)) / (1 - calledPositive), share: 1 - calledPositive };
    default:
      return null;
  }
}

function bound(rule: BoundRule, i: number, a: PlanAssumptions): PlanRow {
  const what = `${rule.metric} ${rule.bound} ≥ ${rule.atLeast}`;
  if (rule.bound === 'predictionLow')
    return unplanned(i, rule.scope, what, 'needs the between-site variance');
  const d = denominatorOf(rule.metric, a);
  if (!d) return unplanned(i, rule.scope, what, 'needs an expected AUC and its variance');
  if (d.p < rule.atLeast)
    return unplanned(i, rule.scope, what, `the expected ${rule.metric} ${d.p.toFixed(3)} is below the goal`);
  // The estimate alone decides: one case in its denominator does.
  const n = rule.bound === 'estimate' ? 1 : minSampleForLowerBound(d.p, rule.atLeast, a.method);
  if (n === null)
    return unplanned(
      i,
      rule.scope,
      what,
      `the expected ${rule.metric} ${d.p.toFixed(3)} is not above the goal`,
    );
  return row(i, rule.scope, what, Math.ceil(n / d.share - 1e-9), a, d.class ? { [d.class]: n } : {});
}

function minimum(rule: MinimumRule, i: number, a: PlanAssumptions): PlanRow {
  const share = Math.min(a.prevalence, 1 - a.prevalence);
  const needs = [
    rule.minCases ?? 0,
    (rule.minPositives ?? 0) / a.prevalence,
    (rule.minNegatives ?? 0) / (1 - a.prevalence),
  ];
  const what = 'minimum sample';
  if (rule.minClassShare !== undefined && share < rule.minClassShare)
    return unplanned(
      i,
      rule.scope,
      what,
      `a prevalence of ${a.prevalence} gives a class under ${rule.minClassShare}`,
    );
  if (rule.minSites !== undefined && a.sites < rule.minSites)
    return unplanned(i, rule.scope, what, `${a.sites} site(s) < the ${rule.minSites} the rule needs`);
  const cases = Math.max(1, Math.ceil(Math.max(...needs) - 1e-9));
  const byShare = rule.minClassShare === undefined ? 0 : rule.minClassShare * cases;
  return row(i, rule.scope, what, cases, a, {
    positives: Math.max(rule.minPositives ?? 0, byShare),
    negatives: Math.max(rule.minNegatives ?? 0, byShare),
  });
}
