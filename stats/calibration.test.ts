import { describe, expect, it } from 'vitest';
import {
  expectClose,
  normalDeviate,
  parseRows,
  runPython,
  runR,
  seededRandom,
} from '../test/support/oracles.ts';
import { brierScore, calibration, clippedLogit, expectedCalibrationError } from './calibration.ts';
import { expit } from './meta.ts';

interface Case {
  p: number[];
  y: number[];
}

/** Calibrated, over- and under-confident, tied, tiny, lopsided, with p = 0 and 1 present. */
function makeCases(): Case[] {
  const rand = seededRandom(77);
  const cases: Case[] = [];
  const gen = (len: number, a: number, b: number, spread: number, grid: number | null, base = 0) => {
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < len; i++) {
      const lp = base + spread * normalDeviate(rand);
      // true probability expit(a + b·lp); the model reports expit(lp)
      y.push(rand() < expit(a + b * lp) ? 1 : 0);
      const v = expit(lp);
      p.push(grid === null ? v : Math.round(v * grid) / grid);
    }
    cases.push({ p, y });
  };
  gen(200, 0, 1, 1.5, null);
  gen(300, 0.5, 0.6, 2, null); // over-confident
  gen(300, -0.3, 1.8, 0.7, null); // under-confident
  gen(150, 0, 1, 1.5, 10); // ties, including exact 0 and 1
  gen(2000, -2, 1, 1, null, -3); // lopsided: rare positives
  for (let t = 0; t < 15; t++)
    gen(20 + Math.floor(rand() * 400), rand() - 0.5, 0.5 + rand(), 0.5 + rand() * 2, t % 3 ? null : 20);
  cases.push({ p: [0.2, 0.7, 0.4, 0.9], y: [0, 0, 1, 1] }); // tiny, overlapping
  cases.push({ p: [0, 1, 0.3, 0.6, 1, 0], y: [0, 1, 1, 0, 0, 1] }); // exact 0/1 on the wrong side
  return cases;
}

