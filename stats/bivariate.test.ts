import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectClose, normalDeviate, parseRows, runR, seededRandom } from '../test/support/oracles.ts';
import {
  type BivariateFit,
  bivariateGradient,
  bivariateLogLik,
  fitBivariate,
  poolBivariate,
  type SiteConfusion,
} from './bivariate.ts';
import { expit } from './meta.ts';

interface Scenario {
  name: string;
  sites: SiteConfusion[];
  /** What metafor's free fit is expected to show: an interior optimum, or a boundary (ρ = ±1, τ² = 0). */
  boundary: 'none' | 'rho' | 'tau';
}

function binomial(rand: () => number, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rand() < p) x++;
  return x;
}

/** Sites with true logits drawn from N((m1, m2), Σ(τ1, τ2, ρ)), then binomial counts. */
function generate(
  seed: number,
  k: number,
  m: [number, number],
  tau: [number, number],
  rho: number,
  size: (i: number, rand: () => number) => [number, number],
): SiteConfusion[] {
  const rand = seededRandom(seed);
  const out: SiteConfusion[] = [];
  for (let i = 0; i < k; i++) {
    const z1 = normalDeviate(rand);
    const z2 = rho * z1 + Math.sqrt(1 - rho * rho) * normalDeviate(rand);
    const [nPos, nNeg] = size(i, rand);
    const tp = binomial(rand, nPos, expit(m[0] + tau[0] * z1));
    const tn = binomial(rand, nNeg, expit(m[1] + tau[1] * z2));
    out.push({ tp, fn: nPos - tp, tn, fp: nNeg - tn });
  }
  return out;
}

const uniformSize =
  (lo: number, hi: number) =>
  (_i: number, rand: () => number): [number, number] => [
    lo + Math.floor(rand() * (hi - lo)),
    2 * lo + Math.floor(rand() * 2 * (hi - lo)),
  ];

const scenarios: Scenario[] = [
  {
    name: 'small k = 4, interior fit',
    sites: generate(22, 4, [1.2, 2], [0.6, 0.5], 0.3, uniformSize(40, 120)),
    boundary: 'none',
  },
  {
    name: 'small k = 4, REML at ρ = −1 (common with few sites)',
    sites: generate(11, 4, [1.2, 2], [0.6, 0.5], -0.3, uniformSize(40, 120)),
    boundary: 'rho',
  },
  {
    name: 'k = 12, strong negative correlation (ρ = −0.85)',
    sites: generate(12, 12, [1, 1.8], [0.8, 0.7], -0.85, uniformSize(50, 200)),
    boundary: 'none',
  },
  {
    name: 'k = 20, positive correlation, large heterogeneity',
    sites: generate(13, 20, [0.5, 1.5], [1.1, 0.9], 0.6, uniformSize(30, 300)),
    boundary: 'none',
  },
  {
    name: 'unbalanced sizes (8 to 4000 per class)',
    sites: generate(14, 9, [1.5, 2.2], [0.5, 0.4], -0.4, (i) =>
      i % 3 === 0 ? [8, 15] : i % 3 === 1 ? [4000, 3000] : [60, 900],
    ),
    boundary: 'none',
  },
  {
    name: 'zero cells (fn = 0, fp = 0 at some sites)',
    sites: [
      ...generate(15, 8, [2, 2.5], [0.7, 0.6], -0.5, uniformSize(20, 80)),
      { tp: 25, fn: 0, tn: 40, fp: 3 },
      { tp: 18, fn: 2, tn: 55, fp: 0 },
      { tp: 12, fn: 0, tn: 30, fp: 0 },
    ],
    boundary: 'none',
  },
  {
    name: 'ρ on the boundary −1 (true ρ = −1, large sites)',
    sites: generate(16, 6, [1, 2], [0.6, 0.5], -1, uniformSize(400, 800)),
    boundary: 'rho',
  },
  {
    name: 'ρ on the boundary +1 (true ρ = +1)',
    sites: generate(17, 7, [0.8, 1.6], [0.7, 0.6], 1, uniformSize(400, 800)),
    boundary: 'rho',
  },
  {
    name: 'τ² = 0: the same sensitivity (80 %) at every site, specificity nearly so',
    sites: [20, 45, 60, 100, 150, 30].map((n, i) => ({
      tp: (4 * n) / 5,
      fn: n / 5,
      tn: 9 * n + (i % 2 ? 1 : -1),
      fp: n - (i % 2 ? 1 : -1),
    })),
    boundary: 'tau',
  },
  {
    name: 'τ ≈ 0: identical true accuracy everywhere (binomial noise only)',
    sites: generate(18, 8, [1.3, 2.1], [0, 0], 0, uniformSize(100, 300)),
    boundary: 'rho',
  },
];

