/**
 * Random-effects meta-analysis of per-site estimates (the cloud's pooling), on the logit scale for AUCs and
 * proportions. Matches metafor's rma(yi, vi, method = "DL" | "REML", test = "z") and predict().
 */
import type { PooledEstimate } from '../schemas/comparison.ts';
import { zCritical } from './normal.ts';
import { tCritical } from './t.ts';

export type TauMethod = 'DL' | 'REML';

export interface MetaOptions {
  /** Estimator of the between-site variance τ² (default DerSimonian–Laird). */
  method?: TauMethod;
  /** Confidence level of the interval and the prediction interval (default 0.95). */
  level?: number;
  /**
   * 'z' (default): normal intervals. 'knha': the Knapp–Hartung (Hartung–Knapp–Sidik–Jonkman) adjustment,
   * metafor's test = "knha" (recommended in STATISTICS.md); needs k >= 2.
   */
  test?: MetaTest;
}

export type MetaTest = 'z' | 'knha';

export interface RandomEffectsResult {
  /** Pooled estimate μ̂ = Σ w*_i y_i / Σ w*_i with w*_i = 1/(v_i + τ²). */
  estimate: number;
  se: number;
  ciLow: number;
  ciHigh: number;
  tau2: number;
  /** I² as a fraction in [0, 1] (metafor reports it in percent). */
  i2: number;
  /** Cochran's Q with fixed-effect weights. */
  Q: number;
  k: number;
  predictionLow: number;
  predictionHigh: number;
  method: TauMethod;
  test: MetaTest;
  /** Degrees of freedom of the t distribution (k − 1) with test 'knha'; null with 'z'. */
  df: number | null;
}

interface Sums {
  sw: number;
  sw2: number;
  mu: number;
}

function weightedSums(yi: readonly number[], vi: readonly number[], tau2: number): Sums {
  let sw = 0;
  let sw2 = 0;
  let swy = 0;
  for (let i = 0; i < yi.length; i++) {
    const w = 1 / ((vi[i] as number) + tau2);
    sw += w;
    sw2 += w * w;
    swy += w * (yi[i] as number);
  }
  return { sw, sw2, mu: swy / sw };
}

/** Cochran's Q = Σ w_i (y_i − ȳ_w)², w = 1/v. */
function cochranQ(yi: readonly number[], vi: readonly number[]): number {
  const { mu } = weightedSums(yi, vi, 0);
  let q = 0;
  for (let i = 0; i < yi.length; i++) q += ((yi[i] as number) - mu) ** 2 / (vi[i] as number);
  return q;
}

/** DerSimonian–Laird: τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)); 0 for k = 1. */
function tau2DL(yi: readonly number[], vi: readonly number[], q: number): number {
  const k = yi.length;
  if (k < 2) return 0;
  const { sw, sw2 } = weightedSums(yi, vi, 0);
  return Math.max(0, (q - (k - 1)) / (sw - sw2 / sw));
}

/** Restricted log-likelihood of τ² up to a constant. */
function remlLogLik(yi: readonly number[], vi: readonly number[], tau2: number): number {
  const { sw, mu } = weightedSums(yi, vi, tau2);
  let ll = -0.5 * Math.log(sw);
  for (let i = 0; i < yi.length; i++) {
    const v = (vi[i] as number) + tau2;
    ll -= 0.5 * (Math.log(v) + ((yi[i] as number) - mu) ** 2 / v);
  }
  return ll;
}

/**
 * REML τ² by Fisher scoring (Viechtbauer 2005): τ² ← τ² + (y′PPy − tr P)/tr(PP), P = W − ww′/Σw, with the
 * step halved whenever it would leave [0, ∞) (as metafor does), from the DL value; iterated to 1e−14
 * relative. When the restricted likelihood is at least as high at 0, the boundary value 0 is returned
 * (metafor stops a little above 0 there, within its convergence threshold).
 */
