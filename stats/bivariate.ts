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

/** Symmetric 2×2 matrix [[m11, m12], [m12, m22]] stored as [m11, m12, m22]. */
type Sym = [number, number, number];
/** General 2×2 matrix, row major. */
type Mat = [number, number, number, number];

const E: readonly Mat[] = [
  [1, 0, 0, 0],
  [0, 1, 1, 0],
  [0, 0, 0, 1],
];

function full(s: Sym): Mat {
  return [s[0], s[1], s[1], s[2]];
}

function mul(x: Mat, y: Mat): Mat {
  return [
    x[0] * y[0] + x[1] * y[2],
    x[0] * y[1] + x[1] * y[3],
    x[2] * y[0] + x[3] * y[2],
    x[2] * y[1] + x[3] * y[3],
  ];
}

function tr(x: Mat): number {
  return x[0] + x[3];
}

function invSym(s: Sym): { inv: Sym; det: number } {
  const det = s[0] * s[2] - s[1] * s[1];
  return { inv: [s[2] / det, -s[1] / det, s[0] / det], det };
}

function mv(x: Mat, v: readonly [number, number]): [number, number] {
  return [x[0] * v[0] + x[1] * v[1], x[2] * v[0] + x[3] * v[1]];
}

interface Data {
  y1: readonly number[];
  y2: readonly number[];
  v1: readonly number[];
  v2: readonly number[];
}

interface Eval {
  ll: number;
  mu: [number, number];
  B: Sym;
  /** Gradient and observed Hessian in (σ11, σ12, σ22); only when derivatives were asked for. */
  g?: [number, number, number];
  H?: number[][];
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Restricted log-likelihood at Σ = [[s11, s12], [s12, s22]], with μ profiled out, and optionally its gradient
 * and observed Hessian in (s11, s12, s22). With P = V⁻¹ − V⁻¹X(X′V⁻¹X)⁻¹X′V⁻¹ and V_j = ∂V/∂σ_j
 * (block-diagonal copies of E_j): ∂ℓ/∂σ_j = −½ tr(PV_j) + ½ y′PV_jPy and
 * ∂²ℓ/∂σ_j∂σ_l = ½ tr(PV_jPV_l) − y′PV_jPV_lPy (V is linear in σ), evaluated block by block: P's (i, m)
 * block is W_i δ_im − W_i B W_m with W_i = V_i⁻¹ and B = (Σ W_i)⁻¹.
 */
function evaluate(d: Data, sigma: Sym, derivatives: boolean): Eval | null {
  const k = d.y1.length;
  const W: Sym[] = [];
  let logDetV = 0;
  const A: Sym = [0, 0, 0];
  let wy0 = 0;
  let wy1 = 0;
  for (let i = 0; i < k; i++) {
    const V: Sym = [(d.v1[i] as number) + sigma[0], sigma[1], (d.v2[i] as number) + sigma[2]];
    const { inv, det } = invSym(V);
    if (!(det > 0) || !(V[0] > 0)) return null;
    logDetV += Math.log(det);
    W.push(inv);
    A[0] += inv[0];
    A[1] += inv[1];
    A[2] += inv[2];
    const y0 = d.y1[i] as number;
    const y1 = d.y2[i] as number;
    wy0 += inv[0] * y0 + inv[1] * y1;
    wy1 += inv[1] * y0 + inv[2] * y1;
  }
  const { inv: B, det: detA } = invSym(A);
  if (!(detA > 0)) return null;
  const mu: [number, number] = [B[0] * wy0 + B[1] * wy1, B[1] * wy0 + B[2] * wy1];
  let rss = 0;
  const u: [number, number][] = [];
  for (let i = 0; i < k; i++) {
    const w = W[i] as Sym;
    const r0 = (d.y1[i] as number) - mu[0];
    const r1 = (d.y2[i] as number) - mu[1];
    const u0 = w[0] * r0 + w[1] * r1;
    const u1 = w[1] * r0 + w[2] * r1;
    u.push([u0, u1]);
    rss += r0 * u0 + r1 * u1;
  }
  const ll = -0.5 * (2 * k - 2) * LOG_2PI + Math.log(k) - 0.5 * logDetV - 0.5 * Math.log(detA) - 0.5 * rss;
  if (!derivatives) return { ll, mu, B };

  const Bm = full(B);
  const Wm = W.map(full);
  // C_j = Σ W_i E_j W_i, s_j = Σ W_i E_j u_i.
  const C: Mat[] = [];
  const s: [number, number][] = [];
  const WE: Mat[][] = Wm.map((w) => E.map((e) => mul(w, e)));
  for (let j = 0; j < 3; j++) {
    const c: Mat = [0, 0, 0, 0];
    const sj: [number, number] = [0, 0];
    for (let i = 0; i < k; i++) {
      const we = (WE[i] as Mat[])[j] as Mat;
      const wew = mul(we, Wm[i] as Mat);
      for (let t = 0; t < 4; t++) c[t] = (c[t] as number) + (wew[t] as number);
      const x = mv(we, u[i] as [number, number]);
      sj[0] += x[0];
      sj[1] += x[1];
    }
    C.push(c);
    s.push(sj);
  }
  const g: [number, number, number] = [0, 0, 0];
  for (let j = 0; j < 3; j++) {
    let trPV = -tr(mul(Bm, C[j] as Mat));
    let yPVPy = 0;
    const e = E[j] as Mat;
    for (let i = 0; i < k; i++) {
      trPV += tr((WE[i] as Mat[])[j] as Mat);
      const ui = u[i] as [number, number];
      const eu = mv(e, ui);
      yPVPy += ui[0] * eu[0] + ui[1] * eu[1];
    }
    g[j] = -0.5 * trPV + 0.5 * yPVPy;
  }
  const H: number[][] = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let j = 0; j < 3; j++) {
    for (let l = j; l < 3; l++) {
      let T = tr(mul(mul(Bm, C[j] as Mat), mul(Bm, C[l] as Mat)));
      let Q = 0;
      for (let i = 0; i < k; i++) {
        const w = Wm[i] as Mat;
        const wej = (WE[i] as Mat[])[j] as Mat;
        const wel = (WE[i] as Mat[])[l] as Mat;
        const wbw = mul(mul(w, Bm), w);
        T += tr(mul(wej, wel)) - tr(mul(mul(wej, wbw), E[l] as Mat)) - tr(mul(mul(wbw, E[j] as Mat), wel));
        // u_i′ E_j W_i E_l u_i
        const ui = u[i] as [number, number];
        const x = mv(wel, ui);
        const ej = mv(E[j] as Mat, ui);
        Q += ej[0] * x[0] + ej[1] * x[1];
      }
      const sj = s[j] as [number, number];
      const sl = s[l] as [number, number];
      const bsl = mv(Bm, sl);
      Q -= sj[0] * bsl[0] + sj[1] * bsl[1];
      const h = 0.5 * T - Q;
      (H[j] as number[])[l] = h;
      (H[l] as number[])[j] = h;
    }
  }
  return { ll, mu, B, g, H };
}