interface Logit {
  y1: number[];
  v1: number[];
  y2: number[];
  v2: number[];
}

function toLogit(sites: SiteConfusion[]): Logit {
  const out: Logit = { y1: [], v1: [], y2: [], v2: [] };
  const lp = (x: number, n: number) => {
    const add = x === 0 || x === n ? 0.5 : 0;
    return [Math.log((x + add) / (n - x + add)), 1 / (x + add) + 1 / (n - x + add)] as const;
  };
  for (const s of sites) {
    const [a, va] = lp(s.tp as number, (s.tp as number) + (s.fn as number));
    const [b, vb] = lp(s.tn as number, (s.tn as number) + (s.fp as number));
    out.y1.push(a);
    out.v1.push(va);
    out.y2.push(b);
    out.v2.push(vb);
  }
  return out;
}

/**
 * One R process for every scenario. Per scenario three lines:
 *  1. metafor's own REML fit, struct = "UN": β1 β2 vb11 vb12 vb22 τ1² τ2² ρ logLik tight. metafor's default
 *     nlminb stops about 1e−7 (relative) short on τ² and ρ, and the likelihood can be so flat in ρ that
 *     this shows as 1e−5 in ρ; so nlm with gradtol 1e−12 is tried first (tight = 1) and nlminb's defaults are
 *     the fallback (tight = 0) when nlm reports no convergence;
 *  2. the same model with (τ1², τ2², ρ) held at Cairn's estimates: β1 β2 vb11 vb12 vb22 logLik, ci.lb1
 *     ci.lb2 ci.ub1 ci.ub2 — the profiled fixed effects, their covariance, intervals and ℓ_R at Cairn's
 *     optimum, computed by metafor (no optimiser involved: closed form given the variance components);
 *  3. the largest metafor logLik at the 26 neighbours of Cairn's (τ1², τ2², ρ), minus the one at it.
 */
function metafor(data: Logit[], fits: BivariateFit[]): number[][] {
  return parseRows(
    runR(
      `
suppressMessages(library(metafor))
ends <- cumsum(lens); starts <- ends - lens + 1
for (i in seq_along(lens)) {
  idx <- starts[i]:ends[i]; k <- lens[i]
  long <- data.frame(study = rep(seq_len(k), each = 2), outcome = factor(rep(c("sens", "spec"), k)),
                     yi = c(rbind(y1[idx], y2[idx])), vi = c(rbind(v1[idx], v2[idx])))
  V <- diag(long$vi)
  fitfree <- function(control) rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN",
                                      method = "REML", data = long, control = control)
  r <- tryCatch(fitfree(list(optimizer = "nlm", gradtol = 1e-12, steptol = 1e-14, iterlim = 10000)),
                error = function(e) NULL)
  tight <- !is.null(r)
  if (!tight) r <- fitfree(list())
  cat(sprintf("%.17g", c(r$beta, r$vb[1, 1], r$vb[1, 2], r$vb[2, 2], r$tau2, r$rho, logLik(r), tight)), "\\n")
  f <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN", method = "REML",
              data = long, tau2 = c(t1[i], t2[i]), rho = rh[i])
  cat(sprintf("%.17g", c(f$beta, f$vb[1, 1], f$vb[1, 2], f$vb[2, 2], logLik(f), f$ci.lb, f$ci.ub)), "\\n")
  llAt <- function(a, b, r) logLik(rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study,
                                          struct = "UN", method = "REML", data = long, tau2 = c(a, b), rho = r))
  best <- -Inf
  for (d1 in c(-1, 0, 1)) for (d2 in c(-1, 0, 1)) for (d3 in c(-1, 0, 1)) {
    if (d1 == 0 && d2 == 0 && d3 == 0) next
    a <- max(0, t1[i] * (1 + 1e-3 * d1) + 1e-6 * d1); b <- max(0, t2[i] * (1 + 1e-3 * d2) + 1e-6 * d2)
    r <- max(-1, min(1, rh[i] + 1e-3 * d3))
    best <- max(best, llAt(a, b, r))
  }
  cat(sprintf("%.17g", best - logLik(f)), "\\n")
}
`,
      {
        y1: data.flatMap((d) => d.y1),
        v1: data.flatMap((d) => d.v1),
        y2: data.flatMap((d) => d.y2),
        v2: data.flatMap((d) => d.v2),
        lens: data.map((d) => d.y1.length),
        t1: fits.map((f) => f.tau2[0]),
        t2: fits.map((f) => f.tau2[1]),
        // ρ is null only when a τ² is 0, where it does not enter the likelihood: any value will do.
        rh: fits.map((f) => f.rho ?? 0),
      },
    ),
  );
}

