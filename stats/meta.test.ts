import { describe, expect, it } from 'vitest';
import { PooledEstimate } from '../schemas/comparison.ts';
import { expectClose, normalDeviate, parseRows, runR, seededRandom } from '../test/support/oracles.ts';
import { expit, logit, poolAuc, poolProportion, randomEffects } from './meta.ts';

interface MetaCase {
  yi: number[];
  vi: number[];
}

function makeCases(): MetaCase[] {
  const rand = seededRandom(2024);
  const cases: MetaCase[] = [];
  for (const k of [1, 2, 2, 3, 4, 5, 8, 10, 15, 30]) {
    for (const tau of [0, 0.1, 0.5, 1.5]) {
      const yi: number[] = [];
      const vi: number[] = [];
      for (let i = 0; i < k; i++) {
        const v = 0.005 + rand() ** 2 * 0.5;
        vi.push(v);
        yi.push(1 + tau * normalDeviate(rand) + Math.sqrt(v) * normalDeviate(rand));
      }
      cases.push({ yi, vi });
    }
  }
  cases.push({ yi: [0.3, 0.3, 0.3], vi: [0.1, 0.2, 0.3] }); // identical estimates: Q = 0
  cases.push({ yi: [-2, 2], vi: [0.01, 0.01] }); // huge heterogeneity, equal variances
  return cases;
}

const FIELDS = [
  'estimate',
  'se',
  'ciLow',
  'ciHigh',
  'tau2',
  'i2',
  'Q',
  'predictionLow',
  'predictionHigh',
] as const;

const COMBOS = [
  ['DL', 0.95],
  ['DL', 0.9],
  ['REML', 0.95],
  ['REML', 0.99],
] as const;

/** One R process for every method/level combination: rows are grouped by combination, then by case. */
function metaforRows(cases: MetaCase[]): number[][] {
  return parseRows(
    runR(
      `
suppressMessages(library(metafor))
ends <- cumsum(lens); starts <- ends - lens + 1
combos <- list(${COMBOS.map(([m, l]) => `list("${m}", ${l * 100})`).join(', ')})
for (cb in combos) for (i in seq_along(lens)) {
  y <- yi[starts[i]:ends[i]]; v <- vi[starts[i]:ends[i]]
  r <- rma(yi = y, vi = v, method = cb[[1]], test = "z", level = cb[[2]],
           control = list(threshold = 1e-13, maxiter = 10000))
  p <- predict(r, level = cb[[2]])
  cat(sprintf("%.17g", c(r$beta[1], r$se, r$ci.lb, r$ci.ub, r$tau2, r$I2 / 100, r$QE, p$pi.lb, p$pi.ub)), "\\n")
}
`,
      { yi: cases.flatMap((c) => c.yi), vi: cases.flatMap((c) => c.vi), lens: cases.map((c) => c.yi.length) },
    ),
  );
}

describe('randomEffects against metafor rma()/predict()', () => {
  const cases = makeCases();
  const ref = metaforRows(cases);

  it('ran every case', () => expect(ref.length).toBe(cases.length * COMBOS.length));

  COMBOS.forEach(([method, level], comboIndex) => {
    // REML is iterative in both; metafor is run with threshold 1e-13 so both converge well past 1e-9.
    const tol = 1e-9;
    it(`${method} at level ${level}: estimate, se, CI, tau2, I2, Q, prediction interval (${tol})`, () => {
      cases.forEach((c, i) => {
        const r = randomEffects(c.yi, c.vi, { method, level });
        const row = ref[comboIndex * cases.length + i] as number[];
        expect(r.k).toBe(c.yi.length);
        FIELDS.forEach((f, j) => {
          expectClose(r[f], row[j] as number, tol, `${method} case ${i} (k=${c.yi.length}) ${f}`);
        });
      });
    });
  });

  it('rejects bad input', () => {
    expect(() => randomEffects([], [])).toThrow();
    expect(() => randomEffects([1], [0])).toThrow(/positive/);
    expect(() => randomEffects([1, 2], [1])).toThrow(/length/);
  });
});