/** Σ from the Cholesky parameters θ = (a, b, c), L = [[a, 0], [b, c]]. */
function sigmaOf(t: readonly number[]): Sym {
  const a = t[0] as number;
  const b = t[1] as number;
  const c = t[2] as number;
  return [a * a, a * b, b * b + c * c];
}

/** Gradient and Hessian of ℓ_R in θ by the chain rule from those in σ. */
function thetaDerivatives(t: readonly number[], g: readonly number[], H: number[][]) {
  const a = t[0] as number;
  const b = t[1] as number;
  const c = t[2] as number;
  // J[m][p] = ∂σ_m/∂θ_p
  const J = [
    [2 * a, 0, 0],
    [b, a, 0],
    [0, 2 * b, 2 * c],
  ];
  const gt: [number, number, number] = [0, 0, 0];
  const Ht: [number, number, number][] = [];
  for (let p = 0; p < 3; p++) {
    for (let m = 0; m < 3; m++)
      gt[p] = (gt[p] as number) + (g[m] as number) * ((J[m] as number[])[p] as number);
    const row: [number, number, number] = [0, 0, 0];
    for (let q = 0; q < 3; q++) {
      let h = 0;
      for (let m = 0; m < 3; m++)
        for (let n = 0; n < 3; n++)
          h +=
            ((J[m] as number[])[p] as number) *
            ((H[m] as number[])[n] as number) *
            ((J[n] as number[])[q] as number);
      row[q] = h;
    }
    Ht.push(row);
  }
  const [g11, g12, g22] = g as [number, number, number];
  const [h0, h1, h2] = Ht as [[number, number, number], [number, number, number], [number, number, number]];
  h0[0] += 2 * g11;
  h0[1] += g12;
  h1[0] += g12;
  h1[1] += 2 * g22;
  h2[2] += 2 * g22;
  return { gt, Ht };
}

