import { describe, expect, it } from 'vitest';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../../edge-agent/report/site-report.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/oracles.ts';
import { siteReport } from '../test-fixtures.ts';
import { type CampaignRules, checkReport, checkStoredReport } from './check-report.ts';

const EDGES = equalWidthEdges(20);
const CAMPAIGN: CampaignRules = { binEdges: EDGES, minCell: 3 };
const IDS = {
  campaignId: 'camp_1',
  jobId: 'job_1',
  siteId: 'site-a',
  model: { vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) },
};

const base = () => siteReport(IDS);
const codeOf = (r: SiteReport, campaign = CAMPAIGN) => {
  const c = checkReport(r, campaign);
  return c.ok ? 'ok' : c.code;
};
const prop = (x: number, n: number) => ({
  ...(wilson(x, n) as { estimate: number; ciLow: number; ciHigh: number }),
  numerator: x,
  denominator: n,
  method: 'wilson' as const,
});
const nullProp = (reason: 'suppressed' | 'insufficient-class-size') => ({
  estimate: null,
  ciLow: null,
  ciHigh: null,
  numerator: null,
  denominator: null,
  method: 'wilson' as const,
  reason,
});

/** A report of 3 positives (below k = 5) and 30 negatives, withheld the way the gate withholds it. */
function withheldPositives(): SiteReport {
  const r = base();
  const negatives = new Array(20).fill(0);
  negatives[4] = 30;
  return {
    ...r,
    minCell: 5,
    cases: null,
    positives: null,
    negatives: 30,
    withheld: { reason: 'insufficient-class-size', classes: ['positives'] },
    confusion: { tp: null, fn: null, fp: 5, tn: 25 },
    sensitivity: nullProp('insufficient-class-size'),
    specificity: prop(25, 30),
    ppv: nullProp('insufficient-class-size'),
    npv: nullProp('insufficient-class-size'),
    auc: {
      estimate: null,
      se: null,
      ciLow: null,
      ciHigh: null,
      method: 'delong',
      reason: 'insufficient-class-size',
    },
    histogram: { edges: EDGES, positives: null, negatives },
    suppressed: ['confusion.tp', 'confusion.fn', 'sensitivity', 'ppv', 'npv'],
  };
}

/** A report the agent's own code builds (and, unless `raw`, gates at k = 5): `n` studies with subgroups. */
function agentReport(seed: number, n: number, opts: { raw?: boolean; dp?: boolean } = {}): SiteReport {
  const rand = seededRandom(seed);
  const outcomes = Array.from({ length: n }, () => {
    const label = rand() < 0.3 ? 1 : 0;
    return {
      score: Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (rand() - 0.5) * 0.8)),
      label: label as 0 | 1,
      attributes: { sex: rand() < 0.5 ? 'F' : 'M', manufacturer: ['GE', 'SIEMENS', 'AGFA'][seed % 3] ?? '' },
    };
  });
  const raw = buildSiteReport({
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    ...IDS,
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: EDGES,
    outcomes,
    excluded: {},
    images: { seen: n, used: n },
  });
  if (opts.raw) return raw;
  return privacyGate(raw, {
    minCell: 5,
    ...(opts.dp ? { dp: { epsilon: 1, random: fixedRandom(seed) } } : {}),
  });
}

/** A seeded uniform integer source for the DP sampler. */
function fixedRandom(seed: number) {
  const rand = seededRandom(seed);
  return (max: number) => Math.floor(rand() * max);
}

const K5 = { binEdges: EDGES, minCell: 5 };

describe('checkReport accepts what an honest agent sends', () => {
  it('the fixture report', () => expect(checkReport(base(), CAMPAIGN)).toEqual({ ok: true }));

  it('reports built and gated by the real agent code, with subgroups, at k = 5 (20 random sites)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const gated = agentReport(seed, 30 + ((seed * 37) % 300));
      expect(checkReport(gated, K5), `seed ${seed}`).toEqual({ ok: true });
    }
  });

  it('any gated report, of any size, k, prevalence and four attributes, passes unless a class has 1..k−1 cases', () => {
    let refused = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const rand = seededRandom(1000 + seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
      const n = Math.floor(rand() * 400);
      const prevalence = rand() * 0.6;
      const k = pick([3, 5, 10]);
      const outcomes = Array.from({ length: n }, () => {
        const label = (rand() < prevalence ? 1 : 0) as 0 | 1;
        const attributes = {
          sex: pick(['F', 'M', 'O']),
          age: String(Math.floor(rand() * 95)),
          manufacturer: pick(['GE', 'SIEMENS', 'AGFA', 'FUJI', 'X']),
          bodyPart: pick(['CHEST', 'ABD']),
        };
        return { score: Math.min(1, Math.max(0, (label ? 0.6 : 0.4) + (rand() - 0.5))), label, attributes };
      });
      const raw = buildSiteReport({
        reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
        ...IDS,
        agentVersion: '0.1.0',
        threshold: 0.5,
        binEdges: EDGES,
        outcomes,
        excluded: {},
        images: { seen: n, used: n },
      });
      const dp = seed % 5 === 0 ? { dp: { epsilon: 1, random: fixedRandom(seed) } } : {};
      const gated = privacyGate(raw, { minCell: k, ...dp });
      const check = checkReport(gated, { binEdges: EDGES, minCell: k });
      const small = (x: number | null) => x !== null && x >= 1 && x < k;
      // A gate that releases such a class's total instead of withholding it (schemas/site-report.ts
      // `withheld`, which a withheld report must then satisfy) is refused.
      if (gated.withheld === undefined && (small(gated.positives) || small(gated.negatives))) {
        expect(check, `seed ${seed}`).toMatchObject({ ok: false, code: 'under-suppressed' });
        refused++;
      } else expect(check, `seed ${seed}`).toEqual({ ok: true });
    }
    expect(refused).toBeLessThan(50);
  });

  it('reports released with differential privacy (noisy counts, everything derived from them)', () => {
    for (let seed = 1; seed <= 10; seed++)
      expect(checkReport(agentReport(seed, 200, { dp: true }), K5), `seed ${seed}`).toEqual({ ok: true });
  });

  it('a consistently withheld class', () => {
    expect(checkReport(withheldPositives(), { binEdges: EDGES, minCell: 5 })).toEqual({ ok: true });
  });
});

