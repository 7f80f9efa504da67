/**
 * Student's t distribution: CDF and quantile, from the regularized incomplete beta function.
 * Needed by the Knapp–Hartung adjustment of random-effects meta-analysis (t with k − 1 degrees of freedom).
 */
import { qbeta, regIncBeta } from './special.ts';

/**
 * Student t CDF P(T <= t) with `df` > 0 degrees of freedom, by the identity
 * P(|T| > |t|) = I_{df/(df + t²)}(df/2, ½) (Abramowitz & Stegun 26.7.1 / 26.5.27). Matches R's pt().
 */
export function pt(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`pt needs df > 0, got ${df}`);
  if (Number.isNaN(t)) return Number.NaN;
  if (t === Number.POSITIVE_INFINITY) return 1;
  if (t === Number.NEGATIVE_INFINITY) return 0;
  const tail = 0.5 * regIncBeta(df / (df + t * t), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/**
 * Student t quantile: the t with pt(t, df) = p, by inverting the same identity with the Beta quantile:
 * for p < ½, x = B⁻¹(2p; df/2, ½) and t = −√(df(1 − x)/x); symmetric for p > ½. Matches R's qt().
 */
export function qt(p: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`qt needs df > 0, got ${df}`);
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  const lower = p < 0.5 ? p : 1 - p;
  const x = qbeta(2 * lower, df / 2, 0.5);
  const t = Math.sqrt((df * (1 - x)) / x);
  return p < 0.5 ? -t : t;
}

/** The two-sided critical value of t with `df` degrees of freedom for a `level` interval. */
export function tCritical(level: number, df: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return qt(1 - (1 - level) / 2, df);
}