describe('poolAuc / poolProportion against metafor escalc + rma', () => {
  const rand = seededRandom(77);
  // Proportions: sites with x = 0 and x = n (continuity correction), suppressed and empty sites.
  const sites: { numerator: number | null; denominator: number | null }[][] = [];
  for (let c = 0; c < 25; c++) {
    const k = 1 + Math.floor(rand() * 12);
    const row: { numerator: number | null; denominator: number | null }[] = [];
    for (let s = 0; s < k; s++) {
      const n = 1 + Math.floor(rand() * 300);
      const p = expit(1 + normalDeviate(rand));
      let x = Math.round(p * n);
      if (s === 1) x = 0;
      if (s === 2) x = n;
      row.push({ numerator: x, denominator: n });
    }
    if (c % 4 === 0) row.push({ numerator: null, denominator: null }, { numerator: 0, denominator: 0 });
    sites.push(row);
  }
  const included = sites.map((r) =>
    r.filter((s) => s.numerator !== null && s.denominator !== null && s.denominator > 0),
  );

  it('poolProportion equals escalc(PLO, to="only0") + rma(DL) + ilogit (1e-9)', () => {
    const ref = parseRows(
      runR(
        `
suppressMessages(library(metafor))
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  es <- escalc(measure = "PLO", xi = xs[starts[i]:ends[i]], ni = ns[starts[i]:ends[i]], add = 1/2, to = "only0")
  r <- rma(yi, vi, data = es, method = "DL")
  p <- predict(r, transf = transf.ilogit)
  cat(sprintf("%.17g", c(p$pred, p$ci.lb, p$ci.ub, r$tau2, r$I2 / 100, p$pi.lb, p$pi.ub, r$k)), "\\n")
}
`,
        {
          xs: included.flatMap((r) => r.map((s) => s.numerator as number)),
          ns: included.flatMap((r) => r.map((s) => s.denominator as number)),
          lens: included.map((r) => r.length),
        },
      ),
    );
    sites.forEach((row, i) => {
      const p = PooledEstimate.parse(poolProportion(row));
      const [est, lo, hi, tau2, i2, pl, ph, k] = ref[i] as number[];
      expect(p.k, `case ${i}`).toBe(k);
      expectClose(p.estimate, est as number, 1e-9, `estimate ${i}`);
      expectClose(p.ciLow, lo as number, 1e-9, `ciLow ${i}`);
      expectClose(p.ciHigh, hi as number, 1e-9, `ciHigh ${i}`);
      expectClose(p.tau2, tau2 as number, 1e-9, `tau2 ${i}`);
      expectClose(p.i2, i2 as number, 1e-9, `i2 ${i}`);
      expectClose(p.predictionLow ?? null, pl as number, 1e-9, `predictionLow ${i}`);
      expectClose(p.predictionHigh ?? null, ph as number, 1e-9, `predictionHigh ${i}`);
    });
  });

  it('poolAuc equals rma on qlogis(AUC) with SE/(AUC(1-AUC)), leaving out undefined and boundary sites', () => {
    const aucSets: { estimate: number | null; se: number | null }[][] = [];
    for (let c = 0; c < 20; c++) {
      const k = 1 + Math.floor(rand() * 10);
      const set: { estimate: number | null; se: number | null }[] = [];
      for (let s = 0; s < k; s++) set.push({ estimate: 0.6 + rand() * 0.35, se: 0.01 + rand() * 0.06 });
      if (c % 3 === 0)
        set.push({ estimate: 1, se: 0 }, { estimate: null, se: null }, { estimate: 0.8, se: null });
      aucSets.push(set);
    }
    const kept = aucSets.map((s) => s.filter((a) => a.estimate !== null && a.se !== null && a.estimate < 1));
    const ref = parseRows(
      runR(
        `
suppressMessages(library(metafor))
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  a <- auc[starts[i]:ends[i]]; s <- se[starts[i]:ends[i]]
  r <- rma(yi = qlogis(a), sei = s / (a * (1 - a)), method = "REML", control = list(threshold = 1e-13, maxiter = 10000))
  p <- predict(r, transf = plogis)
  cat(sprintf("%.17g", c(p$pred, p$ci.lb, p$ci.ub, r$tau2, r$I2 / 100, p$pi.lb, p$pi.ub, r$k)), "\\n")
}
`,
        {
          auc: kept.flatMap((s) => s.map((a) => a.estimate as number)),
          se: kept.flatMap((s) => s.map((a) => a.se as number)),
          lens: kept.map((s) => s.length),
        },
      ),
    );
    aucSets.forEach((set, i) => {
      const p = PooledEstimate.parse(poolAuc(set, { method: 'REML' }));
      const [est, lo, hi, tau2, i2, pl, ph, k] = ref[i] as number[];
      expect(p.k).toBe(k);
      expect(p.method).toBe('REML');
      expectClose(p.estimate, est as number, 1e-9, `estimate ${i}`);
      expectClose(p.ciLow, lo as number, 1e-9, `ciLow ${i}`);
      expectClose(p.ciHigh, hi as number, 1e-9, `ciHigh ${i}`);
      expectClose(p.tau2, tau2 as number, 1e-9, `tau2 ${i}`);
      expectClose(p.i2, i2 as number, 1e-9, `i2 ${i}`);
      expectClose(p.predictionLow ?? null, pl as number, 1e-9, `predictionLow ${i}`);
      expectClose(p.predictionHigh ?? null, ph as number, 1e-9, `predictionHigh ${i}`);
    });
  });

  it('nothing to pool → k = 0, all null, a reason', () => {
    const a = PooledEstimate.parse(
      poolAuc([
        { estimate: null, se: null },
        { estimate: 1, se: 0 },
      ]),
    );
    expect(a).toMatchObject({
      estimate: null,
      ciLow: null,
      ciHigh: null,
      tau2: null,
      i2: null,
      k: 0,
      method: 'DL',
    });
    expect(a.reason).toBeTruthy();
    const p = PooledEstimate.parse(poolProportion([{ numerator: null, denominator: null }]));
    expect(p.k).toBe(0);
    expect(p.reason).toBeTruthy();
    expect(() => poolProportion([{ numerator: 5, denominator: 3 }])).toThrow();
  });

  it('logit/expit are inverse and stable in the tails', () => {
    expect(expit(logit(0.3))).toBeCloseTo(0.3, 15);
    expect(expit(-800)).toBe(0);
    expect(expit(800)).toBe(1);
  });
});
