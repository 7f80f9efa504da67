import { describe, expect, it } from 'vitest';
import { Comparison, type PooledEstimate } from '../../schemas/comparison.ts';
import type { Criteria, CriteriaRule } from '../../schemas/criteria.ts';
import { regionVerdicts, withVerdicts } from './verdict.ts';

const SHA = 'a'.repeat(64);
const AT = new Date('2026-12-01T00:00:00.000Z');

const est = (
  estimate: number | null,
  ciLow: number | null,
  ciHigh: number | null,
  more = {},
): PooledEstimate => ({
  estimate,
  ciLow,
  ciHigh,
  tau2: 0,
  i2: 0,
  k: 2,
  method: 'DL',
  ...more,
});
const group = (over: Partial<Comparison['models'][number]['overall']> = {}) => ({
  auc: est(0.9, 0.85, 0.95),
  sensitivity: est(0.85, 0.8, 0.9),
  specificity: est(0.82, 0.78, 0.86),
  ...over,
});
const site = (id: string, region: string, cases: number, positives: number) => ({
  site: id,
  region,
  status: 'pooled' as const,
  cases,
  positives,
  negatives: cases - positives,
  excluded: {},
  auc: null,
  sensitivity: null,
  specificity: null,
});
const model = (id: string, version: string, over: { north?: object; overall?: object } = {}) => ({
  modelId: id,
  vendor: 'acme',
  name: 'cxr',
  version,
  sha256: SHA,
  sites: [site('a', 'north', 300, 60), site('b', 'north', 200, 30), site('c', 'south', 100, 5)],
  regions: [
    { region: 'north', ...group(over.north) },
    { region: 'south', ...group() },
  ],
  overall: group(over.overall),
});
const contrast = (modelA: string, modelB: string, estimate: number, ciLow: number, ciHigh: number) => ({
  modelA,
  modelB,
  estimate,
  se: 0.01,
  ciLow,
  ciHigh,
  statistic: 1,
  p: 0.3,
  tau2: 0,
  i2: 0,
  k: 3,
  kPaired: 3,
  kUnpaired: 0,
  method: 'DL' as const,
  test: 'z' as const,
  predictionLow: null,
  predictionHigh: null,
});

function judge(
  rules: CriteriaRule[],
  models = [model('m1', '1.0.0')],
  contrasts?: ReturnType<typeof contrast>[],
  postHoc = false,
) {
  const c: Comparison = { generatedAt: AT.toISOString(), models, ...(contrasts ? { contrasts } : {}) };
  const criteria: Criteria = { schema: 'cairn.criteria/v1', rules };
  const out = withVerdicts(c, { criteria, sha256: SHA, postHoc, attachedAt: AT });
  // What the API sends must still be a comparison by its own schema.
  expect(Comparison.parse(out)).toEqual(out);
  return out;
}
const overallRule = (c: Comparison, model = 0, rule = 0) => c.models[model]?.overall.verdict?.rules[rule];

