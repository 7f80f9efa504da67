/**
 * Bivariate random-effects meta-analysis of sensitivity and specificity (STATISTICS.md "Across sites").
 *
 * Model (Reitsma et al. 2005, J Clin Epidemiol 58:982–990; Chu & Cole 2006, J Clin Epidemiol 59:1331–1332,
 * normal–normal version): for site i, y_i = (logit sens_i, logit spec_i) with
 *
 *   y_i ~ N(μ, S_i + Σ),   S_i = diag(1/tp + 1/fn, 1/tn + 1/fp),   Σ = [[τ1², ρτ1τ2], [ρτ1τ2, τ2²]],
 *
 * where ½ is added to both cells of a proportion only when one of them is 0 (as poolProportion does, metafor
 * escalc "PLO" to = "only0"). Σ is estimated by restricted maximum likelihood with μ profiled out:
 *
 *   ℓ_R(Σ) = −½(2k − 2) log 2π + log k − ½ Σ log|V_i| − ½ log|Σ V_i⁻¹| − ½ Σ (y_i − μ̂)′ V_i⁻¹ (y_i − μ̂),
 *   V_i = S_i + Σ,  μ̂ = (Σ V_i⁻¹)⁻¹ Σ V_i⁻¹ y_i,  Cov(μ̂) = (Σ V_i⁻¹)⁻¹,
 *
 * the restricted log-likelihood exactly as metafor's rma.mv(yi, V, mods = ~ outcome − 1,
 * random = ~ outcome | study, struct = "UN", method = "REML") reports it (the log k is metafor's
 * ½ log|X′X| term). It is maximised over the whole set of valid covariance matrices (τ² ≥ 0, |ρ| ≤ 1) through
 * the Cholesky factor Σ = LL′, L = [[a, 0], [b, c]]: unconstrained, and a boundary fit (ρ = ±1, τ² = 0) is a
 * finite point (c = 0, a = 0) rather than a limit at infinity as with (log τ, atanh ρ). The optimiser is a
 * damped Newton (Levenberg–Marquardt) iteration on the analytic gradient and observed Hessian of ℓ_R
 * (Harville 1977 formulas for V linear in the variance components), with every step required to raise ℓ_R,
 * started from the univariate DerSimonian–Laird τ² of each margin and several starting correlations; the
 * highest converged fit is kept.
 */
import { type Climb, climb, sigmaOf } from './bivariate-climb.ts';
import { evaluate, type RemlEval, remlData } from './bivariate-reml.ts';
import { expit, randomEffects } from './meta.ts';
import { zCritical } from './normal.ts';

/** Confusion counts of one site; null cells were suppressed by the site's privacy gate. */
export interface SiteConfusion {
  tp: number | null;
  fp: number | null;
  tn: number | null;
  fn: number | null;
}