describe('fitBivariate against metafor rma.mv(struct = "UN", method = "REML")', () => {
  const data = scenarios.map((s) => toLogit(s.sites));
  const fits = data.map((d) => fitBivariate(d.y1, d.v1, d.y2, d.v2));
  const ref = metafor(data, fits);

  it('ran every scenario', () => expect(ref.length).toBe(3 * scenarios.length));

  scenarios.forEach((sc, i) => {
    const fit = fits[i] as BivariateFit;
    const free = ref[3 * i] as number[];
    const fixed = ref[3 * i + 1] as number[];
    const neighbours = (ref[3 * i + 2] as number[])[0] as number;
    const [b1, b2, vb11, vb12, vb22, t1, t2, rho, ll] = free as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const tol = 1e-6;

    it(`${sc.name}: converged`, () => {
      expect(fit.converged).toBe(true);
      expect(fit.k).toBe(sc.sites.length);
    });

    it(`${sc.name}: at Cairn's (τ², ρ), metafor's β, Cov(β), CI and logLik agree to 1e-9`, () => {
      const got = [fit.mu[0], fit.mu[1], fit.vcov[0][0], fit.vcov[0][1], fit.vcov[1][1], fit.logLik];
      ['beta1', 'beta2', 'vb11', 'vb12', 'vb22', 'logLik'].forEach((what, j) => {
        expectClose(got[j] as number, fixed[j] as number, 1e-9, `${sc.name} ${what}`);
      });
      const pooled = poolBivariate(sc.sites);
      expectClose(pooled.sensitivity.ciLow, expit(fixed[6] as number), 1e-9, 'sens ciLow');
      expectClose(pooled.specificity.ciLow, expit(fixed[7] as number), 1e-9, 'spec ciLow');
      expectClose(pooled.sensitivity.ciHigh, expit(fixed[8] as number), 1e-9, 'sens ciHigh');
      expectClose(pooled.specificity.ciHigh, expit(fixed[9] as number), 1e-9, 'spec ciHigh');
      expectClose(pooled.sensitivity.estimate, expit(fixed[0] as number), 1e-9, 'sens');
      expectClose(pooled.specificity.estimate, expit(fixed[1] as number), 1e-9, 'spec');
    });

    it(`${sc.name}: no neighbour of Cairn's (τ1², τ2², ρ) has a higher metafor likelihood`, () => {
      // metafor's ℓ_R at the 26 points τ² × (1 ± 1e−3) (+ 1e−6), ρ ± 1e−3 (kept in the parameter space):
      // an optimiser-free check that Cairn's estimate is a maximum, boundary fits included.
      expect(neighbours).toBeLessThanOrEqual(1e-12);
    });

    it(`${sc.name}: Cairn's restricted likelihood is at least metafor's maximum (and within ${tol})`, () => {
      // metafor's optimiser stops within its tolerance of the maximum; Cairn must never be below it.
      expect(fit.logLik).toBeGreaterThanOrEqual(ll - 1e-9);
      expectClose(fit.logLik, ll, tol, `${sc.name} logLik`);
    });

    const common = () => {
      expectClose(fit.mu[0], b1, tol, 'beta sens');
      expectClose(fit.mu[1], b2, tol, 'beta spec');
      expectClose(Math.sqrt(fit.vcov[0][0]), Math.sqrt(vb11), tol, 'se sens');
      expectClose(Math.sqrt(fit.vcov[1][1]), Math.sqrt(vb22), tol, 'se spec');
      expectClose(fit.vcov[0][1], vb12, tol, 'cov(beta)');
      expectClose(fit.tau2[0], t1, tol, 'tau2 sens');
      expectClose(fit.tau2[1], t2, tol, 'tau2 spec');
    };

    if (sc.boundary === 'none') {
      it(`${sc.name}: β, SEs, Cov(β), τ², ρ equal metafor's free fit to ${tol}`, () => {
        expect(Math.abs(rho)).toBeLessThan(0.999);
        common();
        expectClose(fit.rho, rho, tol, 'rho');
      });
    } else if (sc.boundary === 'rho') {
      // Both fits end on ρ = ±1: Cairn exactly (the Cholesky factor's c = 0), metafor at tanh of a large
      // number. The other parameters are still well determined there, so they are compared as usual.
      it(`${sc.name}: both on ρ = ±1 with the same sign; β, SEs, Cov(β), τ² to ${tol}`, () => {
        expect(Math.abs(fit.rho ?? 0)).toBeGreaterThan(1 - 1e-12);
        expect(Math.abs(rho)).toBeGreaterThan(1 - 1e-6);
        expect(Math.sign(fit.rho ?? 0)).toBe(Math.sign(rho));
        common();
      });
    } else {
      // τ² = 0 for both margins: Cairn reports exactly 0 and ρ = null. metafor stops at a tiny positive τ²
      // (its log τ² parameter cannot reach the boundary) with an arbitrary ρ: with τ² = 0 the correlation
      // does not enter the likelihood, so ρ is not compared; τ² is compared in absolute terms.
      it(`${sc.name}: τ² = 0 (metafor < 1e−6), ρ null; β, SEs, Cov(β) to ${tol}`, () => {
        expect(fit.tau2).toEqual([0, 0]);
        expect(fit.rho).toBeNull();
        common();
      });
    }
  });
});

