import { describe, expect, it } from 'vitest';
import type { Criteria } from '../../schemas/criteria.ts';
import type { Subgroup } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { buildComparison } from '../comparison/build-comparison.ts';
import { siteReport } from '../test-fixtures.ts';
import { withVerdicts } from './verdict.ts';

const model = { modelId: 'mdl_1', vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) };
const prop = (x: number, n: number) => ({
  ...(wilson(x, n) as { estimate: number; ciLow: number; ciHigh: number }),
  numerator: x,
  denominator: n,
  method: 'wilson' as const,
});
const subgroup = (value: string, tp: number, pos: number): Subgroup => ({
  attribute: 'sex',
  value,
  cases: 20,
  positives: pos,
  negatives: 20 - pos,
  confusion: { tp, fp: 1, tn: 19 - pos, fn: pos - tp },
  sensitivity: prop(tp, pos),
  specificity: prop(19 - pos, 20 - pos),
  ppv: prop(tp, tp + 1),
  npv: prop(19 - pos, 19 - pos + pos - tp),
  auc: { estimate: 0.85, se: 0.05, ciLow: 0.75, ciHigh: 0.95, method: 'delong' },
  suppressed: [],
});
const report = (siteId: string, male: number) => ({
  modelId: model.modelId,
  siteId,
  regionId: 'north',
  report: {
    ...siteReport({ campaignId: 'c', jobId: `j-${siteId}`, siteId, model: { ...model } }),
    subgroups: [subgroup('F', 9, 10), subgroup('M', male, 10)],
  },
});

describe('subgroup rule through the comparison', () => {
  const criteria: Criteria = {
    schema: 'cairn.criteria/v1',
    rules: [{ metric: 'sensitivity', scope: 'overall', subgroup: 'sex', maxBelowOverall: 0.1 }],
  };
  const judged = (male: number) => {
    const c = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [report('site-a', male), report('site-b', male), report('site-c', male)],
      subgroups: true,
    });
    return withVerdicts(c, { criteria, sha256: 'b'.repeat(64), postHoc: false, attachedAt: new Date() })
      .models[0]!.overall;
  };

  it('the comparison pools each subgroup; a subgroup wholly below overall − d fails, with its pooled CI lower end', () => {
    const overall = judged(2);
    const male = overall.subgroups?.find((s) => s.value === 'M');
    expect(male?.sensitivity.k).toBe(3);
    expect(overall.verdict?.rules[0]).toMatchObject({ verdict: 'fail', value: male?.sensitivity.ciLow });
  });

  it('subgroups no worse than the rest pass, and the comparison pools none unless asked', () => {
    expect(judged(9).verdict?.verdict).toBe('pass');
    const plain = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [report('site-a', 9)],
    });
    expect(plain.models[0]?.overall.subgroups).toBeUndefined();
  });
});