describe('checkReport refuses an inconsistent report, with the reason', () => {
  const cases: [string, (r: SiteReport) => void, string][] = [
    [
      'tp + fn ≠ positives',
      (r) => {
        r.confusion.tp = 17;
      },
      'inconsistent-counts',
    ],
    [
      'fp + tn ≠ negatives',
      (r) => {
        r.confusion.tn = 18;
      },
      'inconsistent-counts',
    ],
    [
      'cases ≠ positives + negatives',
      (r) => {
        r.cases = 41;
      },
      'inconsistent-counts',
    ],
    [
      'histogram total ≠ class total',
      (r) => {
        r.histogram.positives![15] = 21;
      },
      'inconsistent-counts',
    ],
    [
      'numerator > denominator',
      (r) => {
        r.sensitivity = { ...r.sensitivity, numerator: 25, denominator: 20 };
      },
      'inconsistent-counts',
    ],
    [
      "a proportion's counts not matching its cells",
      (r) => {
        r.sensitivity = prop(15, 20);
      },
      'inconsistent-counts',
    ],
    [
      'an estimate that is not numerator / denominator',
      (r) => {
        r.sensitivity.estimate = 0.5;
      },
      'inconsistent-estimate',
    ],
    [
      'a CI that is not the Wilson interval',
      (r) => {
        r.specificity.ciLow = 0.5;
      },
      'inconsistent-estimate',
    ],
    [
      'a Clopper–Pearson label on a Wilson interval',
      (r) => {
        r.ppv.method = 'clopper-pearson';
      },
      'inconsistent-estimate',
    ],
    [
      'an AUC outside its CI',
      (r) => {
        r.auc.ciLow = 0.9;
      },
      'inconsistent-estimate',
    ],
    [
      'an absurd AUC se',
      (r) => {
        r.auc.se = 1e308;
      },
      'absurd-value',
    ],
    [
      'an AUC se > 1',
      (r) => {
        r.auc.se = 1.5;
      },
      'absurd-value',
    ],
    [
      'an absurd count',
      (r) => {
        r.images.seen = 1e12;
      },
      'absurd-value',
    ],
    [
      'images used > seen',
      (r) => {
        r.images.used = 50;
      },
      'inconsistent-counts',
    ],
    [
      'histogram on other edges',
      (r) => {
        r.histogram.edges = r.histogram.edges.map((e, i) => (i === 3 ? e + 0.01 : e));
      },
      'foreign-histogram-edges',
    ],
    [
      'histogram with other outer edges',
      (r) => {
        r.histogram.edges = r.histogram.edges.map((e, i) => (i === 20 ? 1.5 : e));
      },
      'foreign-histogram-edges',
    ],
    [
      'a declared minCell below the campaign',
      (r) => {
        r.minCell = 2;
      },
      'min-cell-below-campaign',
    ],
    [
      'a cell in 1..k−1',
      (r) => {
        r.confusion = { tp: 18, fn: 2, fp: 3, tn: 17 };
        r.sensitivity = prop(18, 20);
        r.ppv = prop(18, 21);
        r.npv = prop(17, 19);
      },
      'under-suppressed',
    ],
    [
      'a histogram bin in 1..k−1',
      (r) => {
        r.histogram.positives![15] = 18;
        r.histogram.positives![16] = 2;
      },
      'under-suppressed',
    ],
    [
      'one cell of a class pair withheld alone',
      (r) => {
        r.confusion.fn = null;
        r.sensitivity = nullProp('suppressed');
        r.npv = nullProp('suppressed');
      },
      'under-suppressed',
    ],
    [
      'an estimate released without its counts',
      (r) => {
        r.sensitivity = { ...r.sensitivity, numerator: null, denominator: null };
      },
      'under-suppressed',
    ],
  ];
  for (const [name, mutate, code] of cases)
    it(`${name} → ${code}`, () => {
      const r = base();
      mutate(r);
      expect(codeOf(r)).toBe(code);
    });

  it('messages name fields, never values', () => {
    const r = base();
    r.auc.se = 1234.5678;
    const c = checkReport(r, CAMPAIGN);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.message).not.toMatch(/1234/);
  });
});

/** A subgroup of the withheld report's 30 negatives, all of them. */
function negativesOnlyGroup(): NonNullable<SiteReport['subgroups']>[number] {
  const empty = { ...nullProp('suppressed'), numerator: 0, denominator: 0, reason: 'no-positives' as const };
  return {
    attribute: 'sex',
    value: 'F',
    cases: 30,
    positives: 0,
    negatives: 30,
    confusion: { tp: 0, fn: 0, fp: 5, tn: 25 },
    sensitivity: empty,
    specificity: prop(25, 30),
    ppv: prop(0, 5),
    npv: prop(25, 25),
    auc: { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: 'no-positives' },
    suppressed: [],
  };
}

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
