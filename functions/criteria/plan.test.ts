import { describe, expect, it } from 'vitest';
import type { Criteria } from '../../schemas/criteria.ts';
import { lowerBoundAt, minSampleForLowerBound } from '../../stats/sample-size.ts';
import { planCriteria } from './plan.ts';
import { criteriaTemplate } from './templates.ts';

const A = { prevalence: 0.2, sensitivity: 0.9, specificity: 0.92, sites: 4, method: 'wilson' as const };

describe('criteria plan', () => {
  it('triage: the positives (negatives) for the CI lower end at the expected value to reach 0.80, scaled by prevalence', () => {
    const [sens, spec] = planCriteria(criteriaTemplate('triage'), A);
    const nPos = minSampleForLowerBound(0.9, 0.8, 'wilson') as number;
    const nNeg = minSampleForLowerBound(0.92, 0.8, 'wilson') as number;
    expect(sens).toMatchObject({ rule: 0, scope: 'region', cases: Math.ceil(nPos / 0.2), positives: nPos });
    expect(sens?.casesPerSite).toBe(Math.ceil((sens?.cases as number) / 4));
    expect(spec?.negatives).toBeGreaterThanOrEqual(nNeg);
    expect(lowerBoundAt(0.9, sens?.positives as number, 'wilson')).toBeGreaterThanOrEqual(0.8);
    // Clopper–Pearson is the wider interval: it needs more.
    const [cp] = planCriteria(criteriaTemplate('triage'), { ...A, method: 'clopper-pearson' });
    expect(cp?.positives as number).toBeGreaterThan(nPos);
  });

  it('minimum sample: 400 studies with at least 10 % of each class; a prevalence below the share cannot meet it', () => {
    const [overall] = planCriteria(criteriaTemplate('minimum-sample'), { ...A, prevalence: 0.05 });
    expect(overall).toMatchObject({ cases: null, reason: expect.stringMatching(/class under 0.1/) });
    const [met] = planCriteria(criteriaTemplate('minimum-sample'), A);
    expect(met).toMatchObject({ cases: 400, positives: 80, negatives: 320, casesPerSite: 100 });
  });

  it('rules it cannot size say why: an expected value below the goal, AUC, non-inferiority, prediction intervals', () => {
    const criteria: Criteria = {
      schema: 'cairn.criteria/v1',
      rules: [
        { metric: 'sensitivity', scope: 'overall', bound: 'ciLow', atLeast: 0.95 },
        { metric: 'auc', scope: 'overall', bound: 'ciLow', atLeast: 0.8 },
        { metric: 'auc', versus: 'x@1.0.0', margin: 0.05 },
        { metric: 'specificity', scope: 'region', bound: 'predictionLow', atLeast: 0.8 },
        { metric: 'ppv', scope: 'overall', bound: 'ciLow', atLeast: 0.6 },
      ],
    };
    const rows = planCriteria(criteria, A);
    expect(rows.slice(0, 4).map((r) => r.cases)).toEqual([null, null, null, null]);
    expect(rows.slice(0, 4).every((r) => (r.reason ?? '').length > 0)).toBe(true);
    // PPV at these values: 0.18 / (0.18 + 0.064) ≈ 0.738; its denominator is the studies called positive.
    const ppv = rows[4];
    const expected = (0.9 * 0.2) / (0.9 * 0.2 + 0.08 * 0.8);
    const n = minSampleForLowerBound(expected, 0.6, 'wilson') as number;
    expect(ppv?.cases).toBe(Math.ceil(n / (0.9 * 0.2 + 0.08 * 0.8) - 1e-9));
  });
});