describe('bivariate likelihood derivatives', () => {
  it('the analytic gradient and Hessian match central differences of ℓ_R', () => {
    const d = toLogit((scenarios[2] as Scenario).sites);
    const sigma: [number, number, number] = [0.5, -0.2, 0.4];
    const ll = (s: readonly number[]) => {
      const t1 = s[0] as number;
      const t2 = s[2] as number;
      return bivariateLogLik(d.y1, d.v1, d.y2, d.v2, [t1, t2], (s[1] as number) / Math.sqrt(t1 * t2));
    };
    const an = bivariateGradient(d.y1, d.v1, d.y2, d.v2, sigma);
    expect(an).not.toBeNull();
    const h = 1e-5;
    for (let j = 0; j < 3; j++) {
      const up = [...sigma];
      const dn = [...sigma];
      up[j] = (up[j] as number) + h;
      dn[j] = (dn[j] as number) - h;
      expectClose(an?.gradient[j] ?? Number.NaN, (ll(up) - ll(dn)) / (2 * h), 1e-6, `gradient ${j}`);
      for (let l = 0; l < 3; l++) {
        const g = (s: number[]) => bivariateGradient(d.y1, d.v1, d.y2, d.v2, s as [number, number, number]);
        const gu = g(up)?.gradient[l] as number;
        const gd = g(dn)?.gradient[l] as number;
        expectClose(an?.hessian[j]?.[l] ?? Number.NaN, (gu - gd) / (2 * h), 1e-6, `hessian ${j},${l}`);
      }
    }
  });
});

