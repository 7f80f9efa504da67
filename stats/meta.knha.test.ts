import { describe, expect, it } from 'vitest';
import {
  expectClose,
  normalDeviate,
  parseNumbers,
  parseRows,
  runR,
  seededRandom,
} from '../test/support/oracles.ts';
import { compareModelsAcrossSites, pooledBinnedAuc, sumHistograms } from './across-sites.ts';
import { binnedAuc } from './histogram.ts';
import { poolAuc, randomEffects } from './meta.ts';
import { pt, qt } from './t.ts';

describe('Student t against R pt/qt', () => {
  const rand = seededRandom(9);
  const ts: number[] = [];
  const ps: number[] = [];
  const dfs: number[] = [];
  for (let i = 0; i < 200; i++) {
    dfs.push([1, 2, 3, 5, 10, 29, 200][i % 7] as number);
    ts.push((rand() - 0.5) * 12);
    ps.push(i % 5 === 0 ? 10 ** (-rand() * 8) : rand());
  }
  const ref = parseNumbers(
    runR('cat(sprintf("%.17g", c(pt(t, df), qt(p, df))), sep = "\\n")', { t: ts, p: ps, df: dfs }),
  );
  it('pt and qt agree to 1e-10 relative', () => {
    ts.forEach((t, i) => {
      expectClose(pt(t, dfs[i] as number), ref[i] as number, 1e-10, `pt(${t}, ${dfs[i]})`);
    });
    ps.forEach((p, i) => {
      expectClose(qt(p, dfs[i] as number), ref[ts.length + i] as number, 1e-9, `qt(${p}, ${dfs[i]})`);
    });
    expect(qt(0.5, 3)).toBe(0);
    expect(() => qt(0.5, 0)).toThrow();
  });
});

interface MetaCase {
  yi: number[];
  vi: number[];
}

function cases(): MetaCase[] {
  const rand = seededRandom(4242);
  const out: MetaCase[] = [];
  for (const k of [2, 2, 3, 4, 5, 8, 12, 30]) {
    for (const tau of [0, 0.2, 1]) {
      const yi: number[] = [];
      const vi: number[] = [];
      for (let i = 0; i < k; i++) {
        const v = 0.003 + rand() ** 2 * 0.3;
        vi.push(v);
        yi.push(0.5 + tau * normalDeviate(rand) + Math.sqrt(v) * normalDeviate(rand));
      }
      out.push({ yi, vi });
    }
  }
  out.push({ yi: [0.3, 0.3, 0.3], vi: [0.1, 0.2, 0.3] }); // identical: Knapp–Hartung SE 0
  out.push({ yi: [-2, 2], vi: [0.01, 0.01] });
  return out;
}

describe('Knapp–Hartung random effects against metafor rma(test = "knha") + predict()', () => {
  const cs = cases();
  const methods = ['DL', 'REML'] as const;
  const ref = parseRows(
    runR(
      `
suppressMessages(library(metafor))
ends <- cumsum(lens); starts <- ends - lens + 1
for (m in c("DL", "REML")) for (i in seq_along(lens)) {
  y <- yi[starts[i]:ends[i]]; v <- vi[starts[i]:ends[i]]
  r <- rma(yi = y, vi = v, method = m, test = "knha", control = list(threshold = 1e-12, maxiter = 1000))
  p <- predict(r)
  cat(sprintf("%.17g", c(r$b[1], r$se, r$ci.lb, r$ci.ub, r$tau2, r$I2 / 100, p$pi.lb, p$pi.ub, r$pval)), "\\n")
}
`,
      { yi: cs.flatMap((c) => c.yi), vi: cs.flatMap((c) => c.vi), lens: cs.map((c) => c.yi.length) },
    ),
  );

  it('every case went through metafor', () => expect(ref.length).toBe(cs.length * 2));

  it('estimate, SE, t-based CI, τ², I², prediction interval (1e-9 DL, 1e-6 REML)', () => {
    methods.forEach((method, mi) => {
      const tol = method === 'DL' ? 1e-9 : 1e-6;
      cs.forEach((c, i) => {
        const [b, se, lo, hi, tau2, i2, pl, ph] = ref[mi * cs.length + i] as number[];
        const r = randomEffects(c.yi, c.vi, { method, test: 'knha' });
        const at = `${method} case ${i}`;
        expect(r.test).toBe('knha');
        expect(r.df).toBe(c.yi.length - 1);
        expectClose(r.estimate, b as number, tol, `estimate ${at}`);
        expectClose(r.se, se as number, tol, `se ${at}`);
        expectClose(r.ciLow, lo as number, tol, `ciLow ${at}`);
        expectClose(r.ciHigh, hi as number, tol, `ciHigh ${at}`);
        expectClose(r.tau2, tau2 as number, tol, `tau2 ${at}`);
        expectClose(r.i2, i2 as number, tol, `i2 ${at}`);
        expectClose(r.predictionLow, pl as number, tol, `predictionLow ${at}`);
        expectClose(r.predictionHigh, ph as number, tol, `predictionHigh ${at}`);
      });
    });
  });

  it('the across-site A-vs-B comparison equals rma on the differences (p-value included)', () => {
    cs.forEach((c, i) => {
      if (c.yi.length < 2) return;
      const sites = c.yi.map((d, j) => ({ paired: { difference: d, se: Math.sqrt(c.vi[j] as number) } }));
      const r = compareModelsAcrossSites(sites, { test: 'knha' });
      const row = ref[i] as number[];
      expect(r.kPaired).toBe(c.yi.length);
      expectClose(r.estimate, row[0] as number, 1e-9, `difference ${i}`);
      expectClose(r.ciLow, row[2] as number, 1e-9, `ciLow ${i}`);
      if ((row[1] as number) > 0) expectClose(r.p, row[8] as number, 1e-9, `p ${i}`);
      else expect(r.p).toBeNull();
    });
  });

  it('k = 1 with Knapp–Hartung: no interval, a reason', () => {
    expect(() => randomEffects([0.5], [0.1], { test: 'knha' })).toThrow(/at least 2/);
    const p = poolAuc([{ estimate: 0.8, se: 0.05 }], { test: 'knha' });
    expect(p).toMatchObject({ estimate: 0.8, ciLow: null, ciHigh: null, k: 1, test: 'knha' });
    expect(p.reason).toMatch(/Knapp–Hartung/);
  });
});

