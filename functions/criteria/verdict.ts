import type { Comparison, Verdict } from '../../schemas/comparison.ts';
import {
  type BoundRule,
  type Criteria,
  type CriteriaRule,
  isBoundRule,
  isMinimumRule,
  isNonInferiority,
  type MinimumRule,
  type NonInferiorityRule,
  type SubgroupRule,
} from '../../schemas/criteria.ts';
import {
  groupEstimate,
  groupSubgroups,
  type ModelEntry,
  type PooledGroup,
  scopeCounts,
} from './read-comparison.ts';

/** Criteria as attached to a campaign: the rules, their sha256 (as the chain records it), and when/how. */
export interface AttachedCriteria {
  criteria: Criteria;
  sha256: string;
  postHoc: boolean;
  attachedAt: Date;
}

export type RuleVerdict = Verdict['rules'][number];
type Outcome = RuleVerdict['verdict'];

const f3 = (x: number) => x.toFixed(3);
const verdict = (rule: number, v: Outcome, value: number | null, reason: string): RuleVerdict => ({
  rule,
  verdict: v,
  value,
  reason,
});

/**
 * The comparison with the criteria's verdicts: `models[].regions[].verdict` and `models[].overall.verdict`.
 * Pure, and reads only the comparison's own numbers (pooled estimates, intervals, contrasts, site rows): no
 * statistic is computed again. A region's verdict holds its region rules and, decided once, the overall
 * ones (non-inferiority included), so it is the whole decision for that version in that region.
 */
export function withVerdicts(c: Comparison, attached: AttachedCriteria): Comparison {
  const indexed = attached.criteria.rules.map((rule, i) => ({ rule, i }));
  const overallRules = indexed.filter(({ rule }) => isNonInferiority(rule) || rule.scope === 'overall');
  const regionRules = indexed.filter(({ rule }) => !isNonInferiority(rule) && rule.scope === 'region');
  const mark = attached.postHoc ? { postHoc: true as const } : {};
  return {
    ...c,
    criteria: {
      sha256: attached.sha256,
      postHoc: attached.postHoc,
      attachedAt: attached.attachedAt.toISOString(),
    },
    models: c.models.map((m) => {
      const overall = overallRules.flatMap(({ rule, i }) => evaluate(rule, i, c, m, m.overall, null));
      return {
        ...m,
        regions: m.regions.map((g) => {
          const own = regionRules.flatMap(({ rule, i }) => evaluate(rule, i, c, m, g, g.region));
          const rules = [...own, ...overall].sort((a, b) => a.rule - b.rule);
          return { ...g, verdict: { verdict: combine(rules, attached.criteria), ...mark, rules } };
        }),
        overall: {
          ...m.overall,
          verdict: { verdict: combine(overall, attached.criteria), ...mark, rules: overall },
        },
      };
    }),
  };
}

/**
 * Combined: a minimum not met makes the scope inconclusive whatever else holds (too little evidence to fail
 * or pass it); then any failed rule fails it; then any undecided rule leaves it inconclusive. A scope no rule
 * speaks of is inconclusive, never a silent pass.
 */
