import { describe, expect, it } from 'vitest';
import type { SiteReport } from '../../schemas/site-report.ts';
import {
  agentReport,
  base,
  CAMPAIGN,
  codeOf,
  EDGES,
  K5,
  negativesOnlyGroup,
  nullProp,
  withheldPositives,
} from './check-report.test-util.ts';
import { checkStoredReport } from './check-report.ts';

describe('checkReport on withheld classes', () => {
  const k5 = { binEdges: EDGES, minCell: 5 };
  const cases: [string, (r: SiteReport) => void][] = [
    [
      'cases released',
      (r) => {
        r.cases = 33;
      },
    ],
    [
      'the withheld class total released',
      (r) => {
        r.positives = 3;
      },
    ],
    [
      'its histogram released',
      (r) => {
        r.histogram.positives = new Array(20).fill(0);
      },
    ],
    [
      'the AUC released',
      (r) => {
        r.auc = { estimate: 0.8, se: 0.1, ciLow: 0.6, ciHigh: 1, method: 'delong' };
      },
    ],
    [
      'a subgroup released',
      (r) => {
        r.subgroups = [negativesOnlyGroup()];
      },
    ],
    [
      'withheld named but nothing null',
      (r) => {
        r.withheld = { ...r.withheld!, classes: ['negatives'] };
      },
    ],
    [
      'a class total null without withheld',
      (r) => {
        delete r.withheld;
      },
    ],
  ];
  for (const [name, mutate] of cases)
    it(`${name} → inconsistent-withheld`, () => {
      const r = withheldPositives();
      mutate(r);
      expect(codeOf(r, k5)).toBe('inconsistent-withheld');
    });
});

describe('checkStoredReport', () => {
  it('a row that is not a site report → invalid-report', () => {
    expect(checkStoredReport({ hello: 1 }, CAMPAIGN)).toMatchObject({ ok: false, code: 'invalid-report' });
  });
  it('a valid row comes back parsed', () => {
    expect(checkStoredReport(base(), CAMPAIGN)).toMatchObject({ ok: true, report: { cases: 40 } });
  });
});

describe('checkReport on subgroups', () => {
  const gated = () => {
    const r = agentReport(4, 300);
    expect(r.subgroups?.length).toBeGreaterThan(2);
    return r;
  };

  it('a report the agent did not gate (small groups and cells released) → under-suppressed', () => {
    const raw = agentReport(4, 300, { raw: true });
    raw.minCell = 5;
    expect(codeOf(raw, K5)).toBe('under-suppressed');
  });

  it("a subgroup dropped (the groups no longer add up to the site's) → inconsistent-counts", () => {
    const r = gated();
    r.subgroups = r.subgroups?.slice(1);
    expect(codeOf(r, K5)).toBe('inconsistent-counts');
  });

  it('a subgroup value repeated → inconsistent-counts', () => {
    const r = gated();
    r.subgroups = [...(r.subgroups ?? []), structuredClone(r.subgroups?.[0])].filter((g) => g !== undefined);
    expect(codeOf(r, K5)).toBe('inconsistent-counts');
  });

  it('one group alone hiding a class pair the site releases (recoverable by subtraction) → under-suppressed', () => {
    const r = gated();
    const pairs = [
      ['tp', 'fn'],
      ['fp', 'tn'],
    ] as const;
    const [a, b] = pairs.find(([x]) => r.confusion[x] !== null) ?? pairs[0];
    const g = r.subgroups?.find((x) => x.confusion[a] !== null && x.confusion[b] !== null);
    if (!g) throw new Error('the fixture has no group releasing the pair');
    g.confusion[a] = null;
    g.confusion[b] = null;
    for (const m of ['sensitivity', 'specificity', 'ppv', 'npv'] as const) g[m] = nullProp('suppressed');
    expect(codeOf(r, K5)).toBe('under-suppressed');
  });

  it('a subgroup AUC outside its interval → inconsistent-estimate', () => {
    const r = gated();
    const g = r.subgroups?.find((x) => x.auc.estimate !== null && x.auc.ciHigh !== null);
    if (!g) throw new Error('the fixture has no subgroup AUC');
    g.auc.estimate = Math.min(1, (g.auc.ciHigh as number) + 0.01);
    g.auc.ciHigh = Math.max(0, (g.auc.ciHigh as number) - 0.05);
    expect(codeOf(r, K5)).toBe('inconsistent-estimate');
  });
});

describe('checkReport on the paired comparison', () => {
  const paired = (over: Partial<NonNullable<SiteReport['paired']>>): SiteReport => ({
    ...base(),
    paired: {
      aucA: 0.86,
      aucB: 0.8,
      difference: 0.06,
      se: 0.03,
      z: 2,
      p: 0.0455,
      covariance: [
        [0.0025, 0.002],
        [0.002, 0.003],
      ],
      method: 'delong-paired',
      ...over,
    },
  });
  it('consistent → ok', () => expect(codeOf(paired({}))).toBe('ok'));
  it('difference ≠ aucA − aucB → inconsistent-estimate', () =>
    expect(codeOf(paired({ difference: 0.5 }))).toBe('inconsistent-estimate'));
  it('se 1e308 → absurd-value', () => expect(codeOf(paired({ se: 1e308 }))).toBe('absurd-value'));
});
