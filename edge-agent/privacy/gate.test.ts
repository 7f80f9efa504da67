import { describe, expect, it } from 'vitest';
import { SiteReport, type Subgroup } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildSiteReport, type FullSiteReport } from '../report/site-report.ts';
import { PrivacyGateError, privacyGate } from './gate.ts';

type Outcome = { score: number; label: 0 | 1 };

function report(outcomes: Outcome[], edges = equalWidthEdges(10)): FullSiteReport {
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
function withCounts(
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

const METRICS = ['sensitivity', 'specificity', 'ppv', 'npv'] as const;

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
function checkInvariants(full: FullSiteReport, g: SiteReport, k: number): void {
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

describe('privacyGate: histogram', () => {
  /** Brute force over every subset of inner edges: the most bins any valid merge can release. */
  function bestBins(pos: number[], neg: number[], k: number): number {
    const inner = pos.length - 1;
    let best = -1;
    for (let mask = 0; mask < 1 << inner; mask++) {
      let p = 0;
      let n = 0;
      let groups = 0;
      let valid = true;
      for (let b = 0; b < pos.length; b++) {
        p += pos[b] as number;
        n += neg[b] as number;
        if (b === inner || mask & (1 << b)) {
          if ((p > 0 && p < k) || (n > 0 && n < k)) valid = false;
          groups++;
          p = 0;
          n = 0;
        }
      }
      if (valid) best = Math.max(best, groups);
    }
    return best;
  }

  it('merges jointly, keeps totals, and releases as many bins as any valid merge', () => {
    const rand = seededRandom(21);
    for (let t = 0; t < 200; t++) {
      const bins = 1 + Math.floor(rand() * 9);
      const edges = equalWidthEdges(bins);
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 5 + Math.floor(rand() * 60); i++) {
        outcomes.push({ score: rand() ** (1 + rand() * 3), label: rand() < 0.4 ? 1 : 0 });
      }
      const full = report(outcomes, edges);
      const k = 2 + Math.floor(rand() * 8);
      const g = privacyGate(full, { minCell: k });
      checkInvariants(full, g, k);
      // A withheld class takes no part in choosing the edges.
      const released = (c: 'positives' | 'negatives') =>
        g.histogram[c] === null ? full.histogram[c].map(() => 0) : full.histogram[c];
      const best = bestBins(released('positives'), released('negatives'), k);
      const bothWithheld = g.histogram.positives === null && g.histogram.negatives === null;
      expect(g.histogram.edges.length - 1).toBe(bothWithheld || best < 0 ? 1 : best);
    }
  });

  it('a worked example', () => {
    const full = report(withCounts({ tp: 0, fn: 0, fp: 0, tn: 0 }));
    const h = { edges: [0, 0.25, 0.5, 0.75, 1], positives: [1, 6, 0, 9], negatives: [5, 2, 3, 0] };
    const g = privacyGate(
      {
        ...full,
        cases: 26,
        positives: 16,
        negatives: 10,
        confusion: { tp: 9, fn: 7, fp: 0, tn: 10 },
        histogram: h,
        ppv: { ...full.ppv, numerator: 9, denominator: 9 },
        npv: { ...full.npv, numerator: 10, denominator: 17 },
        sensitivity: { ...full.sensitivity, numerator: 9, denominator: 16 },
        specificity: { ...full.specificity, numerator: 10, denominator: 10 },
      },
      { minCell: 5 },
    );
    // P [1,6,0,9], N [5,2,3,0] at k = 5: bin 0 has P 1 and bin 2 has N 3, so they must join neighbours.
    // [0, .75) → P 7, N 10 and [.75, 1] → P 9, N 0 is valid; no 3-bin merge is ([0,.5) P 7 N 7 leaves
    // [.5,.75) with N 3 or [.5,1] with N 3).
    expect(g.histogram).toEqual({ edges: [0, 0.75, 1], positives: [7, 9], negatives: [10, 0] });
  });

  it('a class total below k is withheld: its histogram is null and the edges follow the other class only', () => {
    const negatives = withCounts({ tp: 0, fn: 0, fp: 30, tn: 40 });
    const full = report([...withCounts({ tp: 2, fn: 1, fp: 0, tn: 0 }), ...negatives]);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.histogram.positives).toBeNull();
    expect(g.histogram.negatives?.reduce((s, x) => s + x, 0)).toBe(70);
    const alone = privacyGate(report(negatives), { minCell: 5 });
    expect(g.histogram.edges).toEqual(alone.histogram.edges);
    checkInvariants(full, g, 5);
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

describe('privacyGate: subgroups', () => {
  function withAttrs(rows: { value: string; pos: number; neg: number }[], rand = seededRandom(8)) {
    const out: { score: number; label: 0 | 1; attributes: Record<string, string> }[] = [];
    for (const r of rows) {
      for (let i = 0; i < r.pos; i++)
        out.push({ score: 0.3 + rand() * 0.7, label: 1, attributes: { manufacturer: r.value } });
      for (let i = 0; i < r.neg; i++)
        out.push({ score: rand() * 0.7, label: 0, attributes: { manufacturer: r.value } });
    }
    return buildSiteReport({
      reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
      campaignId: 'camp_1',
      jobId: 'job-7',
      siteId: 'site-a',
      model: { vendor: 'acme', name: 'cxr-net', version: '1.2.0', sha256: 'b'.repeat(64) },
      agentVersion: '0.1.0',
      threshold: 0.5,
      binEdges: equalWidthEdges(10),
      outcomes: out,
      excluded: {},
      images: { seen: out.length, used: out.length },
    });
  }

  /** Invariants every gated report's subgroups must satisfy at k. */
  function checkSubgroups(full: FullSiteReport, g: SiteReport, k: number) {
    const groups = g.subgroups ?? [];
    const attrs = new Set(groups.map((s) => s.attribute));
    for (const a of attrs) {
      const list = groups.filter((s) => s.attribute === a);
      expect(list.reduce((s, x) => s + x.cases, 0)).toBe(full.cases);
      expect(list.reduce((s, x) => s + x.positives, 0)).toBe(full.positives);
      for (const s of list) {
        // small counts only in an 'other' that is the whole site (whose totals the report releases anyway)
        const whole = s.value === 'other' && s.cases === full.cases;
        for (const c of [s.cases, s.positives, s.negatives])
          expect(c === 0 || c >= k || whole, `${a}=${s.value}`).toBe(true);
        for (const c of Object.values(s.confusion)) expect(c === null || c === 0 || c >= k).toBe(true);
        expect(s.suppressed.length > 0).toBe(
          Object.values(s.confusion).some((c) => c === null) || s.sensitivity.reason === 'suppressed',
        );
      }
      for (const [x, y] of [
        ['tp', 'fn'],
        ['fp', 'tn'],
      ] as const) {
        if (g.confusion[x] === null || g.confusion[y] === null) continue;
        // never exactly one group hiding a pair the site releases: it could be recovered by subtraction
        expect(list.filter((s) => s.confusion[x] === null).length).not.toBe(1);
      }
    }
  }

  it('small values merge into "other" (AUC null, reason merged); large ones are released', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
      { value: 'Rare A', pos: 2, neg: 3 },
      { value: 'Rare B', pos: 3, neg: 1 },
    ]);
    const g = privacyGate(full, { minCell: 5 });
    const vals = g.subgroups?.map((s) => s.value);
    // RARE A + RARE B = 5 positives, 4 negatives: still small, so the smallest released group joins 'other'
    expect(vals).toEqual(['GE', 'other']);
    const other = g.subgroups?.find((s) => s.value === 'other');
    expect(other).toMatchObject({ cases: 49, positives: 20, negatives: 29 });
    checkSubgroups(full, g, 5);
  });

  it('"other" too small pulls in the smallest released group', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
      { value: 'Rare', pos: 1, neg: 1 },
    ]);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.subgroups?.map((s) => [s.value, s.cases])).toEqual([
      ['GE', 50],
      ['other', 42],
    ]);
    expect(g.subgroups?.[1]?.auc).toMatchObject({ estimate: null, reason: 'merged' });
    checkSubgroups(full, g, 5);
  });

  it('no small groups: released unchanged apart from cell rules; minCell 0 changes nothing', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
    ]);
    expect(privacyGate(full, { minCell: 0 })).toEqual(full);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.subgroups?.map((s) => s.value)).toEqual(['GE', 'SIEMENS']);
    expect(g.subgroups?.[0]?.auc).toEqual(full.subgroups?.[0]?.auc);
  });

  it('random reports: invariants hold at every k and gating twice changes nothing', () => {
    const rand = seededRandom(31);
    for (let t = 0; t < 150; t++) {
      const rows = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, i) => ({
        value: `M${i}`,
        pos: Math.floor(rand() ** 2 * 25),
        neg: Math.floor(rand() ** 2 * 40),
      }));
      const full = withAttrs(rows, rand);
      const k = 2 + Math.floor(rand() * 9);
      const g = privacyGate(full, { minCell: k });
      checkInvariants(full, g, k);
      checkSubgroups(full, g, k);
      expect(privacyGate(g, { minCell: k })).toEqual(g);
    }
  });

  it('inconsistent subgroups throw', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
    ]);
    const sg = full.subgroups ?? [];
    expect(() => privacyGate({ ...full, subgroups: sg.slice(1) }, { minCell: 5 })).toThrow(/add up/);
    expect(() => privacyGate({ ...full, subgroups: [...sg, sg[0] as Subgroup] }, { minCell: 5 })).toThrow(
      /twice/,
    );
    expect(() =>
      privacyGate(
        { ...full, subgroups: [{ ...(sg[0] as Subgroup), value: 'lower case' }, sg[1] as Subgroup] },
        { minCell: 5 },
      ),
    ).toThrow(PrivacyGateError);
  });
});