/** Solves the symmetric system M x = r by Cholesky; null when M is not positive definite. */
function solvePD(M: number[][], r: readonly number[]): number[] | null {
  const n = r.length;
  const L: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = (M[i] as number[])[j] as number;
      for (let p = 0; p < j; p++)
        sum -= ((L[i] as number[])[p] as number) * ((L[j] as number[])[p] as number);
      if (i === j) {
        if (!(sum > 0)) return null;
        (L[i] as number[])[i] = Math.sqrt(sum);
      } else {
        (L[i] as number[])[j] = sum / ((L[j] as number[])[j] as number);
      }
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let sum = r[i] as number;
    for (let p = 0; p < i; p++) sum -= ((L[i] as number[])[p] as number) * (z[p] as number);
    z[i] = sum / ((L[i] as number[])[i] as number);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i] as number;
    for (let p = i + 1; p < n; p++) sum -= ((L[p] as number[])[i] as number) * (x[p] as number);
    x[i] = sum / ((L[i] as number[])[i] as number);
  }
  return x;
}

interface Climb {
  theta: number[];
  ll: number;
  converged: boolean;
  iterations: number;
  gradient: number;
}

/**
 * Levenberg–Marquardt ascent on ℓ_R(θ): step δ = (−H + λI)⁻¹ g, accepted only if ℓ_R does not fall,
 * λ → λ/10 after an accepted step and ×10 after a refused one (λ = 0: the plain Newton step). Converged when
 * the largest gradient component is below `gtol`, or when ℓ_R no longer changes in the 14th digit and the
 * step is negligible (a flat likelihood, e.g. on a boundary where a parameter is not identified).
 */
function climb(d: Data, start: number[], maxIter: number, gtol: number): Climb {
  let theta = start.slice();
  let cur = evaluate(d, sigmaOf(theta), true);
  if (cur === null)
    return { theta, ll: Number.NEGATIVE_INFINITY, converged: false, iterations: 0, gradient: Infinity };
  let lambda = 0;
  let gmax = Infinity;
  let flat = 0;
  for (let iter = 1; iter <= maxIter; iter++) {
    const { gt, Ht } = thetaDerivatives(theta, cur.g as number[], cur.H as number[][]);
    gmax = Math.max(...gt.map(Math.abs));
    if (gmax <= gtol) return { theta, ll: cur.ll, converged: true, iterations: iter - 1, gradient: gmax };
    const scale = Math.max(1e-12, ...Ht.map((row, i) => Math.abs(row[i] as number)));
    let accepted = false;
    for (let tries = 0; tries < 60 && !accepted; tries++) {
      const M = Ht.map((row, i) => row.map((h, j) => -h + (i === j ? lambda * scale : 0)));
      const step = solvePD(M, gt);
      if (step === null) {
        lambda = lambda === 0 ? 1e-8 : lambda * 10;
        continue;
      }
      const next = theta.map((t, i) => t + (step[i] as number));
      const ev = evaluate(d, sigmaOf(next), true);
      if (ev !== null && ev.ll >= cur.ll - 1e-13 * Math.abs(cur.ll)) {
        const gain = ev.ll - cur.ll;
        const stepSize = Math.max(...step.map(Math.abs));
        theta = next;
        cur = ev;
        accepted = true;
        lambda = lambda < 1e-10 ? 0 : lambda / 10;
        if (gain <= 1e-14 * Math.max(1, Math.abs(cur.ll)) && stepSize <= 1e-9) flat++;
        else flat = 0;
      } else {
        lambda = lambda === 0 ? 1e-8 : lambda * 10;
      }
    }
    if (!accepted || flat >= 3) {
      // No step raises ℓ_R any further: a maximum to machine precision if the gradient is small.
      const { gt: g2 } = thetaDerivatives(theta, cur.g as number[], cur.H as number[][]);
      gmax = Math.max(...g2.map(Math.abs));
      return { theta, ll: cur.ll, converged: gmax <= Math.sqrt(gtol), iterations: iter, gradient: gmax };
    }
  }
  return { theta, ll: cur.ll, converged: false, iterations: maxIter, gradient: gmax };
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
  const d: Data = { y1, y2, v1, v2 };

  // Starts: the DerSimonian–Laird τ of each margin (floored away from 0, where the Cholesky origin is a
  // stationary point), with the correlation of the observed logits and a spread of fixed correlations.
  const median = (xs: readonly number[]) => {
    const s = [...xs].sort((p, q) => p - q);
    return s.length % 2
      ? (s[(s.length - 1) / 2] as number)
      : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
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
  const starts = [r0, 0, -0.7, 0.7].map((r) => [t1, r * t2, Math.sqrt(1 - r * r) * t2]);

  const GTOL = 1e-10;
  let best: Climb | null = null;
  for (const s of starts) {
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
  const ev = evaluate(d, sigma, false) as Eval;
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
  const ev = evaluate({ y1, y2, v1, v2 }, [tau2[0], s12, tau2[1]], false);
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
  const ev = evaluate({ y1, y2, v1, v2 }, [sigma[0], sigma[1], sigma[2]], true);
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
