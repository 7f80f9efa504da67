import { describe, expect, it } from 'vitest';
import { expectClose, parseRows, runR } from '../test/support/oracles.ts';
import {
  type BivariateFit,
  bivariateGradient,
  bivariateLogLik,
  fitBivariate,
  poolBivariate,
} from './bivariate.ts';
import { type Logit, type Scenario, scenarios, toLogit } from './bivariate-scenarios.test-util.ts';
import { expit } from './meta.ts';

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
    // Interior fits compare τ² and ρ to 1e−5: ℓ_R is flat enough along them that nlm, even at gradtol 1e−12,
    // stops a few 1e−6 (relative) from the maximum (k = 20 with large heterogeneity: 2e−6 in τ², R 4.2.2 with
    // metafor 3.8.1). That Cairn's point is the maximum is pinned by the two likelihood checks below.
    const varTol = 1e-5;

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

    const common = (tau2Tol: number) => {
      expectClose(fit.mu[0], b1, tol, 'beta sens');
      expectClose(fit.mu[1], b2, tol, 'beta spec');
      expectClose(Math.sqrt(fit.vcov[0][0]), Math.sqrt(vb11), tol, 'se sens');
      expectClose(Math.sqrt(fit.vcov[1][1]), Math.sqrt(vb22), tol, 'se spec');
      expectClose(fit.vcov[0][1], vb12, tol, 'cov(beta)');
      expectClose(fit.tau2[0], t1, tau2Tol, 'tau2 sens');
      expectClose(fit.tau2[1], t2, tau2Tol, 'tau2 spec');
    };

    if (sc.boundary === 'none') {
      it(`${sc.name}: β, SEs, Cov(β), τ², ρ equal metafor's free fit (τ², ρ to ${varTol})`, () => {
        expect(Math.abs(rho)).toBeLessThan(0.999);
        common(varTol);
        expectClose(fit.rho, rho, varTol, 'rho');
      });
    } else if (sc.boundary === 'rho') {
      // Both fits end on ρ = ±1: Cairn exactly (the Cholesky factor's c = 0), metafor at tanh of a large
      // number. The other parameters are still well determined there, so they are compared as usual.
      it(`${sc.name}: both on ρ = ±1 with the same sign; β, SEs, Cov(β), τ² to ${tol}`, () => {
        expect(Math.abs(fit.rho ?? 0)).toBeGreaterThan(1 - 1e-12);
        expect(Math.abs(rho)).toBeGreaterThan(1 - 1e-6);
        expect(Math.sign(fit.rho ?? 0)).toBe(Math.sign(rho));
        common(tol);
      });
    } else {
      // τ² = 0 for both margins: Cairn reports exactly 0 and ρ = null. metafor stops at a tiny positive τ²
      // (its log τ² parameter cannot reach the boundary) with an arbitrary ρ: with τ² = 0 the correlation
      // does not enter the likelihood, so ρ is not compared; τ² is compared in absolute terms.
      it(`${sc.name}: τ² = 0 (metafor < 1e−6), ρ null; β, SEs, Cov(β) to ${tol}`, () => {
        expect(fit.tau2).toEqual([0, 0]);
        expect(fit.rho).toBeNull();
        common(tol);
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