function tau2REML(yi: readonly number[], vi: readonly number[], start: number): number {
  const k = yi.length;
  if (k < 2) return 0;
  let tau2 = start;
  for (let iter = 0; iter < 10000; iter++) {
    let sw = 0;
    let sw2 = 0;
    let sw3 = 0;
    let swy = 0;
    for (let i = 0; i < k; i++) {
      const w = 1 / ((vi[i] as number) + tau2);
      sw += w;
      sw2 += w * w;
      sw3 += w * w * w;
      swy += w * (yi[i] as number);
    }
    const mu = swy / sw;
    let yPPy = 0;
    for (let i = 0; i < k; i++) {
      const w = 1 / ((vi[i] as number) + tau2);
      yPPy += w * w * ((yi[i] as number) - mu) ** 2;
    }
    const trP = sw - sw2 / sw;
    const trPP = sw2 - (2 * sw3) / sw + (sw2 * sw2) / (sw * sw);
    let step = (yPPy - trP) / trPP;
    if (tau2 === 0 && step <= 0) break;
    while (tau2 + step < 0) step /= 2;
    tau2 += step;
    if (Math.abs(step) <= 1e-14 * Math.max(tau2, 1e-10)) break;
  }
  return remlLogLik(yi, vi, 0) >= remlLogLik(yi, vi, tau2) ? 0 : tau2;
}

/**
 * Random-effects meta-analysis of estimates `yi` with within-study variances `vi` (metafor rma, test "z"):
 * τ² by DerSimonian–Laird (default) or REML; μ̂ and SE = 1/√Σw* with w* = 1/(v + τ²); CI μ̂ ± z·SE;
 * I² = τ²/(τ² + s²) with s² = (k − 1)Σw/((Σw)² − Σw²), w = 1/v (Higgins & Thompson 2002, as metafor);
 * prediction interval μ̂ ± z·√(SE² + τ²) (metafor predict() with test "z").
 * With test 'knha' (Knapp & Hartung 2003; Sidik & Jonkman 2002): SE² = Σw*(y − μ̂)²/((k − 1)Σw*), and the
 * CI and prediction interval use t_{k−1} instead of z (metafor rma(test = "knha") and its predict()).
 * k = 1: τ² = 0, I² = 0, Q = 0 (metafor's values), and the intervals are those of the single estimate
 * (test 'z' only: Knapp–Hartung with k = 1 throws).
 */
export function randomEffects(
  yi: readonly number[],
  vi: readonly number[],
  opts: MetaOptions = {},
): RandomEffectsResult {
  const method = opts.method ?? 'DL';
  const test = opts.test ?? 'z';
  const level = opts.level ?? 0.95;
  const z = zCritical(level);
  const k = yi.length;
  if (test === 'knha' && k < 2)
    throw new RangeError('the Knapp–Hartung adjustment needs at least 2 estimates');
  if (k !== vi.length) throw new RangeError(`yi (${k}) and vi (${vi.length}) differ in length`);
  if (k === 0) throw new RangeError('randomEffects needs at least one estimate');
  for (let i = 0; i < k; i++) {
    if (!Number.isFinite(yi[i])) throw new RangeError(`yi[${i}] is ${yi[i]}`);
    const v = vi[i] as number;
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`vi[${i}] must be a positive number, got ${v}`);
  }
  const Q = k > 1 ? cochranQ(yi, vi) : 0;
  const dl = tau2DL(yi, vi, Q);
  const tau2 = method === 'DL' ? dl : tau2REML(yi, vi, dl);
  const { sw: swStar, mu } = weightedSums(yi, vi, tau2);
  let se = Math.sqrt(1 / swStar);
  let crit = z;
  let df: number | null = null;
  if (test === 'knha') {
    // Knapp & Hartung (2003): Var(μ̂) = q/Σw* with q = Σ w*_i (y_i − μ̂)²/(k − 1), and t_{k−1} quantiles
    // (metafor rma(test = "knha"); q is not truncated at 1 — that would be test = "adhoc").
    let rss = 0;
    for (let i = 0; i < k; i++) rss += ((yi[i] as number) - mu) ** 2 / ((vi[i] as number) + tau2);
    df = k - 1;
    se = Math.sqrt(rss / df / swStar);
    crit = tCritical(level, df);
  }
  let i2 = 0;
  if (k > 1 && tau2 > 0) {
    const { sw, sw2 } = weightedSums(yi, vi, 0);
    const s2 = ((k - 1) * sw) / (sw * sw - sw2);
    i2 = tau2 / (tau2 + s2);
  }
  const pse = Math.sqrt(se * se + tau2);
  return {
    estimate: mu,
    se,
    ciLow: mu - crit * se,
    ciHigh: mu + crit * se,
    tau2,
    i2,
    Q,
    k,
    predictionLow: mu - crit * pse,
    predictionHigh: mu + crit * pse,
    method,
    test,
    df,
  };
}

