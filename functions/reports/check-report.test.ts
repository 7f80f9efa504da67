import { describe, expect, it } from 'vitest';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../../edge-agent/report/site-report.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import {
  agentReport,
  base,
  CAMPAIGN,
  codeOf,
  EDGES,
  fixedRandom,
  IDS,
  K5,
  nullProp,
  prop,
  withheldPositives,
} from './check-report.test-util.ts';
import { checkReport } from './check-report.ts';

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
