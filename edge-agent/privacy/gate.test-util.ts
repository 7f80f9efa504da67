import { expect } from 'vitest';
import { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildSiteReport, type FullSiteReport, type Outcome as SiteOutcome } from '../report/site-report.ts';

/** Shared setup for the privacy-gate tests: report builders and the invariants every gated report keeps. */
export type Outcome = { score: number; label: 0 | 1 };

export function report(outcomes: SiteOutcome[], edges = equalWidthEdges(10)): FullSiteReport {
  return buildSiteReport({
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    campaignId: 'camp_1',
    jobId: 'job-7',
    siteId: 'site-a',
    model: { vendor: 'acme', name: 'cxr-net', version: '1.2.0', sha256: 'b'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: edges,
    outcomes,
    excluded: {},
    images: { seen: outcomes.length, used: outcomes.length },
  });
}

/** Outcomes with exact confusion counts at threshold 0.5 (scores spread within each side). */
export function withCounts(
  c: { tp: number; fn: number; fp: number; tn: number },
  rand = seededRandom(3),
): Outcome[] {
  const out: Outcome[] = [];
  const push = (n: number, label: 0 | 1, hi: boolean) => {
    for (let i = 0; i < n; i++) out.push({ score: hi ? 0.5 + rand() * 0.5 : rand() * 0.4999, label });
  };
  push(c.tp, 1, true);
  push(c.fn, 1, false);
  push(c.fp, 0, true);
  push(c.tn, 0, false);
  return out;
}

export const METRICS = ['sensitivity', 'specificity', 'ppv', 'npv'] as const;

const WITHHELD_PROPORTION = {
  estimate: null,
  ciLow: null,
  ciHigh: null,
  numerator: null,
  denominator: null,
  method: 'wilson',
  reason: 'insufficient-class-size',
};

/** The metrics a withheld class takes with it (PPV and NPV mix both classes). */
function goneWith(classes: readonly string[], m: (typeof METRICS)[number]): boolean {
  if (classes.length === 0) return false;
  if (m === 'ppv' || m === 'npv') return true;
  return classes.includes(m === 'sensitivity' ? 'positives' : 'negatives');
}

/** The invariants every gated report must satisfy at minimum cell size k. */
export function checkInvariants(full: FullSiteReport, g: SiteReport, k: number): void {
  expect(SiteReport.safeParse(g).success).toBe(true);
  const small = (c: number | null) => c !== null && c >= 1 && c < k;
  const withheld = (['positives', 'negatives'] as const).filter((c) => small(full[c]));
  expect(g.withheld?.classes ?? []).toEqual(withheld);
  const { tp, fp, tn, fn } = g.confusion;
  for (const c of [tp, fp, tn, fn]) expect(small(c)).toBe(false);
  // A hidden cell is never alone in its class (else: total − partner).
  expect(tp === null).toBe(fn === null);
  expect(fp === null).toBe(tn === null);
  if (withheld.includes('positives')) expect(tp).toBeNull();
  if (withheld.includes('negatives')) expect(tn).toBeNull();
  // Released cells are the true ones.
  for (const cell of ['tp', 'fp', 'tn', 'fn'] as const) {
    if (g.confusion[cell] !== null) expect(g.confusion[cell]).toBe(full.confusion[cell]);
  }
  // A metric involving a hidden cell or a withheld class releases nothing.
  const uses = {
    sensitivity: ['tp', 'fn'],
    specificity: ['tn', 'fp'],
    ppv: ['tp', 'fp'],
    npv: ['tn', 'fn'],
  } as const;
  for (const m of METRICS) {
    const hidden = uses[m].some((c) => g.confusion[c] === null);
    if (goneWith(withheld, m)) {
      expect(g[m]).toEqual(WITHHELD_PROPORTION);
      expect(g.suppressed).toContain(m);
    } else if (hidden) {
      expect(g[m]).toEqual({ ...WITHHELD_PROPORTION, reason: 'suppressed' });
      expect(g.suppressed).toContain(m);
    } else {
      expect(g[m]).toEqual(full[m]);
    }
  }
  for (const cell of ['tp', 'fp', 'tn', 'fn'] as const) {
    expect(g.suppressed.includes(`confusion.${cell}`)).toBe(g.confusion[cell] === null);
  }
  // Histogram: edges a subset of the campaign's, a released class keeps its total and every bin is 0 or >= k;
  // a withheld class is null, with its total, `cases`, `images` and everything built on both classes.
  const h = g.histogram;
  expect(h.edges.every((e) => full.histogram.edges.includes(e))).toBe(true);
  expect(h.edges[0]).toBe(full.histogram.edges[0]);
  expect(h.edges.at(-1)).toBe(full.histogram.edges.at(-1));
  for (const c of ['positives', 'negatives'] as const) {
    const counts = h[c];
    if (withheld.includes(c)) {
      expect(counts).toBeNull();
      expect(g[c]).toBeNull();
    } else {
      expect(g[c]).toBe(full[c]);
      expect(counts?.reduce((s, x) => s + x, 0)).toBe(g[c]);
      for (const x of counts ?? []) expect(small(x)).toBe(false);
    }
  }
  if (withheld.length > 0) {
    expect(g.cases).toBeNull();
    expect(g.images).toEqual({ seen: null, used: null });
    expect(g.auc).toMatchObject({ estimate: null, se: null, reason: 'insufficient-class-size' });
    expect(g.calibration).toMatchObject({ brier: null, reason: 'insufficient-class-size' });
    expect(g.subgroups).toBeUndefined();
  } else {
    expect({ cases: g.cases, images: g.images, auc: g.auc, calibration: g.calibration }).toEqual({
      cases: full.cases,
      images: full.images,
      auc: full.auc,
      calibration: full.calibration,
    });
  }
  expect(g.minCell).toBe(Math.max(full.minCell, k));
  // Everything else passes through.
  const rest = (r: SiteReport) => {
    const {
      confusion: _c,
      suppressed: _s,
      histogram: _h,
      minCell: _m,
      sensitivity: _se,
      specificity: _sp,
      ppv: _p,
      npv: _n,
      subgroups: _g,
      cases: _ca,
      positives: _po,
      negatives: _ne,
      images: _i,
      auc: _a,
      calibration: _cal,
      withheld: _w,
      ...others
    } = r;
    return others;
  };
  expect(rest(g)).toEqual(rest(full));
}