describe('poolBivariate', () => {
  const sites = (scenarios[2] as Scenario).sites;

  it('back-transforms the fit: estimates and 95 % Wald intervals on the logit scale', () => {
    const p = poolBivariate(sites);
    const d = toLogit(sites);
    const f = fitBivariate(d.y1, d.v1, d.y2, d.v2);
    expect(p.k).toBe(sites.length);
    expect(p.method).toBe('REML');
    expect(p.converged).toBe(true);
    expect(p.reason).toBeUndefined();
    expect(p.sensitivity.estimate).toBe(expit(f.mu[0]));
    expect(p.specificity.estimate).toBe(expit(f.mu[1]));
    expectClose(
      p.sensitivity.ciHigh,
      expit(f.mu[0] + 1.959963984540054 * Math.sqrt(f.vcov[0][0])),
      1e-12,
      'hi',
    );
    expect(p.tau2Sensitivity).toBe(f.tau2[0]);
    expect(p.tau2Specificity).toBe(f.tau2[1]);
    expect(p.rho).toBe(f.rho);
    expect(p.logitCovariance).toEqual(f.vcov);
    expect(p.logLik).toBe(f.logLik);
  });

  it('skips suppressed sites and sites without positives or negatives; null with a reason below 4 sites', () => {
    const withHoles: SiteConfusion[] = [
      ...sites.slice(0, 5),
      { tp: null, fn: null, tn: 40, fp: 3 },
      { tp: 0, fn: 0, tn: 40, fp: 3 },
      { tp: 10, fn: 2, tn: 0, fp: 0 },
    ];
    const p = poolBivariate(withHoles);
    expect(p.k).toBe(5);
    expect(p).toEqual(poolBivariate(sites.slice(0, 5)));
    const three = poolBivariate(withHoles.slice(2));
    expect(three.k).toBe(3);
    expect(three.sensitivity.estimate).toBeNull();
    expect(three.rho).toBeNull();
    expect(three.reason).toMatch(/at least 4 sites/);
    expect(poolBivariate([]).k).toBe(0);
  });

  it('rejects counts that are not non-negative integers', () => {
    expect(() => poolBivariate([{ tp: 1.5, fn: 2, tn: 3, fp: 4 }])).toThrow(/integers/);
    expect(() => poolBivariate([{ tp: -1, fn: 2, tn: 3, fp: 4 }])).toThrow(/integers/);
    expect(() => fitBivariate([1, 2], [0.1, 0], [1, 2], [0.1, 0.1])).toThrow(/positive/);
    expect(() => fitBivariate([1], [0.1], [1], [0.1])).toThrow(/at least 2/);
  });
});

describe('cairn pool --json: bivariate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bivariate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cairn = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/cairn.mjs', ...args], { encoding: 'utf8' });

  it('adds bivariate from 4 reports on, from their confusion counts, skipping suppressed ones', () => {
    const rand = seededRandom(5);
    const lines = ['score,label'];
    for (let i = 0; i < 200; i++) {
      const label = rand() < 0.4 ? 1 : 0;
      lines.push(`${expit(-0.5 + 2 * label + normalDeviate(rand))},${label}`);
    }
    const csv = join(dir, 'scores.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const made = cairn('report', '--scores', csv, '--json');
    expect(made.stderr).toBe('');
    const template = JSON.parse(made.stdout);
    const sites = (scenarios[3] as Scenario).sites.slice(0, 6);
    const files = sites.map((c, i) => {
      const path = join(dir, `site-${i}.json`);
      const prop = (x: number, n: number) => ({ ...template.sensitivity, numerator: x, denominator: n });
      const report = {
        ...template,
        confusion: c,
        sensitivity: prop(c.tp as number, (c.tp as number) + (c.fn as number)),
        specificity: prop(c.tn as number, (c.tn as number) + (c.fp as number)),
      };
      if (i === 5) {
        report.confusion = { ...c, tp: null, fn: null };
        report.sensitivity = {
          ...report.sensitivity,
          numerator: null,
          denominator: null,
          reason: 'suppressed',
        };
      }
      writeFileSync(path, JSON.stringify(report));
      return path;
    });
    const r = cairn('pool', ...files, '--json');
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    const expected = poolBivariate(sites.slice(0, 5));
    expect(j.bivariate).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(j.bivariate.k).toBe(5);
    expect(j.bivariate.method).toBe('REML');
    for (const key of ['sensitivity', 'specificity', 'tau2Sensitivity', 'tau2Specificity', 'rho', 'k'])
      expect(j.bivariate, key).toHaveProperty(key);
    expect(Object.keys(j.bivariate.sensitivity).sort()).toEqual(['ciHigh', 'ciLow', 'estimate']);

    const three = cairn('pool', ...files.slice(0, 3), '--json');
    expect(JSON.parse(three.stdout)).not.toHaveProperty('bivariate');
    const text = cairn('pool', ...files);
    expect(text.stdout).toMatch(/^bivariate {4}sensitivity 0\.\d{3} \[/m);
  });
});