/** log(p/(1 − p)). */
export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Inverse logit 1/(1 + e^{−x}), written so neither tail overflows. */
export function expit(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function pooledOnLogit(yi: number[], vi: number[], opts: MetaOptions, emptyReason: string): PooledEstimate {
  const method = opts.method ?? 'DL';
  if (yi.length === 0) {
    return {
      estimate: null,
      ciLow: null,
      ciHigh: null,
      tau2: null,
      i2: null,
      k: 0,
      method,
      predictionLow: null,
      predictionHigh: null,
      reason: emptyReason,
    };
  }
  const knha = opts.test === 'knha' ? { test: 'knha' as const } : {};
  if (opts.test === 'knha' && yi.length < 2) {
    return {
      estimate: expit(yi[0] as number),
      ciLow: null,
      ciHigh: null,
      tau2: 0,
      i2: 0,
      k: 1,
      method,
      ...knha,
      predictionLow: null,
      predictionHigh: null,
      reason: 'the Knapp–Hartung interval needs at least 2 sites (t with k − 1 = 0 degrees of freedom)',
    };
  }
  const r = randomEffects(yi, vi, opts);
  return {
    estimate: expit(r.estimate),
    ciLow: expit(r.ciLow),
    ciHigh: expit(r.ciHigh),
    tau2: r.tau2,
    i2: r.i2,
    k: r.k,
    method,
    ...knha,
    predictionLow: expit(r.predictionLow),
    predictionHigh: expit(r.predictionHigh),
  };
}

/**
 * Pools per-site AUCs on the logit scale: y = logit(AUC), SE_logit = SE/(AUC(1 − AUC)) (delta method),
 * random effects (DL by default), back-transformed with the inverse logit (τ² stays on the logit scale).
 * Sites with a null estimate or SE, an AUC of exactly 0 or 1, or SE 0 have no finite logit-scale variance
 * and are left out; `k` counts the sites pooled. k = 0 → all null with a reason.
 */
export function poolAuc(
  aucs: readonly { estimate: number | null; se: number | null }[],
  opts: MetaOptions = {},
): PooledEstimate {
  const yi: number[] = [];
  const vi: number[] = [];
  for (const a of aucs) {
    const p = a.estimate;
    const se = a.se;
    if (p === null || se === null || !(p > 0 && p < 1) || !(se > 0) || !Number.isFinite(se)) continue;
    yi.push(logit(p));
    vi.push((se / (p * (1 - p))) ** 2);
  }
  return pooledOnLogit(
    yi,
    vi,
    opts,
    'no site has an AUC strictly between 0 and 1 with a positive standard error',
  );
}

/**
 * Pools per-site proportions x/n on the logit scale: y = log(x/(n − x)), v = 1/x + 1/(n − x), adding ½ to
 * both cells only for sites with x = 0 or x = n (metafor escalc(measure = "PLO", add = 1/2, to = "only0")),
 * random effects (DL by default), back-transformed with the inverse logit. Suppressed sites (numerator or
 * denominator null) and sites with denominator 0 are left out; `k` counts the sites pooled.
 */
export function poolProportion(
  props: readonly { numerator: number | null; denominator: number | null }[],
  opts: MetaOptions = {},
): PooledEstimate {
  const yi: number[] = [];
  const vi: number[] = [];
  for (const p of props) {
    const x = p.numerator;
    const n = p.denominator;
    if (x === null || n === null || n === 0) continue;
    if (!Number.isInteger(x) || !Number.isInteger(n) || x < 0 || x > n) {
      throw new RangeError(`a proportion needs integers 0 <= numerator <= denominator, got ${x}/${n}`);
    }
    const add = x === 0 || x === n ? 0.5 : 0;
    const a = x + add;
    const b = n - x + add;
    yi.push(Math.log(a / b));
    vi.push(1 / a + 1 / b);
  }
  return pooledOnLogit(yi, vi, opts, 'no site has a released proportion with a non-zero denominator');
}