describe('verdict engine: bound rules', () => {
  it('ciLow: equal to the goal passes; straddling is inconclusive; wholly below fails (value = the comparison’s ciLow)', () => {
    const rule = (atLeast: number): CriteriaRule => ({
      metric: 'sensitivity',
      scope: 'overall',
      bound: 'ciLow',
      atLeast,
    });
    expect(overallRule(judge([rule(0.8)]))).toMatchObject({ verdict: 'pass', value: 0.8 });
    expect(overallRule(judge([rule(0.85)]))).toMatchObject({ verdict: 'inconclusive', value: 0.8 });
    expect(overallRule(judge([rule(0.9)]))).toMatchObject({ verdict: 'inconclusive' }); // ciHigh = goal: not below
    expect(overallRule(judge([rule(0.91)]))).toMatchObject({ verdict: 'fail', value: 0.8 });
  });

  it('estimate: at the goal passes, below fails; a null estimate is inconclusive with its reason', () => {
    const rule = (atLeast: number): CriteriaRule => ({
      metric: 'auc',
      scope: 'overall',
      bound: 'estimate',
      atLeast,
    });
    expect(overallRule(judge([rule(0.9)]))).toMatchObject({ verdict: 'pass', value: 0.9 });
    expect(overallRule(judge([rule(0.9000001)]))).toMatchObject({ verdict: 'fail', value: 0.9 });
    const none = model('m1', '1.0.0', { overall: { auc: est(null, null, null, { reason: 'no sites' }) } });
    expect(overallRule(judge([rule(0.5)], [none]))).toMatchObject({
      verdict: 'inconclusive',
      value: null,
      reason: expect.stringMatching(/no sites/),
    });
  });

  it('predictionLow: decided on the prediction interval; without one (too few sites) inconclusive', () => {
    const rule: CriteriaRule = { metric: 'auc', scope: 'overall', bound: 'predictionLow', atLeast: 0.8 };
    expect(overallRule(judge([rule]))).toMatchObject({ verdict: 'inconclusive', value: null });
    const wide = model('m1', '1.0.0', {
      overall: { auc: est(0.9, 0.85, 0.95, { predictionLow: 0.7, predictionHigh: 0.99 }) },
    });
    expect(overallRule(judge([rule], [wide]))).toMatchObject({ verdict: 'inconclusive', value: 0.7 });
    const narrow = model('m1', '1.0.0', {
      overall: { auc: est(0.9, 0.85, 0.95, { predictionLow: 0.81, predictionHigh: 0.97 }) },
    });
    expect(overallRule(judge([rule], [narrow]))).toMatchObject({ verdict: 'pass', value: 0.81 });
  });

  it('ppv: inconclusive where the comparison does not carry it (older output), judged like the others where it does', () => {
    const rule: CriteriaRule = { metric: 'ppv', scope: 'overall', bound: 'ciLow', atLeast: 0.6 };
    expect(overallRule(judge([rule]))).toMatchObject({
      verdict: 'inconclusive',
      value: null,
      reason: expect.stringMatching(/not pooled/),
    });
    const pooled = model('m1', '1.0.0', { overall: { ppv: est(0.7, 0.62, 0.77) } });
    expect(overallRule(judge([rule], [pooled]))).toMatchObject({ verdict: 'pass', value: 0.62 });
  });

  it('region rules are judged on each region’s pool; a region’s verdict also carries the overall rules', () => {
    const low = model('m1', '1.0.0', { north: { sensitivity: est(0.7, 0.6, 0.75) } });
    const c = judge(
      [
        { metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast: 0.78 },
        { metric: 'auc', scope: 'overall', bound: 'ciLow', atLeast: 0.8 },
      ],
      [low],
    );
    const [north, south] = c.models[0]!.regions;
    expect(north?.verdict).toEqual({
      verdict: 'fail',
      rules: [
        { rule: 0, verdict: 'fail', value: 0.6, reason: expect.any(String) },
        { rule: 1, verdict: 'pass', value: 0.85, reason: expect.any(String) },
      ],
    });
    expect(south?.verdict?.verdict).toBe('pass');
    expect(c.models[0]?.overall.verdict?.rules.map((r) => r.rule)).toEqual([1]);
    expect(regionVerdicts(c)).toEqual([
      { modelId: 'm1', regionId: 'north', verdict: 'fail', postHoc: false },
      { modelId: 'm1', regionId: 'south', verdict: 'pass', postHoc: false },
    ]);
  });
});

describe('verdict engine: non-inferiority on the within-site-first AUC difference', () => {
  const ni: CriteriaRule = { metric: 'auc', versus: 'cxr@1.0.0', margin: 0.05 };
  const two = [model('m1', '1.0.0'), model('m2', '2.0.0')];

  it('lower end ≥ −margin passes; straddling is inconclusive; wholly below fails; the reference gets no such rule', () => {
    const v = (lo: number, hi: number) =>
      overallRule(judge([ni], two, [contrast('m2', 'm1', (lo + hi) / 2, lo, hi)]), 1);
    expect(v(-0.05, 0.01)).toMatchObject({ verdict: 'pass', value: -0.05 });
    expect(v(-0.08, 0.01)).toMatchObject({ verdict: 'inconclusive', value: -0.08 });
    expect(v(-0.12, -0.06)).toMatchObject({ verdict: 'fail', value: -0.12 });
    const c = judge([ni], two, [contrast('m2', 'm1', 0, -0.01, 0.01)]);
    expect(c.models[0]?.overall.verdict).toEqual({ verdict: 'inconclusive', rules: [] });
  });

  it('a contrast listed the other way round (reference − this) is flipped', () => {
    const c = judge([ni], two, [contrast('m1', 'm2', 0.03, -0.01, 0.07)]);
    expect(overallRule(c, 1)).toMatchObject({ verdict: 'inconclusive', value: -0.07 });
  });

  it('no contrast (no site reported both) or a reference not in the comparison: inconclusive', () => {
    expect(overallRule(judge([ni], two), 1)).toMatchObject({ verdict: 'inconclusive', value: null });
    const other: CriteriaRule = { metric: 'auc', versus: 'cxr@0.9.0', margin: 0.05 };
    expect(overallRule(judge([other], two), 1)?.reason).toMatch(/not in this comparison/);
  });
});