describe('calibration against sklearn brier_score_loss and statsmodels GLM(Binomial)', () => {
  const cases = makeCases();
  const out = runPython(
    `
import numpy as np
import statsmodels.api as sm
from sklearn.metrics import brier_score_loss
pos = 0
eps = 1e-12
for n in lens:
    n = int(n)
    p = np.array(ps[pos:pos + n]); y = np.array([int(v) for v in ys[pos:pos + n]])
    pos += n
    brier = brier_score_loss(y, p)
    # ECE: bin b holds b/10 <= p < (b+1)/10, p = 1 in the last bin
    ece = 0.0
    for b in range(10):
        lo = b / 10
        hi = (b + 1) / 10
        sel = (p >= lo) & ((p < hi) if b < 9 else (p <= 1))
        if sel.sum() > 0:
            ece += sel.sum() / n * abs(y[sel].mean() - p[sel].mean())
    q = np.clip(p, eps, 1 - eps)
    x = np.log(q / (1 - q))
    slope_fit = sm.GLM(y, sm.add_constant(x, has_constant='add'), family=sm.families.Binomial()).fit(tol=1e-14, maxiter=1000, start_params=[0.0, 1.0])
    citl = sm.GLM(y, np.ones(n), family=sm.families.Binomial(), offset=x).fit(tol=1e-14, maxiter=1000, start_params=[0.0])
    print('%.17g %.17g %.17g %.17g' % (brier, ece, citl.params[0], slope_fit.params[1]))
`,
    { ps: cases.flatMap((c) => c.p), ys: cases.flatMap((c) => c.y), lens: cases.map((c) => c.p.length) },
  );
  const ref = parseRows(out);
  // R glm (IRLS; the offset fit started at 0) as a second oracle for the two fits:
  // from their default starts statsmodels (both fits) and R (offset fit) diverge when logit(p) holds ±27.6.
  const rOut = runR(
    `
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  idx <- starts[i]:ends[i]; p <- ps[idx]; y <- ys[idx]
  q <- pmin(pmax(p, 1e-12), 1 - 1e-12); x <- log(q / (1 - q))
  ctl <- glm.control(epsilon = 1e-15, maxit = 200)
  s <- coef(glm(y ~ x, family = binomial, control = ctl))[2]
  a <- coef(glm(y ~ 1, offset = x, family = binomial, control = ctl, start = 0))[1]
  cat(sprintf("%.17g", c(a, s)), "\n")
}
`,
    { ps: cases.flatMap((c) => c.p), ys: cases.flatMap((c) => c.y), lens: cases.map((c) => c.p.length) },
  );
  const rRef = parseRows(rOut);

  it('every case went through Python and R', () => {
    expect(ref.length).toBe(cases.length);
    expect(rRef.length).toBe(cases.length);
  });

  it('Brier and ECE (1e-12, closed form); intercept and slope (1e-6, iterative)', () => {
    cases.forEach((c, i) => {
      const [brier, ece, intercept, slope] = ref[i] as number[];
      const r = calibration(c.p, c.y);
      expect(r.reason, `case ${i}`).toBeUndefined();
      expectClose(r.brier, brier as number, 1e-12, `brier ${i}`);
      expectClose(r.ece, ece as number, 1e-12, `ece ${i}`);
      const [rIntercept, rSlope] = rRef[i] as number[];
      const last = i === cases.length - 1;
      expectClose(r.intercept, intercept as number, 1e-6, `intercept ${i} vs statsmodels`);
      expectClose(r.slope, rSlope as number, 1e-6, `slope ${i} vs R glm`);
      if (!last) {
        expectClose(r.intercept, rIntercept as number, 1e-6, `intercept ${i} vs R glm`);
        expectClose(r.slope, slope as number, 1e-6, `slope ${i} vs statsmodels`);
      } else {
        // The extreme case: statsmodels' slope runs off to ~ −1e12 and R's IRLS stops early on the flat
        // deviance for the intercept (0.22087); the exact root is −(logit 0.3 + logit 0.6)/2 by symmetry.
        expect(Math.abs(slope as number)).toBeGreaterThan(1e6);
        expectClose(r.intercept, -(Math.log(0.3 / 0.7) + Math.log(0.6 / 0.4)) / 2, 1e-9, 'exact root');
      }
    });
  });

  it('a perfectly calibrated model drawn at scale has intercept ≈ 0 and slope ≈ 1', () => {
    const rand = seededRandom(5);
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 200000; i++) {
      const v = expit(1.5 * normalDeviate(rand));
      p.push(v);
      y.push(rand() < v ? 1 : 0);
    }
    const r = calibration(p, y);
    expect(Math.abs(r.intercept as number)).toBeLessThan(0.02);
    expect(Math.abs((r.slope as number) - 1)).toBeLessThan(0.02);
    expect(r.ece as number).toBeLessThan(0.01);
  });

  it('degenerate input: nulls with a reason, never NaN', () => {
    expect(calibration([], [])).toEqual({
      brier: null,
      ece: null,
      intercept: null,
      slope: null,
      reason: 'empty',
    });
    expect(calibration([0.2, 1.3], [0, 1])).toMatchObject({ brier: null, reason: 'not-probabilities' });
    expect(calibration([-0.1, 0.3], [0, 1])).toMatchObject({ brier: null, reason: 'not-probabilities' });
    const noPos = calibration([0.2, 0.4], [0, 0]);
    expect(noPos).toMatchObject({ intercept: null, slope: null, reason: 'no-positives' });
    expect(noPos.brier).toBeCloseTo(0.1, 15);
    expect(noPos.ece).toBeCloseTo(0.3, 15);
    expect(calibration([0.2, 0.4], [1, 1])).toMatchObject({
      intercept: null,
      slope: null,
      reason: 'no-negatives',
    });
    // Perfect separation of the classes by p: no finite slope, but calibration-in-the-large exists.
    const sep = calibration([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]);
    expect(sep.reason).toBe('separation');
    expect(sep.slope).toBeNull();
    expect(Number.isFinite(sep.intercept)).toBe(true);
    // Quasi-complete separation (touching at one value) is separation too.
    expect(calibration([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]).reason).toBe('separation');
    expect(calibration([0.3, 0.3, 0.3], [0, 1, 0])).toMatchObject({ slope: null, reason: 'constant-score' });
    expect(() => calibration([Number.NaN], [1])).toThrow(/NaN/);
    expect(() => calibration([0.5], [2])).toThrow(/0 or 1/);
  });

  it('helpers: bin edges are b/10 exactly, logit is clipped', () => {
    expect(expectedCalibrationError([0.1, 0.3, 1], [0, 1, 1])).toBeCloseTo((0.1 + 0.7 + 0) / 3, 15);
    expect(brierScore([1, 0], [1, 0])).toBe(0);
    expect(clippedLogit(0)).toBeCloseTo(Math.log(1e-12), 3);
    expect(clippedLogit(1)).toBeCloseTo(-Math.log(1e-12), 3);
  });
});
