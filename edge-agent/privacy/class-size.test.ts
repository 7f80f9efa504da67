import { describe, expect, it } from 'vitest';
import { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildSiteReport, type FullSiteReport, type Outcome } from '../report/site-report.ts';
import { PrivacyGateError, privacyGate } from './gate.ts';

/** Cases of one class with scores spread over [0, 1), each with a subgroup attribute and a second score. */
function cases(n: number, label: 0 | 1, seed: number): Outcome[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const score = Math.min(0.999, Math.max(0, (label ? 0.62 : 0.38) + (rand() - 0.5) * 0.7));
    return { score, label, scoreB: rand(), attributes: { sex: i % 2 ? 'F' : 'M', manufacturer: 'GE' } };
  });
}

function report(positives: Outcome[], negatives: Outcome[]): FullSiteReport {
  const outcomes = [...positives, ...negatives];
  return buildSiteReport({
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    campaignId: 'camp_1',
    jobId: 'job-7',
    siteId: 'site-a',
    model: { vendor: 'acme', name: 'cxr-net', version: '1.2.0', sha256: 'b'.repeat(64) },
    modelB: { vendor: 'acme', name: 'cxr-net', version: '1.1.0', sha256: 'c'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: equalWidthEdges(10),
    outcomes,
    excluded: { 'no-label': 2 },
    // One image per study, as in chest X-ray: used − no-label would be `cases`.
    images: { seen: outcomes.length + 2, used: outcomes.length + 2 },
  });
}

const withheldProportion = {
  estimate: null,
  ciLow: null,
  ciHigh: null,
  numerator: null,
  denominator: null,
  method: 'wilson',
  reason: 'insufficient-class-size',
};

describe('privacy gate rule 0: a class with 1..k−1 cases is withheld', () => {
  for (const k of [5, 11]) {
    it(`k = ${k}: positives 0 and k are released; 1..k−1 are withheld with everything built on them`, () => {
      const negatives = cases(40, 0, 1);
      for (let p = 0; p <= k; p++) {
        const full = report(cases(p, 1, 100 + p), negatives);
        const g = privacyGate(full, { minCell: k });
        expect(SiteReport.safeParse(g).success).toBe(true);
        if (p === 0 || p === k) {
          expect(g.withheld, `p = ${p}`).toBeUndefined();
          expect([g.cases, g.positives, g.negatives]).toEqual([40 + p, p, 40]);
          expect(g.images).toEqual(full.images);
          expect(g.histogram.positives?.reduce((s, x) => s + x, 0)).toBe(p);
          continue;
        }
        expect(g.withheld, `p = ${p}`).toEqual({ reason: 'insufficient-class-size', classes: ['positives'] });
        expect([g.cases, g.positives, g.negatives]).toEqual([null, null, 40]);
        expect(g.images).toEqual({ seen: null, used: null });
        expect(g.confusion.tp).toBeNull();
        expect(g.confusion.fn).toBeNull();
        for (const m of ['sensitivity', 'ppv', 'npv'] as const) expect(g[m]).toEqual(withheldProportion);
        expect(g.auc).toEqual({
          estimate: null,
          se: null,
          ciLow: null,
          ciHigh: null,
          method: 'delong',
          reason: 'insufficient-class-size',
        });
        expect(g.calibration).toMatchObject({ brier: null, slope: null, reason: 'insufficient-class-size' });
        expect(g.paired).toMatchObject({ aucA: null, difference: null, reason: 'insufficient-class-size' });
        expect(g.paired?.modelB?.version).toBe('1.1.0');
        expect(g.subgroups).toBeUndefined();
        expect(g.histogram.positives).toBeNull();
        expect(g.histogram.negatives?.reduce((s, x) => s + x, 0)).toBe(40);
        // The negatives' own statistics stay, when their cells pass the cell rule.
        if (g.confusion.fp !== null) expect(g.specificity).toEqual(full.specificity);
        expect(g.suppressed).toEqual(expect.arrayContaining(['confusion.tp', 'confusion.fn', 'sensitivity']));
      }
    });

    it(`k = ${k}: negatives 0 and k are released; 1..k−1 are withheld`, () => {
      const positives = cases(30, 1, 2);
      for (let n = 0; n <= k; n++) {
        const g = privacyGate(report(positives, cases(n, 0, 200 + n)), { minCell: k });
        if (n === 0 || n === k) {
          expect(g.withheld, `n = ${n}`).toBeUndefined();
          expect(g.negatives).toBe(n);
          continue;
        }
        expect(g.withheld?.classes, `n = ${n}`).toEqual(['negatives']);
        expect([g.cases, g.positives, g.negatives]).toEqual([null, 30, null]);
        expect([g.confusion.fp, g.confusion.tn]).toEqual([null, null]);
        for (const m of ['specificity', 'ppv', 'npv'] as const) expect(g[m]).toEqual(withheldProportion);
        expect(g.histogram.negatives).toBeNull();
        expect(g.auc.reason).toBe('insufficient-class-size');
      }
    });

    it(`k = ${k}: nothing released depends on the withheld total (every 1..k−1 gives the same report)`, () => {
      // Derivability: if any released number (cases, images, a cell, an edge, a subgroup) still depended on
      // the withheld count, two of these reports would differ.
      for (const [label, other] of [
        [1, cases(37, 0, 3)],
        [0, cases(37, 1, 4)],
      ] as const) {
        const released = new Set<string>();
        for (let c = 1; c < k; c++) {
          const small = cases(c, label, 300 + c);
          const full = label === 1 ? report(small, other) : report(other, small);
          released.add(JSON.stringify(privacyGate(full, { minCell: k })));
        }
        expect(released.size, `label ${label}`).toBe(1);
      }
    });
  }

  it('both classes small: every count and statistic is withheld; the edges are the campaign’s outer ones', () => {
    const g = privacyGate(report(cases(3, 1, 5), cases(2, 0, 6)), { minCell: 5 });
    expect(g.withheld?.classes).toEqual(['positives', 'negatives']);
    expect(g.confusion).toEqual({ tp: null, fp: null, tn: null, fn: null });
    for (const m of ['sensitivity', 'specificity', 'ppv', 'npv'] as const)
      expect(g[m]).toEqual(withheldProportion);
    expect(g.histogram).toEqual({ edges: [0, 1], positives: null, negatives: null });
    expect(g.excluded).toEqual({ 'no-label': 2 });
  });

  it('is idempotent, and a lower k never releases what a higher one withheld', () => {
    const g = privacyGate(report(cases(4, 1, 7), cases(60, 0, 8)), { minCell: 5 });
    expect(privacyGate(g, { minCell: 5 })).toEqual(g);
    expect(privacyGate(g, { minCell: 0 })).toEqual(g);
    const higher = privacyGate(g, { minCell: 11 });
    expect(higher.withheld?.classes).toEqual(['positives']);
    expect(privacyGate(higher, { minCell: 11 })).toEqual(higher);
  });

  it('refuses a report whose nulls do not match `withheld` (it could hide a released total)', () => {
    const g = privacyGate(report(cases(4, 1, 7), cases(60, 0, 8)), { minCell: 5 });
    const { withheld: _w, ...unnamed } = g;
    expect(() => privacyGate(unnamed as SiteReport, { minCell: 5 })).toThrow(/withheld/);
    expect(() => privacyGate({ ...g, cases: 64 }, { minCell: 5 })).toThrow(/cases/);
    expect(() => privacyGate({ ...g, images: { seen: 66, used: 66 } }, { minCell: 5 })).toThrow(/images/);
    expect(() => privacyGate({ ...g, confusion: { ...g.confusion, tp: 4, fn: 0 } }, { minCell: 5 })).toThrow(
      PrivacyGateError,
    );
    expect(() => privacyGate(g, { minCell: 5, dp: { epsilon: 1 } })).toThrow(/full report/);
  });

  it('with differential privacy the rule applies to the noisy totals', () => {
    const uniform = seededRandom(11);
    const random = (max: number) => Math.floor(uniform() * max);
    // ε = 200: the noise is almost surely 0, so 3 positives stay 3 and are withheld.
    const exact = privacyGate(report(cases(3, 1, 9), cases(50, 0, 10)), {
      minCell: 5,
      dp: { epsilon: 200, random },
    });
    expect(exact.withheld?.classes).toEqual(['positives']);
    expect(exact.differentialPrivacy?.epsilon).toBe(200);
    expect(exact.histogram.positives).toBeNull();
    let withheld = 0;
    for (let t = 0; t < 200; t++) {
      const g = privacyGate(report(cases(5, 1, 12), cases(50, 0, 13)), {
        minCell: 5,
        dp: { epsilon: 0.5, random },
      });
      expect(SiteReport.safeParse(g).success).toBe(true);
      const p = g.positives;
      expect(p === null || p === 0 || p >= 5).toBe(true);
      if (p === null) {
        withheld++;
        expect(g.cases).toBeNull();
        expect(g.histogram.positives).toBeNull();
      } else for (const x of g.histogram.positives ?? []) expect(x === 0 || x >= 5).toBe(true);
    }
    // Noise of scale 4 around 5 lands in 1..4 often: the rule is exercised, not bypassed.
    expect(withheld).toBeGreaterThan(20);
  });
});