describe('verdict engine: subgroups and minimums', () => {
  const sub: CriteriaRule = {
    metric: 'sensitivity',
    scope: 'overall',
    subgroup: 'sex',
    maxBelowOverall: 0.1,
  };
  const withSubgroups = (f: [number, number], m: [number, number]) =>
    model('m1', '1.0.0', {
      overall: {
        subgroups: [
          {
            attribute: 'sex',
            value: 'F',
            auc: est(0.9, 0.8, 1),
            sensitivity: est(0.8, ...f),
            specificity: est(0.8, 0.7, 0.9),
          },
          {
            attribute: 'sex',
            value: 'M',
            auc: est(0.9, 0.8, 1),
            sensitivity: est(0.8, ...m),
            specificity: est(0.8, 0.7, 0.9),
          },
          {
            attribute: 'ageBand',
            value: '75+',
            auc: est(0.5, 0.1, 0.6),
            sensitivity: est(0.1, 0, 0.2),
            specificity: est(0.1, 0, 0.2),
          },
        ],
      },
    });

  it('every subgroup’s CI lower end ≥ overall − d passes; one wholly below fails; straddling is inconclusive', () => {
    // overall sensitivity 0.85 − 0.1 = 0.75
    expect(overallRule(judge([sub], [withSubgroups([0.76, 0.9], [0.75, 0.9])]))).toMatchObject({
      verdict: 'pass',
      value: 0.75,
    });
    expect(overallRule(judge([sub], [withSubgroups([0.76, 0.9], [0.6, 0.74])]))).toMatchObject({
      verdict: 'fail',
      value: 0.6,
    });
    expect(overallRule(judge([sub], [withSubgroups([0.7, 0.9], [0.76, 0.9])]))).toMatchObject({
      verdict: 'inconclusive',
      value: 0.7,
    });
  });

  it('a comparison without pooled subgroups leaves the rule inconclusive', () => {
    expect(overallRule(judge([sub]))).toMatchObject({ verdict: 'inconclusive', value: null });
  });

  it('minimums count the pooled site rows of the scope; one not met makes the scope inconclusive even when a rule fails', () => {
    const rules: CriteriaRule[] = [
      { scope: 'region', minSites: 2, minCases: 400, minClassShare: 0.1 },
      { metric: 'auc', scope: 'region', bound: 'estimate', atLeast: 0.95 },
    ];
    const [north, south] = judge(rules).models[0]!.regions;
    // north: 2 sites, 500 cases, 90 positives (≥ 50), 410 negatives; the AUC rule fails, so the region fails.
    expect(north?.verdict?.rules[0]).toMatchObject({ verdict: 'pass', value: 2 });
    expect(north?.verdict?.verdict).toBe('fail');
    // south: 1 site, 100 cases: not enough to decide.
    expect(south?.verdict?.rules[0]).toMatchObject({
      verdict: 'inconclusive',
      value: 1,
      reason: 'minimum not met: 1 sites < 2, 100 cases < 400, 5 positives < 10',
    });
    expect(south?.verdict?.verdict).toBe('inconclusive');
  });

  it('all rules passing passes; post hoc criteria are marked so on every verdict', () => {
    const c = judge([{ scope: 'overall', minSites: 3, minPositives: 95 }], undefined, undefined, true);
    expect(c.models[0]?.overall.verdict).toMatchObject({ verdict: 'pass', postHoc: true });
    expect(c.models[0]?.regions.every((r) => r.verdict?.postHoc === true)).toBe(true);
    expect(c.criteria).toEqual({ sha256: SHA, postHoc: true, attachedAt: AT.toISOString() });
  });
});
