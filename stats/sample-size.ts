/**
 * How large a sample must be for a proportion's 95 % interval to clear a goal: the lower end of the Wilson or
 * Clopper–Pearson interval at the expected count p·n (not rounded, so the bound rises steadily with n) is at
 * least the goal. Inverted by search over n: the smallest whole n where it holds, and it holds for every
 * larger n, since the lower end grows with n at a fixed p.
 */
import { zCritical } from './normal.ts';
import { qbeta } from './special.ts';

export type BoundMethod = 'wilson' | 'clopper-pearson';

/** The interval's lower end for an expected proportion p observed on n cases (x = p·n, real-valued). */
export function lowerBoundAt(p: number, n: number, method: BoundMethod, level = 0.95): number {
  if (!(p >= 0 && p <= 1) || !(n > 0)) throw new RangeError(`need 0 <= p <= 1 and n > 0, got p=${p}, n=${n}`);
  if (p === 0) return 0;
  if (method === 'clopper-pearson') {
    const x = p * n;
    return qbeta((1 - level) / 2, x, n - x + 1);
  }
  const z = zCritical(level);
  const z2 = z * z;
  const center = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.max(0, (center - half) / (1 + z2 / n));
}

/** Searching beyond this many cases answers null: no study that size is planned. */
export const MAX_PLANNED_N = 100_000_000;

/**
 * The smallest n whose lower bound at p reaches `goal`; null when p ≤ goal (no sample size makes the lower
 * end of an interval around p reach it) or the answer is above MAX_PLANNED_N.
 */
export function minSampleForLowerBound(
  p: number,
  goal: number,
  method: BoundMethod,
  level = 0.95,
): number | null {
  if (!(goal >= 0 && goal <= 1)) throw new RangeError(`goal must be in [0, 1], got ${goal}`);
  if (goal <= 0) return 1;
  if (p <= goal) return null;
  const reaches = (n: number) => lowerBoundAt(p, n, method, level) >= goal;
  let high = 1;
  while (!reaches(high)) {
    if (high >= MAX_PLANNED_N) return null;
    high = Math.min(MAX_PLANNED_N, high * 2);
  }
  let low = Math.floor(high / 2); // does not reach (or is 0)
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (reaches(mid)) high = mid;
    else low = mid;
  }
  return high;
}
