/**
 * Confidence intervals for a binomial proportion x/n (sensitivity, specificity, PPV, NPV).
 */
import { zCritical } from './normal.ts';
import { qbeta } from './special.ts';

/** A point estimate with its interval; all null when the proportion is undefined (n = 0). */
export interface Interval {
  estimate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

const UNDEFINED: Interval = { estimate: null, ciLow: null, ciHigh: null };

function checkCounts(x: number, n: number): void {
  if (!Number.isInteger(x) || !Number.isInteger(n) || n < 0 || x < 0 || x > n) {
    throw new RangeError(`a binomial proportion needs integers 0 <= x <= n, got x=${x}, n=${n}`);
  }
}

const clip01 = (v: number): number => Math.min(1, Math.max(0, v));

/**
 * Wilson score interval (Wilson 1927):
 * (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n), z = Φ⁻¹(1 − α/2).
 * Same formula as statsmodels proportion_confint(method='wilson'); clipped to [0, 1] only against rounding
 * (at x = 0 the lower end is 0 mathematically). n = 0 → all null.
 */
export function wilson(x: number, n: number, level = 0.95): Interval {
  checkCounts(x, n);
  if (n === 0) return { ...UNDEFINED };
  const z = zCritical(level);
  const z2 = z * z;
  const p = x / n;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return {
    estimate: p,
    ciLow: x === 0 ? 0 : clip01(center - half),
    ciHigh: x === n ? 1 : clip01(center + half),
  };
}

/**
 * Clopper–Pearson ("exact") interval (Clopper & Pearson 1934) from Beta quantiles:
 * low = B⁻¹(α/2; x, n − x + 1), high = B⁻¹(1 − α/2; x + 1, n − x), with low = 0 at x = 0 and high = 1 at
 * x = n. As statsmodels proportion_confint(method='beta'). n = 0 → all null.
 */
export function clopperPearson(x: number, n: number, level = 0.95): Interval {
  checkCounts(x, n);
  if (n === 0) return { ...UNDEFINED };
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  const alpha = 1 - level;
  return {
    estimate: x / n,
    ciLow: x === 0 ? 0 : qbeta(alpha / 2, x, n - x + 1),
    ciHigh: x === n ? 1 : qbeta(1 - alpha / 2, x + 1, n - x),
  };
}
