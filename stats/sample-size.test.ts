import { describe, expect, it } from 'vitest';
import { expectClose, parseRows, runR, seededRandom } from '../test/support/oracles.ts';
import { type BoundMethod, lowerBoundAt, minSampleForLowerBound } from './sample-size.ts';

/** Generated cases: an expected proportion above a goal, the gap from tiny to wide. */
function cases(seed: number, count: number) {
  const rand = seededRandom(seed);
  const ps: number[] = [];
  const goals: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = 0.5 + 0.49 * rand();
    ps.push(p);
    goals.push(p - (0.005 + (p - 0.3) * rand() * 0.9));
  }
  return { ps, goals };
}

// Base R only: the lower end at x = p·n, and its root in n by uniroot, for both methods.
const R_SCRIPT = `
z <- qnorm(0.975)
wil <- function(n, p) (p + z^2 / (2 * n) - z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))) / (1 + z^2 / n)
cp <- function(n, p) qbeta(0.025, p * n, n - p * n + 1)
for (i in seq_along(ps)) {
  p <- ps[i]; g <- goals[i]
  rw <- uniroot(function(n) wil(n, p) - g, c(0.5, 1e8), tol = 1e-10)$root
  rc <- uniroot(function(n) cp(n, p) - g, c(0.5, 1e8), tol = 1e-10)$root
  cat(sprintf("%.17g", c(rw, rc, wil(at[i], p), cp(at[i], p))), "\\n")
}
`;

describe('sample-size planner against base R (qbeta, uniroot)', () => {
  const { ps, goals } = cases(12, 60);
  const at = ps.map((_, i) => 5 + i * 17);
  const ref = parseRows(runR(R_SCRIPT, { ps, goals, at }));

  it('every case went through R', () => expect(ref.length).toBe(ps.length));

  it('the lower ends at x = p·n match R’s to 1e-10 (Wilson formula, qbeta)', () => {
    ps.forEach((p, i) => {
      const [, , wil, cp] = ref[i] as number[];
      expectClose(lowerBoundAt(p, at[i] as number, 'wilson'), wil as number, 1e-10, `wilson case ${i}`);
      expectClose(lowerBoundAt(p, at[i] as number, 'clopper-pearson'), cp as number, 1e-10, `cp case ${i}`);
    });
  });

  it('the smallest n is the ceiling of R’s root, and n − 1 does not reach the goal', () => {
    ps.forEach((p, i) => {
      const goal = goals[i] as number;
      const [rw, rc] = ref[i] as number[];
      for (const [method, root] of [
        ['wilson', rw],
        ['clopper-pearson', rc],
      ] as [BoundMethod, number][]) {
        const n = minSampleForLowerBound(p, goal, method);
        expect(n, `${method} case ${i} (p ${p}, goal ${goal}, root ${root})`).toBe(
          Math.max(1, Math.ceil(root)),
        );
        expect(lowerBoundAt(p, n as number, method)).toBeGreaterThanOrEqual(goal);
        if ((n as number) > 1) expect(lowerBoundAt(p, (n as number) - 1, method)).toBeLessThan(goal);
      }
    });
  });

  it('an expected value at or below the goal can never be shown: null', () => {
    expect(minSampleForLowerBound(0.8, 0.8, 'wilson')).toBeNull();
    expect(minSampleForLowerBound(0.7, 0.8, 'clopper-pearson')).toBeNull();
    expect(minSampleForLowerBound(0.9, 0, 'wilson')).toBe(1);
  });
});
