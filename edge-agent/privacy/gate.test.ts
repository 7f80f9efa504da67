import { describe, expect, it } from 'vitest';
import type { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { checkInvariants, METRICS, type Outcome, report, withCounts } from './gate.test-util.ts';
import { PrivacyGateError, privacyGate } from './gate.ts';

describe('privacyGate: confusion cells and metrics', () => {
  it('fn = 2 at k = 5: fn and tp hidden, sensitivity/ppv/npv suppressed, specificity released', () => {
    const full = report(withCounts({ tp: 30, fn: 2, fp: 10, tn: 60 }));
    const g = privacyGate(full, { minCell: 5 });
    expect(g.confusion).toEqual({ tp: null, fn: null, fp: 10, tn: 60 });
    expect(g.suppressed).toEqual(['confusion.tp', 'confusion.fn', 'sensitivity', 'ppv', 'npv']);
    expect(g.specificity).toEqual(full.specificity);
    expect(g.minCell).toBe(5);
    // Nothing released pins down fn: every split of positives is consistent with the released numbers.
    const released = JSON.stringify(g);
    for (const key of [
      '"tp":30',
      '"fn":2',
      '"numerator":30',
      '"denominator":32',
      '"denominator":40',
      '"denominator":62',
    ]) {
      expect(released).not.toContain(key);
    }
    checkInvariants(full, g, 5);
  });

  it('a small count in both classes hides all four cells and every metric', () => {
    const full = report(withCounts({ tp: 3, fn: 40, fp: 40, tn: 1 }));
    const g = privacyGate(full, { minCell: 5 });
    expect(g.confusion).toEqual({ tp: null, fn: null, fp: null, tn: null });
    expect(g.suppressed).toEqual([
      'confusion.tp',
      'confusion.fp',
      'confusion.tn',
      'confusion.fn',
      ...METRICS,
    ]);
  });

  it('zeros are not small; k at the boundary is released', () => {
    const full = report(withCounts({ tp: 0, fn: 11, fp: 11, tn: 20 }));
    expect(privacyGate(full, { minCell: 11 }).suppressed).toEqual([]);
    expect(privacyGate(full, { minCell: 12 }).confusion).toEqual({ tp: null, fn: null, fp: null, tn: null });
  });

  it('minCell 0 (and 1) changes nothing but minCell', () => {
    const full = report(withCounts({ tp: 1, fn: 2, fp: 3, tn: 4 }));
    expect(privacyGate(full, { minCell: 0 })).toEqual(full);
    expect(privacyGate(full, { minCell: 1 })).toEqual({ ...full, minCell: 1 });
  });

  it('is idempotent and never releases what an earlier pass withheld', () => {
    const full = report(withCounts({ tp: 20, fn: 4, fp: 7, tn: 50 }));
    const once = privacyGate(full, { minCell: 5 });
    expect(privacyGate(once, { minCell: 5 })).toEqual(once);
    const lower = privacyGate(once, { minCell: 0 });
    expect(lower).toEqual(once);
    expect(lower.minCell).toBe(5);
  });

  it('random reports at random k satisfy every invariant', () => {
    const rand = seededRandom(8);
    for (let t = 0; t < 300; t++) {
      const len = Math.floor(rand() * 80);
      const prevalence = rand();
      const outcomes: Outcome[] = Array.from({ length: len }, () => {
        const label: 0 | 1 = rand() < prevalence ? 1 : 0;
        return { score: Math.min(1, rand() * 0.8 + label * 0.25), label };
      });
      const full = report(outcomes, equalWidthEdges([2, 5, 10, 20][t % 4] as number));
      const k = Math.floor(rand() * 12);
      const g = privacyGate(full, { minCell: k });
      checkInvariants(full, g, k);
      expect(privacyGate(g, { minCell: k })).toEqual(g);
    }
  });
});

describe('privacyGate: rejects what it cannot vouch for', () => {
  const full = report(withCounts({ tp: 20, fn: 8, fp: 7, tn: 50 }));
  it('an extra field anywhere throws', () => {
    expect(() => privacyGate({ ...full, patientName: 'x' } as SiteReport, { minCell: 5 })).toThrow(
      PrivacyGateError,
    );
    expect(() =>
      privacyGate({ ...full, auc: { ...full.auc, scores: [0.1] } } as SiteReport, { minCell: 5 }),
    ).toThrow(/auc/);
  });
  it('inconsistent counts throw', () => {
    expect(() => privacyGate({ ...full, confusion: { ...full.confusion, tp: 19 } }, { minCell: 5 })).toThrow(
      /tp \+ fn/,
    );
    expect(() =>
      privacyGate({ ...full, sensitivity: { ...full.sensitivity, numerator: 3 } }, { minCell: 5 }),
    ).toThrow(/sensitivity/);
    expect(() =>
      privacyGate(
        { ...full, histogram: { ...full.histogram, positives: full.histogram.positives.map((c) => c + 1) } },
        { minCell: 5 },
      ),
    ).toThrow(/histogram/);
    expect(() => privacyGate({ ...full, cases: full.cases + 1 }, { minCell: 5 })).toThrow(/cases/);
  });
  it('a bad minCell throws', () => {
    expect(() => privacyGate(full, { minCell: -1 })).toThrow(/minCell/);
    expect(() => privacyGate(full, { minCell: 2.5 })).toThrow(/minCell/);
  });
});
