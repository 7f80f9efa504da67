import { describe, expect, it } from 'vitest';
import { parseNumbers, runR, seededRandom } from '../test/support/oracles.ts';
import { pnorm, qnorm, zCritical } from './normal.ts';

/** Relative error, with an absolute floor for values near 0. */
function relErr(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describe('normal distribution against R', () => {
  const rand = seededRandom(20261127);
  const xs: number[] = [
    0, 1e-10, -1e-10, 0.5, -0.5, 1.959963984540054, -1.96, 5, -5, 8, -8, -20, -37, 7.5, -38.4,
  ];
  for (let i = 0; i < 400; i++) xs.push((rand() - 0.5) * 20);
  for (let i = 0; i < 100; i++) xs.push(-rand() * 37);
  const ps: number[] = [
    0.5,
    0.025,
    0.975,
    1e-300,
    1e-100,
    1e-20,
    1e-10,
    0.02425,
    0.075,
    0.425,
    0.925,
    1 - 1e-12,
  ];
  for (let i = 0; i < 400; i++) ps.push(rand());
  for (let i = 0; i < 100; i++) ps.push(10 ** (-rand() * 300));

  const out = runR('cat(sprintf("%.17g", c(pnorm(x), qnorm(p))), sep = "\\n")', { x: xs, p: ps });
  const ref = parseNumbers(out);

  it('pnorm matches R pnorm to 1e-14 relative (lower tail) / 1e-15 absolute', () => {
    xs.forEach((x, i) => {
      const r = ref[i] as number;
      const v = pnorm(x);
      expect(Math.abs(v - r), `pnorm(${x})`).toBeLessThanOrEqual(1e-15);
      if (x < 0) expect(relErr(v, r), `pnorm(${x}) relative`).toBeLessThanOrEqual(1e-14);
    });
  });

  it('qnorm matches R qnorm to 1e-15 relative', () => {
    ps.forEach((p, i) => {
      const r = ref[xs.length + i] as number;
      expect(relErr(qnorm(p), r), `qnorm(${p})`).toBeLessThanOrEqual(1e-15);
    });
  });

  it('handles the ends', () => {
    expect(qnorm(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(qnorm(1)).toBe(Number.POSITIVE_INFINITY);
    expect(qnorm(1.5)).toBeNaN();
    expect(pnorm(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(pnorm(Number.POSITIVE_INFINITY)).toBe(1);
    expect(zCritical(0.95)).toBeCloseTo(1.959963984540054, 15);
    expect(() => zCritical(1)).toThrow();
  });
});