export function combine(rules: RuleVerdict[], criteria: Criteria): Outcome {
  if (rules.length === 0) return 'inconclusive';
  const isMinimum = (r: RuleVerdict) => {
    const rule = criteria.rules[r.rule];
    return rule !== undefined && isMinimumRule(rule);
  };
  if (rules.some((r) => isMinimum(r) && r.verdict !== 'pass')) return 'inconclusive';
  if (rules.some((r) => r.verdict === 'fail')) return 'fail';
  if (rules.some((r) => r.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

/** One rule on one scope; empty for a non-inferiority rule on the very version it compares against. */
function evaluate(
  rule: CriteriaRule,
  i: number,
  c: Comparison,
  m: ModelEntry,
  g: PooledGroup,
  region: string | null,
): RuleVerdict[] {
  if (isNonInferiority(rule)) return nonInferiority(rule, i, c, m);
  if (isBoundRule(rule)) return [bound(rule, i, g)];
  if (isMinimumRule(rule)) return [minimum(rule, i, m, region)];
  return [subgroup(rule, i, g)];
}

/** Pass when the bound clears the goal; fail when the interval lies wholly below it; else inconclusive. */
export function decideInterval(
  i: number,
  low: number | null | undefined,
  high: number | null | undefined,
  goal: number,
  what: string,
): RuleVerdict {
  if (low === null || low === undefined || high === null || high === undefined)
    return verdict(i, 'inconclusive', null, `no ${what}`);
  if (low >= goal) return verdict(i, 'pass', low, `${what} lower end ${f3(low)} ≥ ${f3(goal)}`);
  if (high < goal) return verdict(i, 'fail', low, `${what} ${f3(low)}–${f3(high)} lies below ${f3(goal)}`);
  return verdict(i, 'inconclusive', low, `${what} ${f3(low)}–${f3(high)} straddles ${f3(goal)}`);
}

function bound(rule: BoundRule, i: number, g: PooledGroup): RuleVerdict {
  const e = groupEstimate(g, rule.metric);
  if (e === null) return verdict(i, 'inconclusive', null, `${rule.metric} is not pooled in the comparison`);
  if (e.estimate === null)
    return verdict(i, 'inconclusive', null, `${rule.metric}: no pooled estimate (${e.reason ?? 'none'})`);
  if (rule.bound === 'estimate') {
    const ok = e.estimate >= rule.atLeast;
    const op = ok ? '≥' : '<';
    return verdict(
      i,
      ok ? 'pass' : 'fail',
      e.estimate,
      `${rule.metric} ${f3(e.estimate)} ${op} ${f3(rule.atLeast)}`,
    );
  }
  if (rule.bound === 'ciLow')
    return decideInterval(i, e.ciLow, e.ciHigh, rule.atLeast, `${rule.metric} 95% CI`);
  return decideInterval(
    i,
    e.predictionLow,
    e.predictionHigh,
    rule.atLeast,
    `${rule.metric} prediction interval`,
  );
}

/**
 * This version minus the `versus` one, from the comparison's within-site-first contrast (listed either way
 * round: B − A is the negated A − B with its interval flipped); non-inferior when the CI's lower end ≥ −margin.
 */
function nonInferiority(rule: NonInferiorityRule, i: number, c: Comparison, m: ModelEntry): RuleVerdict[] {
  const [name, version] = rule.versus.split('@') as [string, string];
  const candidates = c.models.filter((x) => x.name === name && x.version === version);
  const ref = candidates.find((x) => x.vendor === m.vendor) ?? candidates[0];
  if (ref?.modelId === m.modelId) return [];
  if (!ref) return [verdict(i, 'inconclusive', null, `${rule.versus} is not in this comparison`)];
  const ab = c.contrasts?.find((x) => x.modelA === m.modelId && x.modelB === ref.modelId);
  const ba = c.contrasts?.find((x) => x.modelA === ref.modelId && x.modelB === m.modelId);
  const contrast = ab ?? ba;
  if (!contrast) return [verdict(i, 'inconclusive', null, `no site reported both this and ${rule.versus}`)];
  if (contrast.estimate === null || contrast.ciLow === null || contrast.ciHigh === null)
    return [
      verdict(i, 'inconclusive', null, `AUC difference vs ${rule.versus}: ${contrast.reason ?? 'none'}`),
    ];
  const [low, high] = ab ? [contrast.ciLow, contrast.ciHigh] : [-contrast.ciHigh, -contrast.ciLow];
  return [decideInterval(i, low, high, -rule.margin, `AUC difference vs ${rule.versus} 95% CI`)];
}

/** Every subgroup's CI lower end must clear the scope's own estimate minus d; one wholly below it fails. */
function subgroup(rule: SubgroupRule, i: number, g: PooledGroup): RuleVerdict {
  const own = groupEstimate(g, rule.metric)?.estimate ?? null;
  if (own === null) return verdict(i, 'inconclusive', null, `${rule.metric}: no pooled estimate`);
  const groups = groupSubgroups(g, rule.subgroup, rule.metric);
  if (groups === null)
    return verdict(i, 'inconclusive', null, `${rule.subgroup} subgroups are not pooled in the comparison`);
  if (groups.length === 0)
    return verdict(i, 'inconclusive', null, `no ${rule.subgroup} subgroup was reported`);
  const goal = own - rule.maxBelowOverall;
  const decided = groups.map((s) => ({
    value: s.value,
    v: decideInterval(i, s.estimate.ciLow, s.estimate.ciHigh, goal, `${rule.subgroup}=${s.value} 95% CI`),
  }));
  const worst =
    decided.find((d) => d.v.verdict === 'fail') ??
    decided.find((d) => d.v.verdict === 'inconclusive') ??
    decided.reduce((a, b) => ((a.v.value ?? 1) <= (b.v.value ?? 1) ? a : b));
  return { ...worst.v, reason: `${worst.v.reason} (overall ${f3(own)} − ${f3(rule.maxBelowOverall)})` };
}

/** Counts of the pooled site rows in the scope, against each minimum the rule names. */
function minimum(rule: MinimumRule, i: number, m: ModelEntry, region: string | null): RuleVerdict {
  const n = scopeCounts(m, region);
  const checks: [string, number, number | undefined][] = [
    ['sites', n.sites, rule.minSites],
    ['cases', n.cases, rule.minCases],
    ['positives', n.positives, rule.minPositives],
    ['negatives', n.negatives, rule.minNegatives],
    [
      'positives',
      n.positives,
      rule.minClassShare === undefined ? undefined : Math.ceil(rule.minClassShare * n.cases),
    ],
    [
      'negatives',
      n.negatives,
      rule.minClassShare === undefined ? undefined : Math.ceil(rule.minClassShare * n.cases),
    ],
  ];
  const named = checks.filter((x): x is [string, number, number] => x[2] !== undefined);
  const unmet = named.filter(([, have, need]) => have < need);
  const text = (list: typeof named, op: string) =>
    list.map(([w, have, need]) => `${have} ${w} ${op} ${need}`).join(', ');
  const first = (unmet[0] ?? named[0]) as [string, number, number];
  if (unmet.length) return verdict(i, 'inconclusive', first[1], `minimum not met: ${text(unmet, '<')}`);
  return verdict(i, 'pass', first[1], text(named, '≥'));
}

/**
 * Each (model version, region) verdict of a comparison that carries them, as a rollout takes it: the
 * region's combined verdict (its own rules and the overall ones), and whether the criteria were post hoc.
 */
export function regionVerdicts(c: Comparison) {
  return c.models.flatMap((m) =>
    m.regions.flatMap((r) =>
      r.verdict
        ? [
            {
              modelId: m.modelId,
              regionId: r.region,
              verdict: r.verdict.verdict,
              postHoc: r.verdict.postHoc === true,
            },
          ]
        : [],
    ),
  );
}