describe('poolAuc with Knapp–Hartung against metafor on the logit scale', () => {
  const rand = seededRandom(17);
  const aucs = Array.from({ length: 9 }, () => ({ estimate: 0.7 + rand() * 0.25, se: 0.01 + rand() * 0.05 }));
  const row = parseNumbers(
    runR(
      `
suppressMessages(library(metafor))
r <- rma(yi = qlogis(a), vi = (s / (a * (1 - a)))^2, method = "REML", test = "knha", control = list(threshold = 1e-12))
p <- predict(r, transf = plogis)
cat(sprintf("%.17g", c(p$pred, p$ci.lb, p$ci.ub, p$pi.lb, p$pi.ub, r$tau2)), "\\n")
`,
      { a: aucs.map((a) => a.estimate), s: aucs.map((a) => a.se) },
    ),
  );
  it('agrees to 1e-6 (REML)', () => {
    const p = poolAuc(aucs, { method: 'REML', test: 'knha' });
    const names = ['estimate', 'ciLow', 'ciHigh', 'predictionLow', 'predictionHigh', 'tau2'] as const;
    names.forEach((n, i) => {
      expectClose(p[n] as number, row[i] as number, 1e-6, n);
    });
  });
});

describe('across sites: unpaired fallback, pooled binned ROC', () => {
  it('a site without a paired result contributes var A + var B, and says so', () => {
    const r = compareModelsAcrossSites([
      { paired: { difference: 0.05, se: 0.02 } },
      { aucA: { estimate: 0.85, se: 0.03 }, aucB: { estimate: 0.8, se: 0.04 } },
      { aucA: { estimate: 0.85, se: null }, aucB: { estimate: 0.8, se: 0.04 } }, // left out
    ]);
    expect(r).toMatchObject({ k: 2, kPaired: 1, kUnpaired: 1, test: 'z' });
    const fe = randomEffects([0.05, 0.05], [0.0004, 0.0009 + 0.0016]);
    expectClose(r.estimate, fe.estimate, 1e-15, 'estimate');
    expectClose(r.se, fe.se, 1e-15, 'se');
    expect(compareModelsAcrossSites([])).toMatchObject({ estimate: null, k: 0 });
  });

  it('summed histograms on the edges every site kept give the exact pooled binned AUC', () => {
    const a = { edges: [0, 0.25, 0.5, 0.75, 1], positives: [1, 2, 3, 4], negatives: [4, 3, 2, 1] };
    const b = { edges: [0, 0.5, 1], positives: [5, 10], negatives: [10, 5] }; // merged by its gate
    const s = sumHistograms([a, b]);
    expect(s).toEqual({ edges: [0, 0.5, 1], positives: [8, 17], negatives: [17, 8] });
    const pooled = pooledBinnedAuc([a, b]);
    expect(pooled.auc).toEqual(binnedAuc([8, 17], [17, 8]));
    expect(pooledBinnedAuc([]).auc).toMatchObject({ estimate: null, reason: 'empty' });
    expect(() => sumHistograms([a, { ...b, edges: [0, 0.5, 2] }])).toThrow(/first and last/);
  });
});