/** One pooled proportion, back-transformed from the logit scale; null when no fit. */
export interface BivariateMargin {
  estimate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

/** The bivariate pooled result (what `cairn pool --json` and the comparison print). */
export interface BivariatePooled {
  sensitivity: BivariateMargin;
  specificity: BivariateMargin;
  /** Between-site variance of logit sensitivity (τ1²) and of logit specificity (τ2²). */
  tau2Sensitivity: number | null;
  tau2Specificity: number | null;
  /** Between-site correlation ρ of the two logits; null when a τ² is 0 (ρ is then not identified). */
  rho: number | null;
  /** Pooled (logit sensitivity, logit specificity). */
  logitEstimate: [number, number] | null;
  /** Covariance matrix of the two pooled logits, (Σ V_i⁻¹)⁻¹. */
  logitCovariance: [[number, number], [number, number]] | null;
  /** Restricted log-likelihood at the fit (metafor's logLik(rma.mv(..., method = "REML"))). */
  logLik: number | null;
  converged: boolean;
  /** Sites that entered the model (both margins released with a positive denominator). */
  k: number;
  method: 'REML';
  reason?: string;
}

/** The fit on the logit scale (fitBivariate). */
export interface BivariateFit {
  /** Pooled logits μ̂ = (μ̂1, μ̂2). */
  mu: [number, number];
  /** Cov(μ̂) = (Σ V_i⁻¹)⁻¹. */
  vcov: [[number, number], [number, number]];
  /** τ1², τ2². */
  tau2: [number, number];
  /** Between-site covariance ρτ1τ2. */
  cov12: number;
  /** ρ, or null when τ1² or τ2² is exactly 0. */
  rho: number | null;
  logLik: number;
  converged: boolean;
  iterations: number;
  /** Largest absolute gradient of ℓ_R in the Cholesky parameters at the end. */
  gradient: number;
  k: number;
}

/** Fewest sites the bivariate model is fitted to (poolBivariate's default minSites). */
export const BIVARIATE_MIN_SITES = 4;

export interface BivariateOptions {
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** Fewest sites for a fit (default 4; below it the result is null with a reason). */
  minSites?: number;
}

/**
 * Fits the bivariate random-effects model by REML to logit-scale estimates (y1, y2) with within-site
 * variances (v1, v2) (zero within-site covariance). Throws on invalid input (lengths, non-finite values,
 * non-positive variances, fewer than 2 sites). `converged` is false when no start reached a maximum; the
 * estimates are then the best point found.
 */
export function fitBivariate(
  y1: readonly number[],
  v1: readonly number[],
  y2: readonly number[],
  v2: readonly number[],
): BivariateFit {
  checkFitInput(y1, v1, y2, v2);
  const k = y1.length;
  const d = remlData(y1, v1, y2, v2);
  const GTOL = 1e-10;
  let best: Climb | null = null;
  for (const s of startingPoints(y1, v1, y2, v2)) {
    const c = climb(d, s, 500, GTOL);
    if (
      best === null ||
      (c.converged && !best.converged) ||
      (c.converged === best.converged && c.ll > best.ll)
    )
      best = c;
  }
  const fit = best as Climb;
  const sigma = sigmaOf(fit.theta);
  // On the τ² = 0 boundary the iteration ends a few ulps away from it (τ² ~ 1e−40): report the boundary
  // itself. A τ² below 1e−12 of the median within-site variance changes ℓ_R by far less than its precision.
  if (sigma[0] < 1e-12 * median(v1)) sigma[0] = 0;
  if (sigma[2] < 1e-12 * median(v2)) sigma[2] = 0;
  if (sigma[0] === 0 || sigma[2] === 0) sigma[1] = 0;
  const ev = evaluate(d, sigma, false) as RemlEval;
  const tau2: [number, number] = [sigma[0], sigma[2]];
  const rho =
    tau2[0] > 0 && tau2[1] > 0 ? Math.max(-1, Math.min(1, sigma[1] / Math.sqrt(tau2[0] * tau2[1]))) : null;
  return {
    mu: ev.mu,
    vcov: [
      [ev.B[0], ev.B[1]],
      [ev.B[1], ev.B[2]],
    ],
    tau2,
    cov12: sigma[1],
    rho,
    logLik: ev.ll,
    converged: fit.converged,
    iterations: fit.iterations,
    gradient: fit.gradient,
    k,
  };
}

function checkFitInput(
  y1: readonly number[],
  v1: readonly number[],
  y2: readonly number[],
  v2: readonly number[],
): void {
  const k = y1.length;
  if (v1.length !== k || y2.length !== k || v2.length !== k)
    throw new RangeError('fitBivariate: y1, v1, y2, v2 must have the same length');
  if (k < 2) throw new RangeError('fitBivariate needs at least 2 sites');
  for (const [name, xs] of [
    ['y1', y1],
    ['y2', y2],
  ] as const)
    for (let i = 0; i < k; i++)
      if (!Number.isFinite(xs[i])) throw new RangeError(`fitBivariate: ${name}[${i}] is ${xs[i]}`);
  for (const [name, xs] of [
    ['v1', v1],
    ['v2', v2],
  ] as const)
    for (let i = 0; i < k; i++) {
      const v = xs[i] as number;
      if (!(Number.isFinite(v) && v > 0))
        throw new RangeError(`fitBivariate: ${name}[${i}] must be a positive number, got ${v}`);
    }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/**
 * Starts: the DerSimonian–Laird τ of each margin (floored away from 0, where the Cholesky origin is a
 * stationary point), with the correlation of the observed logits and a spread of fixed correlations.
 */
function startingPoints(
  y1: readonly number[],
  v1: readonly number[],
  y2: readonly number[],
  v2: readonly number[],
): number[][] {
  const k = y1.length;
  const t1 = Math.max(Math.sqrt(randomEffects(y1, v1).tau2), 0.1 * Math.sqrt(median(v1)));
  const t2 = Math.max(Math.sqrt(randomEffects(y2, v2).tau2), 0.1 * Math.sqrt(median(v2)));
  const mean = (xs: readonly number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
  const m1 = mean(y1);
  const m2 = mean(y2);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < k; i++) {
    const dx = (y1[i] as number) - m1;
    const dy = (y2[i] as number) - m2;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const r0 = sxx > 0 && syy > 0 ? Math.max(-0.9, Math.min(0.9, sxy / Math.sqrt(sxx * syy))) : 0;
  return [r0, 0, -0.7, 0.7].map((r) => [t1, r * t2, Math.sqrt(1 - r * r) * t2]);
}

/**
 * Restricted log-likelihood of the bivariate model at a given between-site covariance (τ1², τ2², ρ), with μ
 * profiled out (exported for tests: the same ℓ_R that fitBivariate maximises).
 */
export function bivariateLogLik(
  y1: readonly number[],
  v1: readonly number[],
  y2: readonly number[],
  v2: readonly number[],
  tau2: readonly [number, number],
  rho: number,
): number {
  const s12 = rho * Math.sqrt(tau2[0] * tau2[1]);
  const ev = evaluate(remlData(y1, v1, y2, v2), [tau2[0], s12, tau2[1]], false);
  return ev === null ? Number.NaN : ev.ll;
}

/** Analytic gradient of ℓ_R in (σ11, σ12, σ22) (exported for tests against finite differences). */
export function bivariateGradient(
  y1: readonly number[],
  v1: readonly number[],
  y2: readonly number[],
  v2: readonly number[],
  sigma: readonly [number, number, number],
): { gradient: number[]; hessian: number[][] } | null {
  const ev = evaluate(remlData(y1, v1, y2, v2), [sigma[0], sigma[1], sigma[2]], true);
  return ev === null ? null : { gradient: ev.g as number[], hessian: ev.H as number[][] };
}

/** logit(x/n) and its variance 1/x + 1/(n − x), adding ½ to both cells only when one of them is 0. */
function logitProportion(x: number, n: number): [number, number] {
  const add = x === 0 || x === n ? 0.5 : 0;
  const p = x + add;
  const q = n - x + add;
  return [Math.log(p / q), 1 / p + 1 / q];
}

function nullResult(k: number, reason: string, converged = false): BivariatePooled {
  const none: BivariateMargin = { estimate: null, ciLow: null, ciHigh: null };
  return {
    sensitivity: none,
    specificity: { ...none },
    tau2Sensitivity: null,
    tau2Specificity: null,
    rho: null,
    logitEstimate: null,
    logitCovariance: null,
    logLik: null,
    converged,
    k,
    method: 'REML',
    reason,
  };
}

/**
 * Pools sites' sensitivity and specificity jointly with the bivariate random-effects model (fitBivariate)
 * from their confusion counts: sensitivity tp/(tp + fn), specificity tn/(tn + fp). Sites with a suppressed
 * (null) cell, no positives or no negatives are left out; `k` counts the sites used. Needs k ≥ 4 (minSites)
 * — three covariance parameters from fewer sites are not estimable in any useful sense — and returns all
 * nulls with a reason below that or when the REML fit does not converge. Intervals are μ̂ ± z·SE on the logit
 * scale, back-transformed.
 */
export function poolBivariate(sites: readonly SiteConfusion[], opts: BivariateOptions = {}): BivariatePooled {
  const minSites = opts.minSites ?? BIVARIATE_MIN_SITES;
  const z = zCritical(opts.level ?? 0.95);
  const y1: number[] = [];
  const v1: number[] = [];
  const y2: number[] = [];
  const v2: number[] = [];
  for (const s of sites) {
    const { tp, fp, tn, fn } = s;
    if (tp === null || fp === null || tn === null || fn === null) continue;
    for (const c of [tp, fp, tn, fn])
      if (!Number.isInteger(c) || c < 0)
        throw new RangeError(`confusion counts must be non-negative integers, got ${c}`);
    if (tp + fn === 0 || tn + fp === 0) continue;
    const [a, va] = logitProportion(tp, tp + fn);
    const [b, vb] = logitProportion(tn, tn + fp);
    y1.push(a);
    v1.push(va);
    y2.push(b);
    v2.push(vb);
  }
  const k = y1.length;
  if (k < minSites)
    return nullResult(
      k,
      `the bivariate model needs at least ${minSites} sites with both sensitivity and specificity released (got ${k})`,
    );
  const fit = fitBivariate(y1, v1, y2, v2);
  if (!fit.converged)
    return nullResult(k, `the REML fit did not converge (gradient ${fit.gradient.toExponential(2)})`);
  const margin = (m: number, v: number): BivariateMargin => {
    const se = Math.sqrt(v);
    return { estimate: expit(m), ciLow: expit(m - z * se), ciHigh: expit(m + z * se) };
  };
  return {
    sensitivity: margin(fit.mu[0], fit.vcov[0][0]),
    specificity: margin(fit.mu[1], fit.vcov[1][1]),
    tau2Sensitivity: fit.tau2[0],
    tau2Specificity: fit.tau2[1],
    rho: fit.rho,
    logitEstimate: fit.mu,
    logitCovariance: fit.vcov,
    logLik: fit.logLik,
    converged: true,
    k,
    method: 'REML',
  };
}
